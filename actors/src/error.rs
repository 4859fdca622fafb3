//! The error every service operation returns, carrying a contract error code. The gateway maps
//! codes to HTTP statuses ([`ErrorCode::http_status`]) and the session sends them as `error`
//! frames — one mapping, used by both.

use healing_protocol::ErrorCode;
use healing_storage::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ServiceError {
    pub code: ErrorCode,
    pub message: String,
}

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ServiceError {
        ServiceError { code, message: message.into() }
    }
    pub fn invalid(m: impl Into<String>) -> ServiceError {
        ServiceError::new(ErrorCode::InvalidRequest, m)
    }
    pub fn unauthorized(m: impl Into<String>) -> ServiceError {
        ServiceError::new(ErrorCode::Unauthorized, m)
    }
    pub fn forbidden(m: impl Into<String>) -> ServiceError {
        ServiceError::new(ErrorCode::Forbidden, m)
    }
    pub fn not_found(m: impl Into<String>) -> ServiceError {
        ServiceError::new(ErrorCode::NotFound, m)
    }
    pub fn internal(m: impl Into<String>) -> ServiceError {
        ServiceError::new(ErrorCode::Internal, m)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::NotFound => ServiceError::not_found("not found"),
            StoreError::Conflict(m) => ServiceError::new(ErrorCode::Conflict, m),
            StoreError::Invalid(m) => ServiceError::invalid(m),
            StoreError::Limit(m) => ServiceError::new(ErrorCode::Conflict, m),
            StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "store unavailable");
                ServiceError::new(ErrorCode::Unavailable, "the service is temporarily unavailable; please retry")
            }
            StoreError::Internal(m) => {
                tracing::error!(error = %m, "store internal error");
                ServiceError::internal("internal error")
            }
        }
    }
}
