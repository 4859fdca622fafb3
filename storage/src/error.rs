//! The storage error type.

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or is not visible to the caller (never say which).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated (e.g. username taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input breaks a rule of the data model (e.g. wrong role for an assignment).
    #[error("invalid: {0}")]
    Invalid(String),
    /// A configured cap refused the write (e.g. a patient's conversations); nothing was stored.
    #[error("limit reached: {0}")]
    Limit(String),
    /// The store cannot serve requests right now (shut down, disk error, lock timeout).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupted row.
    #[error("store internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
