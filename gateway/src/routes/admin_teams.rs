//! `POST /api/v1/admin/teams` — puts a clinician on a supervisor's team.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::Role;
use serde::Deserialize;

use crate::api_error::ApiResult;
use crate::extract::AuthUser;
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
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "team.add",
        format!("user:{}", body.clinician_id),
        Some(format!("supervisor:{}", body.supervisor_id)),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
