//! `GET /api/v1/conversations/{id}/messages?before_seq=&limit=` — the owner patient, or a
//! clinician/supervisor whose caseload/team holds the owner. Reads by staff are audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::ErrorCode;
use healing_protocol::client::{DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT};
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Query {
    before_seq: Option<i64>,
    limit: Option<u32>,
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
    query: web::Query<Query>,
) -> ApiResult<HttpResponse> {
    let conversation_id = path.into_inner();
    let limit = query.limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    if limit == 0 || limit > MAX_HISTORY_LIMIT {
        return Err(ApiError::new(ErrorCode::InvalidRequest, format!("limit must be 1 to {MAX_HISTORY_LIMIT}")));
    }
    let store = &state.services.store;
    // Someone else's conversation and a missing one answer the same, so nothing leaks.
    let conversation = caller.visible_conversation(store.as_ref(), &conversation_id, "conversation not found").await?;
    let messages = store.messages(&conversation_id, query.before_seq, limit).await?;
    if caller.user.id != conversation.patient_id {
        crate::audit::record(
            &state,
            &req,
            &caller.user,
            "messages.read",
            format!("patient:{}", conversation.patient_id),
            Some(format!("conversation:{conversation_id}")),
        )
        .await?;
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "messages": messages })))
}
