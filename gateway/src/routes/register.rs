//! `POST /api/v1/auth/register` — anyone; always creates a patient. Limited per address
//! (`--registrations-per-ip-per-hour`); the password must pass `password_policy`, the username
//! must not look like an existing one.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::Role;
use healing_storage::NewUser;
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::remote_ip;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Body {
    username: String,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
}

pub async fn handle(req: HttpRequest, state: web::Data<AppState>, body: web::Json<Body>) -> ApiResult<HttpResponse> {
    let ip = remote_ip(&req).unwrap_or_default();
    if let Err(wait) = state.login_limiter.may_register(&ip) {
        state.services.metrics.rate_limited.inc();
        tracing::info!(ip = %ip, "registration refused: too many from this address");
        return Err(ApiError::rate_limited(wait.as_secs_f64().ceil() as u64));
    }
    let body = body.into_inner();
    let registered = state
        .services
        .auth
        .register(
            NewUser {
                username: body.username,
                password_hash: String::new(),
                role: Role::Patient,
                display_name: body.display_name.unwrap_or_default(),
            },
            body.password,
        )
        .await;
    // Charged when a password was hashed: created, or refused by the store afterwards.
    if registered.as_ref().is_ok()
        || registered.as_ref().is_err_and(|e| e.code == healing_protocol::ErrorCode::Conflict)
    {
        state.login_limiter.charge_registration(&ip);
    }
    let user = registered?;
    tracing::info!(user = %user.id, "patient registered");
    Ok(HttpResponse::Created().json(serde_json::json!({ "user": super::user_json(&user) })))
}
