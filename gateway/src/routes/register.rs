//! `POST /api/v1/auth/register` — anyone; always creates a patient.

use actix_web::{HttpResponse, web};
use healing_protocol::Role;
use healing_storage::NewUser;
use serde::Deserialize;

use crate::api_error::ApiResult;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Body {
    username: String,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
}

pub async fn handle(state: web::Data<AppState>, body: web::Json<Body>) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let user = state
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
        .await?;
    tracing::info!(user = %user.id, "patient registered");
    Ok(HttpResponse::Created().json(serde_json::json!({ "user": super::user_json(&user) })))
}
