//! What a new password must be (NIST SP 800-63B §5.1.1.2): at least [`MIN_CHARS`] characters, up
//! to [`MAX_CHARS`] (well above the 64 NIST asks to accept; the bound only caps argon2's input),
//! any characters including spaces, and not a commonly used or breached value. No composition
//! rules. Applied wherever a password is set: registration, `POST /api/v1/admin/users` and
//! `healing-space user add` (all through [`crate::auth::Authenticator::register`]).
//!
//! The list is zxcvbn's 30,000 most common passwords (`actors/data/`, with its source and
//! licence); a password is refused when it, lower-cased and trimmed, is on it, when it is one
//! character repeated, or when it is the username.

use std::collections::HashSet;
use std::sync::LazyLock;

use healing_protocol::ErrorCode;

use crate::error::ServiceError;

/// Shortest password accepted, in characters.
pub const MIN_CHARS: usize = 10;
/// Longest password accepted, in characters.
pub const MAX_CHARS: usize = 256;

static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../data/common-passwords.txt").lines().filter(|l| !l.is_empty()).collect());

fn weak(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::WeakPassword, message)
}

/// `Ok` when `password` may be set for `username`; else a `weak_password` error saying why.
pub fn check(password: &str, username: &str) -> Result<(), ServiceError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(weak(format!(
            "password must be at least {MIN_CHARS} characters (a few unrelated words make a good one)"
        )));
    }
    if chars > MAX_CHARS {
        return Err(weak(format!("password must be at most {MAX_CHARS} characters")));
    }
    let folded = password.trim().to_lowercase();
    let mut distinct = folded.chars();
    let first = distinct.next();
    if first.is_none() || distinct.all(|c| Some(c) == first) {
        return Err(weak("password must not be one character repeated"));
    }
    if COMMON.contains(folded.as_str()) {
        return Err(weak("this password is on a list of common or breached passwords; choose another"));
    }
    if folded == healing_storage::identity::username_key(username) {
        return Err(weak("password must not be the username"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(p: &str) -> String {
        let e = check(p, "alice").unwrap_err();
        assert_eq!(e.code, ErrorCode::WeakPassword);
        e.message
    }

    #[test]
    fn short_common_repeated_and_username_passwords_are_refused() {
        assert!(refused("password").contains("at least 10"));
        assert!(refused("12345678").contains("at least 10"));
        assert!(refused("        ").contains("at least 10"));
        assert!(refused("          ").contains("repeated"));
        assert!(refused("1234567890").contains("common"));
        assert!(refused("QWERTYUIOP").contains("common"));
        assert!(check("alice12345", "alice12345").is_err());
        assert!(refused(&"x".repeat(MAX_CHARS + 1)).contains("at most"));
    }

    #[test]
    fn long_and_unusual_passwords_are_accepted() {
        assert!(COMMON.len() >= 29_000, "the list is loaded");
        assert!(check("correct-horse-battery", "alice").is_ok());
        assert!(check(&"long passphrase ".repeat(4), "alice").is_ok(), "64 characters");
        assert!(check(&"ab".repeat(MAX_CHARS / 2), "alice").is_ok(), "the upper bound itself");
        assert!(check("лошадь батарея скрепка", "alice").is_ok(), "any script, spaces");
    }
}
