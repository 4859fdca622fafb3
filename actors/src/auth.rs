//! Passwords and bearer tokens.
//!
//! Passwords are hashed with argon2id (the crate's default parameters, OWASP's minimum). Tokens
//! are 256 random bits shown to the client once; the store keeps only their SHA-256, so a leaked
//! database does not leak live sessions. Argon2 is deliberately slow, so it always runs on the
//! password threads (`password_pool`), never on an actor thread.

use std::sync::Arc;

use argon2::password_hash::{self, Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use chrono::{Duration, Utc};
use healing_protocol::{Timestamp, User};
use healing_storage::{NewUser, Store, TokenSession};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

/// Shortest password accepted (see [`crate::password_policy`]).
pub const MIN_PASSWORD_CHARS: usize = crate::password_policy::MIN_CHARS;
/// Longest password accepted (argon2 cost grows with length; this bounds it).
pub const MAX_PASSWORD_CHARS: usize = crate::password_policy::MAX_CHARS;

/// A freshly issued bearer token.
pub struct IssuedToken {
    pub token: String,
    pub expires_at: Timestamp,
}

/// Hex SHA-256 of a bearer token, as stored.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut out = String::with_capacity(64);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Runs argon2 into this thread's reusable block memory. Why: argon2id needs ~19 MiB per call;
/// allocated afresh each time, glibc's adaptive mmap threshold turned that into arena memory it
/// never returned (measured +17 MiB of RSS per sign-in). The two password threads each keep one
/// buffer instead.
fn argon2_into(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let needed = argon.params().block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
    })
}

fn hash_now(password: &str) -> Result<String, String> {
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    let mut out = [0u8; 32];
    argon2_into(&argon, password.as_bytes(), &salt_bytes, &mut out).map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(|e: password_hash::Error| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

fn verify_now(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    let (Ok(params), Some(salt), Some(expected)) = (Params::try_from(&parsed), parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else { return false };
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = vec![0u8; expected.len()];
    if argon2_into(&argon, password.as_bytes(), salt_bytes, &mut out).is_err() {
        return false;
    }
    // `Output` compares in constant time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

fn pool_error(e: crate::password_pool::PoolError) -> ServiceError {
    match e {
        crate::password_pool::PoolError::Busy => ServiceError::new(
            healing_protocol::ErrorCode::Unavailable,
            "the server is busy signing people in; retry shortly",
        ),
        crate::password_pool::PoolError::Gone => ServiceError::internal("password threads are gone"),
    }
}

/// Hashes a password with argon2id on a password thread.
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    crate::password_pool::run(move || hash_now(&password)).await.map_err(pool_error)?.map_err(ServiceError::internal)
}

async fn verify_password(password: String, hash: String) -> Result<bool, ServiceError> {
    crate::password_pool::run(move || verify_now(&password, &hash)).await.map_err(pool_error)
}

/// A dummy hash verified when the username does not exist, so timing does not reveal which
/// usernames are registered.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0S7a1kVfYb2Fj0wz2GUXlA0hGDXXcrXbwLAkEdt7pbA";

/// Sign-in, sign-out and token checks over a [`Store`].
#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    token_ttl: Duration,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, token_ttl: std::time::Duration) -> Authenticator {
        let token_ttl = Duration::from_std(token_ttl).unwrap_or_else(|_| Duration::hours(12));
        Authenticator { store, token_ttl }
    }

    /// Validates the inputs of a new account and creates it: the username NFKC-normalised and
    /// case-folded (and refused when it looks like an existing one — see
    /// `healing_storage::identity`), the password against [`crate::password_policy`], the display
    /// name without bidi, control or zero-width characters.
    pub async fn register(&self, mut user: NewUser, password: String) -> Result<User, ServiceError> {
        user.username = normalise_username(&user.username);
        validate_username(&user.username)?;
        crate::password_policy::check(&password, &user.username)?;
        let display = clean_display_name(&user.display_name);
        if display.chars().count() > 100 {
            return Err(ServiceError::invalid("display_name must be at most 100 characters"));
        }
        user.display_name = if display.is_empty() { user.username.clone() } else { display };
        user.password_hash = hash_password(password).await?;
        Ok(self.store.create_user(user).await?)
    }

    /// Checks a username and password; on success issues a token. A disabled account with the
    /// right password answers `forbidden` (a wrong password answers as for anyone).
    pub async fn login(&self, username: &str, password: &str) -> Result<(IssuedToken, User), ServiceError> {
        let creds = self.store.credentials(username).await?;
        let (hash, account) = match creds {
            Some(c) => (c.password_hash, Some((c.user, c.disabled))),
            None => (DUMMY_HASH.to_owned(), None),
        };
        let ok = verify_password(password.to_owned(), hash).await?;
        let Some((user, disabled)) = account.filter(|_| ok) else {
            return Err(ServiceError::unauthorized("wrong username or password"));
        };
        if disabled {
            return Err(ServiceError::forbidden("this account is disabled; ask your service's administrator"));
        }
        let token = new_token();
        let expires_at = Utc::now() + self.token_ttl;
        self.store.insert_token(&token_hash(&token), &user.id, expires_at).await?;
        Ok((IssuedToken { token, expires_at }, user))
    }

    /// The account whose username and password these are, whether or not it is disabled: how a
    /// patient whose sign-in is refused during an erasure's grace period cancels it.
    pub async fn password_matches(&self, username: &str, password: &str) -> Result<Option<User>, ServiceError> {
        let creds = self.store.credentials(username).await?;
        let (hash, user) = match creds {
            Some(c) => (c.password_hash, Some(c.user)),
            None => (DUMMY_HASH.to_owned(), None),
        };
        let ok = verify_password(password.to_owned(), hash).await?;
        Ok(user.filter(|_| ok))
    }

    /// The user a token belongs to, if it is live.
    pub async fn verify(&self, token: &str) -> Result<Option<User>, ServiceError> {
        Ok(self.session(token).await?.map(|s| s.user))
    }

    /// The user a live token belongs to and when it expires (sockets close then).
    pub async fn session(&self, token: &str) -> Result<Option<TokenSession>, ServiceError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        self.session_by_hash(&token_hash(token)).await
    }

    /// [`Authenticator::session`] for a token known by its hash (a session re-checking).
    pub async fn session_by_hash(&self, hash: &str) -> Result<Option<TokenSession>, ServiceError> {
        Ok(self.store.token_session(hash, Utc::now()).await?)
    }

    pub async fn logout(&self, token: &str) -> Result<(), ServiceError> {
        Ok(self.store.revoke_token(&token_hash(token), Utc::now()).await?)
    }
}

