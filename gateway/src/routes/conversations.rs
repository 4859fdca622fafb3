//! `GET /api/v1/conversations` — the calling patient's conversations, newest first.

use actix_web::{HttpResponse, web};
use healing_protocol::Role;

use crate::api_error::ApiResult;
use crate::extract::AuthUser;
use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Patient])?;
    let conversations = state.services.store.conversations_of(&caller.user.id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "conversations": conversations })))
}
