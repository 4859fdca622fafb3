//! `GET /api/v1/follow-ups?status=pending&before=&limit=` (contract §4.7) — a clinician's
//! caseload follow-ups, or a supervisor's team's, newest first, a page at a time (`next_before`
//! names the next page, as for alerts). Reading them is reading clinical data, so it is audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, FollowupStatus, Role};
use healing_storage::FollowupQuery;
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
    let status =
        match query.status.as_deref() {
            None | Some("all") => None,
            Some(s) => Some(FollowupStatus::parse(s).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidRequest, "status must be pending, done, missed or all")
            })?),
        };
    let page = Page::parse(query.before.as_deref(), query.limit)?;
    let mut q = FollowupQuery { status, before: page.before.clone(), limit: page.limit, ..FollowupQuery::default() };
    match caller.user.role {
        Role::Clinician => q.clinician_id = Some(caller.user.id.clone()),
        _ => q.supervisor_id = Some(caller.user.id.clone()),
    }
    let followups = state.services.store.followups(q).await?;
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "followups.list",
        format!("user:{}", caller.user.id),
        Some(format!("{} follow-ups", followups.len())),
    )
    .await?;
    let next_before = page.next(followups.len(), followups.last().map(|f| (f.created_at, f.id.as_str())));
    Ok(HttpResponse::Ok().json(serde_json::json!({ "followups": followups, "next_before": next_before })))
}
