//! `GET /api/v1/escalations?status=open` — a supervisor's team's escalation queue. Audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, EscalationStatus, Role};
use healing_storage::EscalationQuery;
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Query {
    status: Option<String>,
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<Query>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Supervisor])?;
    let status = match query.status.as_deref() {
        None | Some("all") => None,
        Some(s) => Some(EscalationStatus::parse(s).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidRequest, "status must be open, claimed, resolved or all")
        })?),
    };
    let store = &state.services.store;
    let escalations =
        store.escalations(EscalationQuery { supervisor_id: Some(caller.user.id.clone()), status, limit: 500 }).await?;
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "escalations.list",
        format!("user:{}", caller.user.id),
        Some(format!("{} escalations", escalations.len())),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "escalations": escalations })))
}
