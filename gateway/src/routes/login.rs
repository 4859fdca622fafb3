//! `POST /api/v1/auth/login` — rate-limited per username and per IP on failures.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::ErrorCode;
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::remote_ip;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Body {
    username: String,
    password: String,
}

pub async fn handle(req: HttpRequest, state: web::Data<AppState>, body: web::Json<Body>) -> ApiResult<HttpResponse> {
    let ip = remote_ip(&req).unwrap_or_default();
    let limiter = &state.login_limiter;
    if let Err(wait) = limiter.check(&body.username, &ip) {
        state.services.metrics.rate_limited.inc();
        return Err(ApiError::rate_limited(wait.as_secs().max(1)));
    }
    match state.services.auth.login(&body.username, &body.password).await {
        Ok((token, user)) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "token": token.token,
            "expires_at": token.expires_at,
            "user": super::user_json(&user),
        }))),
        Err(e) if e.code == ErrorCode::Unauthorized => {
            limiter.record_failure(&body.username, &ip);
            tracing::info!(ip = %ip, "failed sign-in");
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}
