//! The one place that turns a [`ServiceError`] into an HTTP response:
//! `{"error":{"code","message"}}` with the status of its code.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use healing_actors::ServiceError;
use healing_protocol::{Cap, ErrorCode};

#[derive(Debug)]
pub struct ApiError {
    pub error: ServiceError,
    /// Seconds, for `rate_limited`.
    pub retry_after: Option<u64>,
    /// The configured cap that refused the request, and its value (the body gains
    /// `"limit"` and `"max"`).
    pub limit: Option<(Cap, u64)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { error: ServiceError::new(code, message), retry_after: None, limit: None }
    }

    /// A refusal by a configured cap: the cap's code (`rate_limited` for sockets, with
    /// `Retry-After`), and `limit`/`max` in the body.
    pub fn cap(cap: Cap, max: u64, message: impl Into<String>, retry_after_secs: Option<u64>) -> ApiError {
        ApiError {
            error: ServiceError::new(cap.code(), message),
            retry_after: retry_after_secs,
            limit: Some((cap, max)),
        }
    }

    pub fn rate_limited(retry_after_secs: u64) -> ApiError {
        ApiError {
            error: ServiceError::new(ErrorCode::RateLimited, "too many attempts; wait and try again"),
            retry_after: Some(retry_after_secs.max(1)),
            limit: None,
        }
    }
}

impl From<ServiceError> for ApiError {
    /// `unavailable` (503: the store, or the password threads at their bound) says when to retry.
    fn from(error: ServiceError) -> ApiError {
        let retry_after = (error.code == ErrorCode::Unavailable).then_some(1);
        ApiError { error, retry_after, limit: None }
    }
}

impl From<healing_storage::StoreError> for ApiError {
    fn from(e: healing_storage::StoreError) -> ApiError {
        ApiError::from(ServiceError::from(e))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        let mut error = serde_json::json!({"code": self.error.code.as_str(), "message": self.error.message});
        if let Some((cap, max)) = self.limit {
            error["limit"] = cap.as_str().into();
            error["max"] = max.into();
        }
        res.json(serde_json::json!({ "error": error }))
    }
}
