//! `POST /api/v1/auth/logout` — revokes the presented token.

use actix_web::{HttpResponse, web};

use crate::api_error::ApiResult;
use crate::extract::AuthUser;
use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    state.services.auth.logout(&caller.token).await?;
    Ok(HttpResponse::NoContent().finish())
}
