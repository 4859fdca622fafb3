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
use healing_protocol::Timestamp;
use healing_storage::{Erased, Erasure, StoreError};

/// Erasures carried out per sweep at most (the rest wait for the next tick).
const SWEEP_BATCH: u32 = 100;

/// Erases the patient of a scheduled erasure and audits that it happened (by whom it was asked,
/// when, what went — no text). `None` when it was cancelled or done meanwhile.
pub async fn carry_out(services: &Services, erasure: &Erasure, now: Timestamp) -> Result<Option<Erased>, StoreError> {
    let Some(erased) = services.store.erase_patient(&erasure.patient_id, now).await? else { return Ok(None) };
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
    let _ =
        services.audit.log(None, "patient.erased", format!("patient:{}", erasure.patient_id), None, Some(detail)).await;
    Ok(Some(erased))
}

/// One pass: every due erasure, then the retention purge. Errors are logged; the next pass
/// tries again.
pub async fn sweep(services: &Services, retention_days: Option<u32>, now: Timestamp) {
    match services.store.due_erasures(now, SWEEP_BATCH).await {
        Ok(due) => {
            for erasure in due {
                if let Err(e) = carry_out(services, &erasure, now).await {
                    tracing::warn!(erasure = %erasure.id, error = %e, "erasure failed; retrying on the next sweep");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read due erasures"),
    }
    if let Some(days) = retention_days.filter(|d| *d > 0) {
        let cutoff = now - chrono::Duration::days(i64::from(days));
        match services.store.purge_messages_before(cutoff).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(messages = n, days, "retention purge");
                let detail = format!("{n} messages written before {} (--retention-days {days})", cutoff.to_rfc3339());
                let _ = services.audit.log(None, "retention.purge", "store:messages".into(), None, Some(detail)).await;
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
        sweep(&services, retention_days, chrono::Utc::now()).await;
    }
}
