//! `GET /api/v1/escalations?status=open&before=&limit=` — a supervisor's team's escalation queue,
//! newest first, a page at a time (`next_before` names the next page). Audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, EscalationStatus, Role};
use healing_storage::EscalationQuery;
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::routes::paging::Page;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Query {
    status: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
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
    let page = Page::parse(query.before.as_deref(), query.limit)?;
    let escalations = store
        .escalations(EscalationQuery {
            supervisor_id: Some(caller.user.id.clone()),
            status,
            before: page.before.clone(),
            limit: page.limit,
            ..EscalationQuery::default()
        })
        .await?;
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "escalations.list",
        format!("user:{}", caller.user.id),
        Some(format!("{} escalations", escalations.len())),
    )
    .await?;
    let next_before = page.next(escalations.len(), escalations.last().map(|e| (e.created_at, e.id.as_str())));
    Ok(HttpResponse::Ok().json(serde_json::json!({ "escalations": escalations, "next_before": next_before })))
}
