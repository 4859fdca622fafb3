//! `POST /api/v1/auth/logout` — revokes the presented token and closes every socket opened with
//! it, on every node, with 4401 (contract §4.1). Audited.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::api_error::ApiResult;
use crate::extract::AuthUser;
use crate::state::AppState;

pub async fn handle(req: HttpRequest, state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let services = &state.services;
    services.auth.logout(&caller.token).await?;
    let hash = healing_actors::auth::token_hash(&caller.token);
    services.fanout.close_sessions(&caller.user.id, Some(&hash), healing_protocol::close::UNAUTHORIZED);
    crate::audit::record(&state, &req, &caller.user, "auth.logout", format!("user:{}", caller.user.id), None).await?;
    Ok(HttpResponse::NoContent().finish())
}
