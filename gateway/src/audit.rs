//! Audit-log entries for what staff read and change over HTTP (who, role, what, target, from
//! where), written through the node's one audit service (`healing_actors::audit::Auditor`, which
//! holds the failure policy): a route whose audit line cannot be written fails instead of
//! answering.

use actix_web::HttpRequest;
use healing_protocol::User;

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
    Ok(state.services.audit.log(Some(actor), action, target, remote_ip(req), detail).await?)
}
