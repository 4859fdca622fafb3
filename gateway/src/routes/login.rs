//! `POST /api/v1/auth/login` — throttled on failures (`login_limit`): per-account backoff that a
//! known device (cookie `hs_device`, set here on success) is not held by, per address and
//! username, and a generous per-address cap. A disabled account answers 403.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::ErrorCode;
use healing_storage::identity::username_key;
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::remote_ip;
use crate::state::AppState;

/// The device cookie's name (scoped to the sign-in path, HttpOnly).
pub const DEVICE_COOKIE: &str = "hs_device";

#[derive(Deserialize)]
pub struct Body {
    username: String,
    password: String,
}

pub async fn handle(req: HttpRequest, state: web::Data<AppState>, body: web::Json<Body>) -> ApiResult<HttpResponse> {
    let ip = remote_ip(&req).unwrap_or_default();
    let account = username_key(&body.username);
    let limiter = &state.login_limiter;
    let now_unix = chrono::Utc::now().timestamp();
    let cookie = device_cookie(&req);
    let device = cookie.as_deref().and_then(|c| limiter.verify_device(c, &account, now_unix));
    // Held until the password is checked and the outcome charged.
    let _attempt = match limiter.check(&account, &ip, device) {
        Ok(attempt) => attempt,
        Err(wait) => {
            state.services.metrics.rate_limited.inc();
            tracing::info!(ip = %ip, known_device = device.is_some(), "sign-in refused: backing off");
            return Err(ApiError::rate_limited(wait.as_secs_f64().ceil() as u64));
        }
    };
    match state.services.auth.login(&body.username, &body.password).await {
        Ok((token, user)) => {
            limiter.record_success(&account, device);
            let cookie = format!(
                "{DEVICE_COOKIE}={}; Path=/api/v1/auth; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
                limiter.device_cookie(&account, now_unix),
                180 * 24 * 3600
            );
            Ok(HttpResponse::Ok().insert_header((actix_web::http::header::SET_COOKIE, cookie)).json(
                serde_json::json!({
                    "token": token.token,
                    "expires_at": token.expires_at,
                    "user": super::user_json(&user),
                }),
            ))
        }
        Err(e) if e.code == ErrorCode::Unauthorized => {
            limiter.record_failure(&account, &ip, device);
            tracing::info!(ip = %ip, known_device = device.is_some(), "failed sign-in");
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The `hs_device` value of the request's `Cookie` headers, if any.
fn device_cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == DEVICE_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}
