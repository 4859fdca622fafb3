//! `POST /api/v1/admin/duty` `{"supervisor_id"}` — puts a supervisor on duty (contract §4.3):
//! duty supervisors cover every patient with no care team.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::Role;
use serde::Deserialize;

use crate::api_error::ApiResult;
use crate::extract::AuthUser;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Body {
    supervisor_id: String,
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<Body>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    state.services.store.add_duty_supervisor(&body.supervisor_id).await?;
    crate::audit::record(&state, &req, &caller.user, "duty.add", format!("user:{}", body.supervisor_id), None).await?;
    Ok(HttpResponse::NoContent().finish())
}
