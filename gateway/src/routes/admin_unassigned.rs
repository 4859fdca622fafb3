//! `GET /api/v1/admin/unassigned-patients?limit=` (contract §4.3) — patients on no clinician's
//! caseload, oldest registration first: who the duty supervisors cover until someone is
//! assigned. Audited (it names patients).

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, Role};
use serde::Deserialize;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 1000;
const MAX_LIMIT: u32 = 10_000;

#[derive(Deserialize)]
pub struct Query {
    limit: Option<u32>,
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<Query>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::new(ErrorCode::InvalidRequest, format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let patients = state.services.store.unassigned_patients(limit).await?;
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "patients.unassigned",
        format!("user:{}", caller.user.id),
        Some(format!("{} patients", patients.len())),
    )
    .await?;
    let patients: Vec<_> = patients
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id, "username": p.username, "display_name": p.display_name, "registered_at": p.created_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "patients": patients })))
}
