//! `POST /api/v1/admin/users` — an admin creates an account of any role.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, Role};
use healing_storage::{AuditEntry, NewUser};
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::{AuthUser, remote_ip};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Body {
    username: String,
    password: String,
    role: String,
    #[serde(default)]
    display_name: Option<String>,
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<Body>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let body = body.into_inner();
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidRequest, "role must be patient, clinician, supervisor or admin")
    })?;
    let user = state
        .services
        .auth
        .register(
            NewUser {
                username: body.username,
                password_hash: String::new(),
                role,
                display_name: body.display_name.unwrap_or_default(),
            },
            body.password,
        )
        .await?;
    state
        .services
        .store
        .audit(AuditEntry {
            at: chrono::Utc::now(),
            actor_id: Some(caller.user.id.clone()),
            actor_role: Some(caller.user.role),
            action: "user.create".into(),
            target: format!("user:{}", user.id),
            remote_addr: remote_ip(&req),
            detail: Some(format!("role={}", role.as_str())),
        })
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "user": super::user_json(&user) })))
}