/// The stored form of a username: trimmed, NFKC (fullwidth letters become ASCII) and case-folded
/// ([`healing_storage::identity::username_key`]) — stored folded, a name never shows a capital
/// `I` that reads as an existing `l`.
pub fn normalise_username(name: &str) -> String {
    healing_storage::identity::username_key(name.trim())
}

/// Whether a character must never reach a display name: bidi embeddings, overrides, isolates and
/// marks (they reorder what staff read), other control characters, and zero-width characters.
fn hidden_or_reordering(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}')
        || matches!(c, '\u{061C}' | '\u{180E}' | '\u{FEFF}' | '\u{00AD}')
}

/// A display name as stored: without [`hidden_or_reordering`] characters, whitespace runs as one
/// space, trimmed.
pub fn clean_display_name(name: &str) -> String {
    let kept: String = name.chars().filter(|c| !hidden_or_reordering(*c)).collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn validate_username(name: &str) -> Result<(), ServiceError> {
    let ok_len = (3..=64).contains(&name.chars().count());
    let ok_chars = name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(ServiceError::invalid("username must be 3 to 64 letters, digits, or _ - . @"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64); // 256 bits
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn phc_strings_interoperate_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_now("s3cret-pass").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"s3cret-pass", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default().hash_password(b"other-pass", &salt).unwrap().to_string();
        assert!(verify_now("other-pass", &theirs));
        assert!(!verify_now("other-pas", &theirs));
        assert!(!verify_now("x", "not a hash"));
    }

    #[tokio::test]
    async fn argon2id_round_trip_and_dummy_hash_parses() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), h.clone()).await.unwrap());
        assert!(!verify_password("wrong".into(), h).await.unwrap());
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn usernames_are_validated() {
        assert!(validate_username("alice_1").is_ok());
        assert!(validate_username("ab").is_err());
        assert!(validate_username("a b c").is_err());
        assert!(validate_username("<script>").is_err());
        assert_eq!(normalise_username(" Ａｄｍｉｎ "), "admin");
        assert_eq!(normalise_username("Ilya"), "ilya");
    }

    #[test]
    fn display_names_lose_bidi_control_and_zero_width_characters() {
        assert_eq!(clean_display_name("\u{202E}Dr Lee (clinician)"), "Dr Lee (clinician)");
        assert_eq!(clean_display_name("A\u{2066}b\u{2069}\u{200E}\u{200F}c\u{200B}d\u{FEFF}"), "Abcd");
        assert_eq!(clean_display_name("Sam\n\t  Jones\u{0007}"), "Sam Jones");
        assert_eq!(clean_display_name("Zoë 李"), "Zoë 李");
    }
}
