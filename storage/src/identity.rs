//! How usernames are compared: the one definition both backends store and look up by.
//!
//! - [`username_key`]: NFKC, then lower-cased (Rust's full Unicode lower-casing, a close stand-in
//!   for case folding), then NFKC again — so `Ａｄｍｉｎ` (fullwidth) and `ADMIN` are `admin`.
//!   Uniqueness and sign-in use it.
//! - [`username_skeleton`]: the UTS #39 confusable skeleton of the key (`unicode-security`), so
//!   Cyrillic `аdmin` or `adm1n`-style lookalikes that the data marks as confusable share one
//!   skeleton with `admin`. A new account whose skeleton is already held is refused.

use unicode_normalization::UnicodeNormalization;

/// The case- and compatibility-insensitive form of a username.
pub fn username_key(name: &str) -> String {
    let lowered: String = name.nfkc().collect::<String>().to_lowercase();
    lowered.nfkc().collect()
}

/// The confusable skeleton of a username (of its [`username_key`]).
pub fn username_skeleton(name: &str) -> String {
    let skeleton: String = unicode_security::skeleton(&username_key(name)).collect();
    skeleton.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullwidth_and_case_fold_to_one_key() {
        assert_eq!(username_key("Ａｄｍｉｎ"), "admin");
        assert_eq!(username_key("ADMIN"), "admin");
    }

    #[test]
    fn lookalikes_share_a_skeleton() {
        let admin = username_skeleton("admin");
        assert_eq!(username_skeleton("\u{0430}dmin"), admin, "cyrillic a");
        assert_eq!(username_skeleton("Ａｄｍｉｎ"), admin, "fullwidth");
        assert_eq!(username_skeleton("adrnin"), admin, "rn for m");
        assert_eq!(username_skeleton("paypa1"), username_skeleton("paypal"), "digit one for l");
        assert_ne!(username_skeleton("alice"), admin);
    }
}
