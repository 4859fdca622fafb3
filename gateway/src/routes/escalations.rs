//! `GET /api/v1/escalations?status=open` — a supervisor's team's escalation queue. Audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, EscalationStatus, Role};
use healing_storage::{AuditEntry, EscalationQuery};
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::{AuthUser, remote_ip};
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
    store
        .audit(AuditEntry {
            at: chrono::Utc::now(),
            actor_id: Some(caller.user.id.clone()),
            actor_role: Some(caller.user.role),
            action: "escalations.list".into(),
            target: format!("user:{}", caller.user.id),
            remote_addr: remote_ip(&req),
            detail: Some(format!("{} escalations", escalations.len())),
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "escalations": escalations })))
}
