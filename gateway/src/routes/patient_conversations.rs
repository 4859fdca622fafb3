//! `GET /api/v1/patients/{id}/conversations` — a patient's conversations (newest first), for a
//! clinician/supervisor whose caseload/team holds the patient. Audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::Role;

use crate::api_error::ApiResult;
use crate::extract::AuthUser;
use crate::state::AppState;

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Clinician, Role::Supervisor])?;
    let patient_id = path.into_inner();
    let store = &state.services.store;
    // Not on the caller's caseload/team and non-existent answer the same, so nothing leaks.
    caller.require_view(store.as_ref(), &patient_id, "patient not found").await?;
    let conversations = store.conversations_of(&patient_id).await?;
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "conversations.list",
        format!("patient:{patient_id}"),
        Some(format!("{} conversations", conversations.len())),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "conversations": conversations })))
}
