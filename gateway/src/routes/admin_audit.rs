//! `GET /api/v1/admin/audit?target=&limit=` — admins read the append-only audit log, newest first.

use actix_web::{HttpResponse, web};
use healing_protocol::{ErrorCode, Role};
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Query {
    target: Option<String>,
    limit: Option<u32>,
}

pub async fn handle(state: web::Data<AppState>, caller: AuthUser, query: web::Query<Query>) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let limit = query.limit.unwrap_or(200);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "limit must be 1 to 10000"));
    }
    let entries = state.services.store.audit_log(query.target.as_deref(), limit).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "entries": entries })))
}
