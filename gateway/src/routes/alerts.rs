//! `GET /api/v1/alerts?status=open&before=&limit=` — a clinician's caseload alerts, or a
//! supervisor's team's, newest first, a page at a time (`next_before` names the next page).
//! Reading alerts is reading clinical data, so it is audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{AlertStatus, ErrorCode, Role};
use healing_storage::AlertQuery;
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
    caller.require(&[Role::Clinician, Role::Supervisor])?;
    let status = match query.status.as_deref() {
        None | Some("all") => None,
        Some(s) => Some(AlertStatus::parse(s).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidRequest, "status must be open, acknowledged, escalated, resolved or all")
        })?),
    };
    let page = Page::parse(query.before.as_deref(), query.limit)?;
    let mut q = AlertQuery { status, before: page.before.clone(), limit: page.limit, ..AlertQuery::default() };
    match caller.user.role {
        Role::Clinician => q.clinician_id = Some(caller.user.id.clone()),
        _ => q.supervisor_id = Some(caller.user.id.clone()),
    }
    let store = &state.services.store;
    let alerts = store.alerts(q).await?;
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "alerts.list",
        format!("user:{}", caller.user.id),
        Some(format!("{} alerts", alerts.len())),
    )
    .await?;
    let next_before = page.next(alerts.len(), alerts.last().map(|a| (a.created_at, a.id.as_str())));
    Ok(HttpResponse::Ok().json(serde_json::json!({ "alerts": alerts, "next_before": next_before })))
}
