//! Erasure (contract §1, §4.9). `DELETE /api/v1/patients/{id}` (the patient themself, or an
//! admin) schedules it: the account is disabled at once (sign-in refused, every token revoked)
//! and erased after `--erasure-grace` (`202 {"erasure":{"id","status","erase_at"}}`); with a grace
//! of `0` it is erased before the answer (`204`). `POST /api/v1/patients/{id}/erasure/cancel`
//! undoes it within the grace period: an admin with their token, or the patient with
//! `{"password"}` (their tokens no longer work, and sign-in is refused while erasure is pending).
//! Every step is audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{ErrorCode, Role};
use healing_storage::{Erasure, ErasureStatus, StoreError};
use serde::Deserialize;
use serde_json::json;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::{AuthUser, remote_ip};
use crate::state::AppState;

pub async fn schedule(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let store = &state.services.store;
    let patient = super::patient_export::subject(&caller, store.as_ref(), &path).await?;
    let now = chrono::Utc::now();
    let grace = chrono::Duration::from_std(state.erasure_grace).unwrap_or(chrono::Duration::days(7));
    let request = Erasure {
        id: uuid::Uuid::new_v4().to_string(),
        patient_id: patient.id.clone(),
        status: ErasureStatus::Scheduled,
        requested_by: caller.user.id.clone(),
        requested_at: now,
        erase_at: now + grace,
    };
    let erasure = store.schedule_erasure(request).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::new(ErrorCode::Conflict, "an erasure of this patient is already scheduled")
        }
        other => other.into(),
    })?;
    // Disabled now: the patient's sockets close on every node (4403), like an admin disable.
    state.services.fanout.close_sessions(&patient.id, None, healing_protocol::close::FORBIDDEN);
    let detail = format!("erasure:{} erase_at={}", erasure.id, erasure.erase_at.to_rfc3339());
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "patient.erasure.schedule",
        format!("patient:{}", patient.id),
        Some(detail),
    )
    .await?;
    if grace.is_zero() {
        crate::rights::carry_out(store.as_ref(), &state.services.audit, &erasure, now).await?;
        return Ok(HttpResponse::NoContent().finish());
    }
    Ok(HttpResponse::Accepted().json(json!({
        "erasure": {"id": erasure.id, "status": "scheduled", "erase_at": erasure.erase_at}
    })))
}

#[derive(Deserialize)]
pub struct CancelBody {
    password: Option<String>,
}

pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Option<AuthUser>,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let store = &state.services.store;
    let missing = || ApiError::new(ErrorCode::NotFound, "no erasure of this patient is scheduled");
    let actor = match caller {
        Some(c) if c.user.role == Role::Admin => c.user,
        Some(_) => {
            return Err(ApiError::new(ErrorCode::Forbidden, "only the patient or an admin can cancel an erasure"));
        }
        None => {
            // The patient, proving who they are with their password.
            let body: CancelBody = serde_json::from_slice(&body).map_err(|_| {
                ApiError::new(ErrorCode::Unauthorized, "sign in as an admin, or send {\"password\"} as the patient")
            })?;
            let password = body.password.unwrap_or_default();
            // An unknown id answers like a wrong password (after the same hashing work), so the
            // endpoint tells an anonymous caller nothing about which ids are patients.
            let patient = store.user(&path).await?.filter(|u| u.role == Role::Patient);
            let username = patient.as_ref().map(|u| u.username.clone()).unwrap_or_default();
            let ip = remote_ip(&req).unwrap_or_default();
            let account = healing_storage::identity::username_key(&username);
            if let Err(wait) = state.login_limiter.check(&account, &ip, None) {
                return Err(ApiError::rate_limited(wait.as_secs().max(1)));
            }
            match (state.services.auth.password_matches(&username, &password).await?, patient) {
                (Some(u), Some(p)) if u.id == p.id => u,
                _ => {
                    state.login_limiter.record_failure(&account, &ip, None);
                    return Err(ApiError::new(ErrorCode::Unauthorized, "wrong password"));
                }
            }
        }
    };
    let cancelled = store.cancel_erasure(&path).await?.ok_or_else(missing)?;
    crate::audit::record(
        &state,
        &req,
        &actor,
        "patient.erasure.cancel",
        format!("patient:{}", cancelled.patient_id),
        Some(format!("erasure:{}", cancelled.id)),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "erasure": {"id": cancelled.id, "status": "cancelled", "erase_at": cancelled.erase_at}
    })))
}
