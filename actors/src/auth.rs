//! Passwords and bearer tokens.
//!
//! Passwords are hashed with argon2id (the crate's default parameters, OWASP's minimum). Tokens
//! are 256 random bits shown to the client once; the store keeps only their SHA-256, so a leaked
//! database does not leak live sessions. Argon2 is deliberately slow, so it always runs on the
//! blocking pool, never on an actor thread.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{Duration, Utc};
use healing_protocol::{Timestamp, User};
use healing_storage::{NewUser, Store};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (argon2 cost grows with length; this bounds it).
pub const MAX_PASSWORD_CHARS: usize = 1024;

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

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::internal(e.to_string()))
    })
    .await
    .map_err(|e| ServiceError::internal(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
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

    /// Validates the inputs of a new account and creates it.
    pub async fn register(&self, mut user: NewUser, password: String) -> Result<User, ServiceError> {
        validate_username(&user.username)?;
        let chars = password.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(ServiceError::invalid(format!(
                "password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
            )));
        }
        let display = user.display_name.trim();
        if display.chars().count() > 100 {
            return Err(ServiceError::invalid("display_name must be at most 100 characters"));
        }
        user.display_name = if display.is_empty() { user.username.clone() } else { display.to_owned() };
        user.password_hash = hash_password(password).await?;
        Ok(self.store.create_user(user).await?)
    }

    /// Checks a username and password; on success issues a token.
    pub async fn login(&self, username: &str, password: &str) -> Result<(IssuedToken, User), ServiceError> {
        let creds = self.store.credentials(username).await?;
        let (hash, user) = match creds {
            Some(c) => (c.password_hash, Some(c.user)),
            None => (DUMMY_HASH.to_owned(), None),
        };
        let ok = verify_password(password.to_owned(), hash).await;
        let Some(user) = user.filter(|_| ok) else {
            return Err(ServiceError::unauthorized("wrong username or password"));
        };
        let token = new_token();
        let expires_at = Utc::now() + self.token_ttl;
        self.store.insert_token(&token_hash(&token), &user.id, expires_at).await?;
        Ok((IssuedToken { token, expires_at }, user))
    }

    /// The user a token belongs to, if it is live.
    pub async fn verify(&self, token: &str) -> Result<Option<User>, ServiceError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        Ok(self.store.user_for_token(&token_hash(token), Utc::now()).await?)
    }

    pub async fn logout(&self, token: &str) -> Result<(), ServiceError> {
        Ok(self.store.revoke_token(&token_hash(token), Utc::now()).await?)
    }
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

    #[tokio::test]
    async fn argon2id_round_trip_and_dummy_hash_parses() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), h.clone()).await);
        assert!(!verify_password("wrong".into(), h).await);
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn usernames_are_validated() {
        assert!(validate_username("alice_1").is_ok());
        assert!(validate_username("ab").is_err());
        assert!(validate_username("a b c").is_err());
        assert!(validate_username("<script>").is_err());
    }
}
