//! `POST /api/v1/admin/users` — an admin creates an account of any role.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, Role};
use healing_storage::NewUser;
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
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
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "user.create",
        format!("user:{}", user.id),
        Some(format!("role={}", role.as_str())),
    )
    .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "user": super::user_json(&user) })))
}
