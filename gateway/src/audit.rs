//! Audit-log entries for what staff read and change over HTTP (who, role, what, target, from
//! where). One constructor, so every route records the same fields.

use actix_web::HttpRequest;
use healing_protocol::User;
use healing_storage::AuditEntry;

use crate::api_error::ApiError;
use crate::extract::remote_ip;
use crate::state::AppState;

/// Appends an audit entry for `actor` doing `action` to `target`.
pub async fn record(
    state: &AppState,
    req: &HttpRequest,
    actor: &User,
    action: &str,
    target: String,
    detail: Option<String>,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        at: chrono::Utc::now(),
        actor_id: Some(actor.id.clone()),
        actor_role: Some(actor.role),
        action: action.to_owned(),
        target,
        remote_addr: remote_ip(req),
        detail,
    };
    Ok(state.services.store.audit(entry).await?)
}
