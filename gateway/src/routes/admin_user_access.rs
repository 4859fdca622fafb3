//! `POST /api/v1/admin/users/{id}/disable` and `/enable` (contract §4.1) — admin only.
//!
//! Disable: the account can no longer sign in, every token of theirs is revoked (in the store),
//! and every socket of theirs is closed with 4403 on every node (the hub here, the bus for the
//! others; each socket also re-checks its token in the store). Enable lets them sign in again;
//! revoked tokens stay revoked. Both are audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, close};

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

pub async fn disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set(req, state, caller, id.into_inner(), true).await
}

pub async fn enable(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set(req, state, caller, id.into_inner(), false).await
}

async fn set(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    user_id: String,
    disabled: bool,
) -> ApiResult<HttpResponse> {
    caller.require(&[healing_protocol::Role::Admin])?;
    if disabled && user_id == caller.user.id {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "an admin cannot disable their own account"));
    }
    let services = &state.services;
    match services.store.set_user_disabled(&user_id, disabled).await {
        Err(healing_storage::StoreError::NotFound) => {
            return Err(ApiError::new(ErrorCode::NotFound, "no such user"));
        }
        other => other?,
    }
    // Sockets first: whatever happens to the audit write, the disabled account is cut off.
    if disabled {
        services.fanout.close_sessions(&user_id, None, close::FORBIDDEN);
        warn_if_caseload_left(&state, &user_id).await;
    }
    let action = if disabled { "user.disable" } else { "user.enable" };
    crate::audit::record(&state, &req, &caller.user, action, format!("user:{user_id}"), None).await?;
    tracing::info!(user = %user_id, by = %caller.user.id, disabled, "account access changed");
    Ok(HttpResponse::NoContent().finish())
}

/// A disabled clinician stays on their caseloads: their patients' alerts are then treated as for
/// an offline clinician (docs/clinical-safety.md), so the operator is told to reassign them.
async fn warn_if_caseload_left(state: &AppState, user_id: &str) {
    let store = &state.services.store;
    if let Ok(Some(user)) = store.user(user_id).await
        && user.role == healing_protocol::Role::Clinician
        && let Ok(caseload) = store.caseload(user_id).await
        && !caseload.is_empty()
    {
        tracing::warn!(
            user = %user_id,
            patients = caseload.len(),
            "disabled clinician still holds a caseload; reassign these patients (their alerts escalate as if the clinician were offline)"
        );
    }
}
