//! `GET /api/v1/alerts?status=open` — a clinician's caseload alerts, or a supervisor's team's.
//! Reading alerts is reading clinical data, so it is audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{AlertStatus, ErrorCode, Role};
use healing_storage::AlertQuery;
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
    caller.require(&[Role::Clinician, Role::Supervisor])?;
    let status = match query.status.as_deref() {
        None | Some("all") => None,
        Some(s) => Some(AlertStatus::parse(s).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidRequest, "status must be open, acknowledged, escalated, resolved or all")
        })?),
    };
    let mut q = AlertQuery { status, limit: 500, ..AlertQuery::default() };
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
    Ok(HttpResponse::Ok().json(serde_json::json!({ "alerts": alerts })))
}
