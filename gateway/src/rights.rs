//! Data rights (contract §4.9) that are not a single request: carrying out an erasure, and the
//! sweeper that finds erasures whose grace period has passed and enforces `--retention-days` on
//! stores that do not expire rows themselves.
//!
//! The deadlines live in the store (`Store::due_erasures`), so the sweeper survives restarts and
//! any node may carry out an erasure another node scheduled (the store's erasure is a conditional
//! step: it happens once). [`sweep`] takes `now`, so tests drive its clock.

use std::sync::Arc;
use std::time::Duration;

use healing_actors::Services;
use healing_actors::audit::Auditor;
use healing_protocol::Timestamp;
use healing_storage::{Erased, Erasure, Store, StoreError};

/// Erasures carried out per sweep at most (the rest wait for the next tick).
const SWEEP_BATCH: u32 = 100;

/// Erases the patient of a scheduled erasure and audits that it happened (by whom it was asked,
/// when, what went — no text). `None` when it was cancelled or done meanwhile.
pub async fn carry_out(
    store: &dyn Store,
    audit: &Auditor,
    erasure: &Erasure,
    now: Timestamp,
) -> Result<Option<Erased>, StoreError> {
    let Some(erased) = store.erase_patient(&erasure.patient_id, now).await? else { return Ok(None) };
    tracing::info!(
        erasure = %erasure.id,
        messages = erased.messages,
        conversations = erased.conversations,
        alerts = erased.alerts,
        "patient erased"
    );
    let detail = format!(
        "erasure:{} requested by user:{} at {}; {} messages and {} conversations removed, {} alerts stripped of text",
        erasure.id,
        erasure.requested_by,
        erasure.requested_at.to_rfc3339(),
        erased.messages,
        erased.conversations,
        erased.alerts
    );
    // The erasure is done whatever happens to its audit line (the auditor logs a failure).
    let _ = audit.log(None, "patient.erased", format!("patient:{}", erasure.patient_id), None, Some(detail)).await;
    Ok(Some(erased))
}

/// One pass: every due erasure, then the retention purge. Errors are logged; the next pass
/// tries again.
pub async fn sweep(store: &dyn Store, audit: &Auditor, retention_days: Option<u32>, now: Timestamp) {
    match store.due_erasures(now, SWEEP_BATCH).await {
        Ok(due) => {
            for erasure in due {
                if let Err(e) = carry_out(store, audit, &erasure, now).await {
                    tracing::warn!(erasure = %erasure.id, error = %e, "erasure failed; retrying on the next sweep");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read due erasures"),
    }
    if let Some(days) = retention_days.filter(|d| *d > 0) {
        let cutoff = now - chrono::Duration::days(i64::from(days));
        match store.purge_messages_before(cutoff).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(messages = n, days, "retention purge");
                let detail = format!("{n} messages written before {} (--retention-days {days})", cutoff.to_rfc3339());
                let _ = audit.log(None, "retention.purge", "store:messages".into(), None, Some(detail)).await;
            }
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
    }
}

/// Runs [`sweep`] at start-up and every `every`, for the life of the node.
pub async fn sweeper(services: Arc<Services>, every: Duration, retention_days: Option<u32>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sweep(services.store.as_ref(), &services.audit, retention_days, chrono::Utc::now()).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use chrono::{Duration, Utc};
    use healing_protocol::{Author, Role};
    use healing_storage::{ErasureStatus, NewMessage, NewUser, SqliteStore};

    use super::*;

    async fn store_with_patient() -> (Arc<dyn Store>, Auditor, String, String) {
        let dir = std::env::temp_dir().join(format!("healing-rights-{}", uuid::Uuid::new_v4()));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
        let user = NewUser {
            username: "robin".into(),
            password_hash: "h".into(),
            role: Role::Patient,
            display_name: "R".into(),
        };
        let p = store.create_user(user).await.unwrap();
        let m = store
            .append_message(NewMessage {
                id: None,
                patient_id: p.id.clone(),
                conversation_id: None,
                client_msg_id: Some("k".into()),
                author: Author::Patient,
                text: "hello".into(),
                risk: None,
                finish: None,
                meta: None,
            })
            .await
            .unwrap();
        (store.clone(), Auditor::new(store), p.id, m.message.id)
    }

    fn actions(entries: &[healing_storage::AuditEntry]) -> Vec<String> {
        entries.iter().map(|e| e.action.clone()).collect()
    }

    /// The sweeper's clock is its `now`: an erasure is left alone until its deadline, then
    /// carried out and audited once.
    #[tokio::test]
    async fn the_sweeper_erases_at_the_deadline_and_audits_it() {
        let (store, audit, patient, message) = store_with_patient().await;
        let now = Utc::now();
        let erasure = Erasure {
            id: "e1".into(),
            patient_id: patient.clone(),
            status: ErasureStatus::Scheduled,
            requested_by: patient.clone(),
            requested_at: now,
            erase_at: now + Duration::days(7),
        };
        store.schedule_erasure(erasure).await.unwrap();
        sweep(store.as_ref(), &audit, None, now + Duration::days(6)).await;
        assert!(store.message(&message).await.unwrap().is_some(), "not before the deadline");
        sweep(store.as_ref(), &audit, None, now + Duration::days(7)).await;
        assert!(store.message(&message).await.unwrap().is_none());
        sweep(store.as_ref(), &audit, None, now + Duration::days(8)).await;
        let log = store.audit_log(Some(&format!("patient:{patient}")), 10).await.unwrap();
        assert_eq!(actions(&log), vec!["patient.erased"], "audited once");
        assert!(log[0].detail.as_deref().unwrap().contains("e1"));
    }

    /// `--retention-days` on the embedded store: a purge removes what is older and is audited;
    /// a sweep with nothing to purge writes nothing.
    #[tokio::test]
    async fn retention_purges_are_audited() {
        let (store, audit, _, message) = store_with_patient().await;
        let now = Utc::now();
        sweep(store.as_ref(), &audit, Some(30), now).await;
        assert!(store.message(&message).await.unwrap().is_some());
        assert!(store.audit_log(None, 10).await.unwrap().is_empty());
        sweep(store.as_ref(), &audit, Some(30), now + Duration::days(31)).await;
        assert!(store.message(&message).await.unwrap().is_none());
        let log = store.audit_log(None, 10).await.unwrap();
        assert_eq!(actions(&log), vec!["retention.purge"]);
        assert_eq!(log[0].target, "store:messages");
        assert!(log[0].detail.as_deref().unwrap().starts_with("1 messages"));
    }
}
