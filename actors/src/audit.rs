//! The one audit service. REST routes, WebSocket sessions, the alert router and the command line
//! all write the audit log through [`Auditor::record`], so every entry has the same fields and
//! every failure is handled the same way.
//!
//! Failure policy: a write the store refuses as unavailable (busy, a lost connection) is retried
//! [`RETRIES`] times with a short backoff; if it still fails, it is logged (`audit write failed`,
//! with the action and target) and the error is returned. Callers that are about to disclose data
//! or report a change as done return that error to their client (nothing is disclosed without its
//! audit line). Only the alert router goes on: its change is already stored and must reach
//! clinicians, and the logged error is the record of the missing line.

use std::sync::Arc;
use std::time::Duration;

use healing_protocol::User;
use healing_storage::{AuditEntry, Store, StoreError};

/// Retries of a write the store answered `Unavailable`.
pub const RETRIES: u32 = 3;

#[derive(Clone)]
pub struct Auditor {
    store: Arc<dyn Store>,
}

impl Auditor {
    pub fn new(store: Arc<dyn Store>) -> Auditor {
        Auditor { store }
    }

    /// An entry for `actor` (`None`: the system, e.g. a sweeper, or the command line) doing
    /// `action` to `target`, now.
    pub fn entry(
        actor: Option<&User>,
        action: &str,
        target: String,
        remote_addr: Option<String>,
        detail: Option<String>,
    ) -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now(),
            actor_id: actor.map(|u| u.id.clone()),
            actor_role: actor.map(|u| u.role),
            action: action.to_owned(),
            target,
            remote_addr,
            detail,
        }
    }

    /// Appends `entry` to the hash-chained log, under the failure policy above.
    pub async fn record(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            match self.store.audit(entry.clone()).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Unavailable(_)) if attempt < RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                Err(e) => {
                    tracing::error!(action = %entry.action, target = %entry.target, error = %e, "audit write failed");
                    return Err(e);
                }
            }
        }
    }

    /// [`Auditor::record`] of [`Auditor::entry`].
    pub async fn log(
        &self,
        actor: Option<&User>,
        action: &str,
        target: String,
        remote_addr: Option<String>,
        detail: Option<String>,
    ) -> Result<(), StoreError> {
        self.record(Auditor::entry(actor, action, target, remote_addr, detail)).await
    }
}
