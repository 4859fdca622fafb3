//! Screening after a crash.
//!
//! A patient message is acknowledged once it is durable, and screened just after. A node that
//! dies in between leaves a stored message nobody screened — and a risky one would never raise
//! its alert. Such a message keeps its `risk` unset (screening writes it last), so it is found
//! again two ways:
//! - every node sweeps the store every `rescreen_after` for patient messages older than that
//!   with no risk ([`spawn_sweeper`]; backends that cannot list them answer none), and
//! - screening a new message looks at the earlier messages it reads as context anyway
//!   ([`left_behind`]), which covers every backend as soon as the patient writes again.
//!
//! The age threshold keeps both away from messages whose screening is still under way, and so
//! does the node's own record of what it is screening ([`crate::risk_detector::Detector::claim`]):
//! under overload the model lane's queue can hold a message longer than the threshold. Alerts
//! are named by message and level, so re-screening (by two nodes at once, even) stores one alert;
//! if it is still open, it is pushed again under its id and its escalation decided again.

use std::sync::{Arc, Weak};
use std::time::Instant;

use healing_protocol::Message;
use healing_storage::Unscreened;

use super::screening;
use crate::services::Services;

/// Messages re-screened per sweep; the rest wait for the next one.
const SWEEP_BATCH: u32 = 100;

/// Starts the periodic sweep; it ends when the node's services are dropped.
pub fn spawn_sweeper(services: &Arc<Services>) {
    let weak: Weak<Services> = Arc::downgrade(services);
    let period = services.clinical.rescreen_after;
    actix::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(services) = weak.upgrade() else { return };
            sweep(&services).await;
        }
    });
}

async fn sweep(services: &Arc<Services>) {
    let cutoff = chrono::Utc::now() - age_threshold(services);
    let found = match services.store.unscreened_messages(cutoff, SWEEP_BATCH).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "re-screening sweep could not read the store");
            return;
        }
    };
    for item in found {
        one(services.clone(), item).await;
    }
    services.metrics.rescreen_sweeps.inc();
}

/// Re-screens, in the background, the `earlier` messages of a conversation that were never
/// screened and are old enough that no screening can still be running for them.
pub(super) fn left_behind(services: &Arc<Services>, patient_id: &str, earlier: &[Message]) {
    let cutoff = chrono::Utc::now() - age_threshold(services);
    let left = |m: &&Message| m.risk.is_none() && m.created_at < cutoff && !services.risk.is_screening(&m.id);
    for message in earlier.iter().filter(left) {
        let item = Unscreened { patient_id: patient_id.to_owned(), message: message.clone() };
        actix::spawn(one(services.clone(), item));
    }
}

/// Screens one left-behind message and acts on it as if it had just arrived.
async fn one(services: Arc<Services>, item: Unscreened) {
    let Unscreened { patient_id, message } = item;
    // Still being screened here (a long model backlog can make a queued message look left
    // behind): screening it again would only lengthen the queue it waits in.
    let Some(_claim) = services.risk.claim(&message.id) else { return };
    let context: Vec<String> =
        screening::earlier_patient_messages(&services, &message).await.into_iter().map(|m| m.text).collect();
    services.metrics.rescreened.inc();
    // Delivery latency counts from when the message was stored, not from now: the delay the
    // crash caused belongs in `healing_alert_delivery_seconds`.
    let waited = (chrono::Utc::now() - message.created_at).to_std().unwrap_or_default();
    let stored_at = Instant::now().checked_sub(waited).unwrap_or_else(Instant::now);
    let (screened, stored) =
        screening::screen_and_act(&services, &patient_id, &message, &context, stored_at, None).await;
    tracing::warn!(message = %message.id, level = screened.risk.level.as_str(), "screened a message a stopped node left unscreened");
    if stored {
        screening::spawn_second_look(&services, &patient_id, &message, context, &screened, None);
    }
}

fn age_threshold(services: &Services) -> chrono::Duration {
    chrono::Duration::from_std(services.clinical.rescreen_after).unwrap_or(chrono::Duration::seconds(15))
}
