//! `POST /api/v1/admin/assignments` — puts a patient on a clinician's caseload.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::Role;
use healing_storage::AuditEntry;
use serde::Deserialize;

use crate::api_error::ApiResult;
use crate::extract::{AuthUser, remote_ip};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Body {
    clinician_id: String,
    patient_id: String,
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<Body>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let store = &state.services.store;
    store.assign(&body.clinician_id, &body.patient_id).await?;
    store
        .audit(AuditEntry {
            at: chrono::Utc::now(),
            actor_id: Some(caller.user.id.clone()),
            actor_role: Some(caller.user.role),
            action: "caseload.assign".into(),
            target: format!("patient:{}", body.patient_id),
            remote_addr: remote_ip(&req),
            detail: Some(format!("clinician:{}", body.clinician_id)),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
