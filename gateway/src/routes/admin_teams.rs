//! `POST /api/v1/admin/teams` — puts a clinician on a supervisor's team.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::Role;
use healing_storage::AuditEntry;
use serde::Deserialize;

use crate::api_error::ApiResult;
use crate::extract::{AuthUser, remote_ip};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Body {
    supervisor_id: String,
    clinician_id: String,
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<Body>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let store = &state.services.store;
    store.add_to_team(&body.supervisor_id, &body.clinician_id).await?;
    store
        .audit(AuditEntry {
            at: chrono::Utc::now(),
            actor_id: Some(caller.user.id.clone()),
            actor_role: Some(caller.user.role),
            action: "team.add".into(),
            target: format!("user:{}", body.clinician_id),
            remote_addr: remote_ip(&req),
            detail: Some(format!("supervisor:{}", body.supervisor_id)),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
