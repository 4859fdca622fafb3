//! `POST /api/v1/admin/assignments` — puts a patient on a clinician's caseload.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::Role;
use serde::Deserialize;

use crate::api_error::ApiResult;
use crate::extract::AuthUser;
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
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "caseload.assign",
        format!("patient:{}", body.patient_id),
        Some(format!("clinician:{}", body.clinician_id)),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
