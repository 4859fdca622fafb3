//! The alert router: raises alerts, routes them to every session of every clinician whose
//! caseload holds the patient, takes acknowledgements, and escalates what nobody acknowledged in
//! time (or what cannot wait) to the supervisors of the patient's care team.
//!
//! Clinical-safety invariants held here:
//! - An alert is stored, with its deadline, before it is pushed to anyone.
//! - Deadlines live in the store; the sweep (every `sweep_interval`) reads them from there, so a
//!   restarted node — or another node — escalates what a dead node raised.
//! - Every transition is a conditional update in the store, so an alert is escalated at most
//!   once however many sweepers race for it.
//! - Every state change is audited.
//! - An alert's id is derived from its message and level, so screening the same message again
//!   (after a crash, see `chat::rescreen`) finds the stored alert instead of raising a second;
//!   if that alert is still open it is pushed again under the same id.
//! - Risk episodes (contract §4.2): while the patient has an unacknowledged alert, a further risky
//!   message updates it (`alert.updated`) instead of raising another. The store does the fold
//!   atomically (`Store::record_risk`), and knows which alert holds each message, so a
//!   re-screening never appends a message twice.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use chrono::Utc;
use healing_protocol::{
    Alert, AlertStatus, Escalation, EscalationReason, Followup, FollowupStatus, Message as ChatMessage, RiskLevel,
    Role, ServerFrame, User,
};
use healing_storage::{EpisodeChange, Raised, Store, StoreError};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::bus::{Fanout, Presence};
use crate::error::ServiceError;
use crate::metrics::Metrics;
use crate::risk_detector::Screened;
use crate::services::ClinicalConfig;

/// Longest excerpt of the patient's message carried by an alert.
const EXCERPT_CHARS: usize = 280;
/// Alerts escalated per sweep (the rest wait for the next tick).
const SWEEP_BATCH: u32 = 200;

pub struct AlertRouter {
    store: Arc<dyn Store>,
    fanout: Arc<Fanout>,
    metrics: Arc<Metrics>,
    clinical: Arc<ClinicalConfig>,
    sweeping: bool,
}

/// Raise an alert for a screened patient message.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Raise {
    pub patient_id: String,
    pub message: ChatMessage,
    pub screened: Screened,
    /// When the patient's message was stored (for the delivery-latency metric).
    pub stored_at: Instant,
    /// Told whether the alert is durably stored (new, or found from an earlier raise).
    pub stored: Option<oneshot::Sender<bool>>,
}

/// The id of the alert a message raises at a level: the same message screened twice at the same
/// level names the same alert. (A UUID in form, version 8: derived, not random.)
pub fn alert_id(message_id: &str, level: RiskLevel) -> String {
    let digest = Sha256::new()
        .chain_update(b"healing-space alert\0")
        .chain_update(message_id)
        .chain_update(b"\0")
        .chain_update(level.as_str())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// The id of the follow-up an acknowledged alert schedules (contract §4.7): one per alert, so a
/// retried acknowledgement, on any node, names the same follow-up.
pub fn followup_id(alert_id: &str) -> String {
    let digest = Sha256::new().chain_update(b"healing-space follow-up\0").chain_update(alert_id).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// `followup.done` from a clinician of the patient (or a supervisor of the team). Answers the
/// follow-up's state and whether this request changed it.
#[derive(Message)]
#[rtype(result = "Result<(Followup, bool), ServiceError>")]
pub struct CompleteFollowup {
    pub followup_id: String,
    pub by: User,
    pub note: Option<String>,
    pub remote: Option<String>,
}

/// `alert.ack` from a clinician (or a supervisor of the team). Answers the alert's state and
/// whether this request changed it.
#[derive(Message)]
#[rtype(result = "Result<(Alert, bool), ServiceError>")]
pub struct Acknowledge {
    pub alert_id: String,
    pub by: User,
    pub note: Option<String>,
    pub remote: Option<String>,
}

/// Escalate every alert past its deadline (also sent by the interval timer).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Sweep;

/// What the router needs from its node.
#[derive(Clone)]
struct Deps {
    store: Arc<dyn Store>,
    fanout: Arc<Fanout>,
    metrics: Arc<Metrics>,
    clinical: Arc<ClinicalConfig>,
}

impl AlertRouter {
    pub fn new(
        store: Arc<dyn Store>,
        fanout: Arc<Fanout>,
        metrics: Arc<Metrics>,
        clinical: Arc<ClinicalConfig>,
    ) -> AlertRouter {
        AlertRouter { store, fanout, metrics, clinical, sweeping: false }
    }

    fn deps(&self) -> Deps {
        Deps {
            store: self.store.clone(),
            fanout: self.fanout.clone(),
            metrics: self.metrics.clone(),
            clinical: self.clinical.clone(),
        }
    }
}

impl Actor for AlertRouter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(16_384);
        // Resume deadlines left by a previous run at once, then keep sweeping.
        ctx.notify(Sweep);
        ctx.run_interval(self.clinical.sweep_interval, |_, ctx| ctx.notify(Sweep));
    }
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

pub(crate) async fn audit(
    store: &Arc<dyn Store>,
    actor: Option<&User>,
    action: &str,
    target: String,
    remote: Option<String>,
    detail: Option<String>,
) {
    // The state change itself is stored and must reach clinicians; the auditor has logged a
    // failed line (its failure policy), so there is nothing more to do here.
    let _ = crate::audit::Auditor::new(store.clone()).log(actor, action, target, remote, detail).await;
}

impl Deps {
    async fn raise(self, mut r: Raise) {
        let stored = r.stored.take();
        let level = r.screened.risk.level;
        let now = Utc::now();
        let deadline = match level {
            RiskLevel::High => Some(self.clinical.ack_deadline_high),
            RiskLevel::Moderate => Some(self.clinical.ack_deadline_moderate),
            RiskLevel::Low | RiskLevel::None => None,
        }
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| now + d);
        let alert = Alert {
            id: alert_id(&r.message.id, level),
            patient_id: r.patient_id.clone(),
            patient_name: String::new(),
            conversation_id: r.message.conversation_id.clone(),
            message_id: r.message.id.clone(),
            level,
            score: r.screened.risk.score,
            reasons: r.screened.risk.reasons.clone(),
            excerpt: excerpt(&r.message.text),
            status: AlertStatus::Open,
            created_at: now,
            ack_deadline: deadline,
            acknowledged_by: None,
            acknowledged_at: None,
            note: None,
            message_ids: vec![r.message.id.clone()],
            updated_at: Some(now),
        };
        // Stored (with its deadline) before anyone is told: if this fails, nobody is told
        // something the system does not remember — and the failure is loud. While the patient
        // has an unacknowledged alert, the store folds this message into it (one episode).
        let recorded = match self.store.record_risk(alert, r.message.created_at).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(patient = %r.patient_id, level = level.as_str(), error = %e, "ALERT NOT STORED");
                if let Some(tx) = stored {
                    let _ = tx.send(false);
                }
                return;
            }
        };
        if let Some(tx) = stored {
            let _ = tx.send(true);
        }
        if let EpisodeChange::Updated { previous } = recorded.change {
            return self.episode_updated(recorded.alert, previous, &r).await;
        }
        let raised = Raised { created: recorded.change == EpisodeChange::Raised, alert: recorded.alert };
        let alert = raised.alert;
        if !raised.created {
            // Raised before (a re-screening). If nobody has acted on it, the node that raised it
            // may have died before telling anyone: tell again (clients key alerts by id, so a
            // repeat changes nothing) and decide escalation again (a conditional update: once).
            if alert.status != AlertStatus::Open {
                return;
            }
            tracing::info!(alert = %alert.id, "alert already stored and still open; telling its clinicians again");
        } else {
            self.metrics.alerts.with_label_values(&[level.as_str()]).inc();
        }
        // Who is told is read from the store, retried: a failed read is never taken for "nobody".
        let team = match responsible(&self.store, &r.patient_id).await {
            Ok(team) => team,
            Err(e) => {
                tracing::error!(alert = %alert.id, error = %e,
                    "ALERT NOT ROUTED: could not read who is responsible for the patient; it stays open in the \
                     store and reaches its clinicians on connect and its supervisors at its deadline");
                return;
            }
        };
        let clinicians = team.clinicians.clone();
        self.fanout.to_users(&clinicians, &ServerFrame::Alert { alert: alert.clone() });
        self.metrics.alert_delivery_seconds.observe(r.stored_at.elapsed().as_secs_f64());
        tracing::info!(alert = %alert.id, level = level.as_str(), clinicians = clinicians.len(), "alert raised");
        if raised.created {
            audit(
                &self.store,
                None,
                "alert.raise",
                format!("alert:{}", alert.id),
                None,
                Some(format!("level={}", level.as_str())),
            )
            .await;
        }
        if let Some(reason) = self.escalate_at_once(&alert.id, &team, level, r.screened.imminent).await {
            self.escalate(alert, reason).await;
        }
    }

    /// Why an alert (new, or an episode just raised to `level`) escalates at once rather than at
    /// its deadline: no care team (the duty supervisors take it), an attempt in progress, or a
    /// high alert with no clinician online. One rule for new alerts and episode updates.
    async fn escalate_at_once(
        &self,
        alert_id: &str,
        team: &Responsible,
        level: RiskLevel,
        imminent: bool,
    ) -> Option<EscalationReason> {
        if !team.care_team {
            if team.supervisors.is_empty() {
                tracing::error!(alert = %alert_id, "NO ONE RESPONSIBLE: the patient has no care team and no supervisor is on duty");
            }
            Some(EscalationReason::NoCareTeam)
        } else if level != RiskLevel::High {
            None
        } else if imminent {
            Some(EscalationReason::Imminent)
        } else if !self.clinician_online(&team.clinicians).await {
            Some(EscalationReason::NoClinicianOnline)
        } else {
            None
        }
    }

    /// Whether one of the clinicians is online anywhere. A presence answer the bus cannot give
    /// now is asked again; only if it stays unknown is it taken as "offline" — the safe side,
    /// since delivery to other nodes is failing too then.
    async fn clinician_online(&self, clinicians: &[String]) -> bool {
        let mut wait = RETRY_FIRST_WAIT;
        for attempt in 1..=ROUTING_ATTEMPTS {
            match self.fanout.presence(clinicians).await {
                Presence::Online => return true,
                Presence::Offline => return false,
                Presence::Unknown if attempt < ROUTING_ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Presence::Unknown => {}
            }
        }
        tracing::warn!(
            clinicians = clinicians.len(),
            "presence unknown after retries (bus down); escalating to be safe"
        );
        false
    }

    /// A later risky message updated the patient's open episode: everyone who saw the alert is
    /// told, and a message that is high risk decides immediate escalation exactly as a new high
    /// alert would (an escalated alert is not escalated again).
    async fn episode_updated(&self, alert: Alert, previous: RiskLevel, r: &Raise) {
        let evidence = r.screened.risk.level;
        self.metrics.alert_updates.with_label_values(&[alert.level.as_str()]).inc();
        // Who is told is read from the store, retried: a failed read is never taken for "nobody".
        let team = match responsible(&self.store, &r.patient_id).await {
            Ok(team) => team,
            Err(e) => {
                tracing::error!(alert = %alert.id, error = %e,
                    "ALERT UPDATE NOT ROUTED: could not read who is responsible for the patient; the stored alert \
                     reaches its clinicians on connect and its supervisors at its deadline");
                return;
            }
        };
        let mut watchers = team.clinicians.clone();
        if alert.status == AlertStatus::Escalated {
            watchers.extend(team.supervisors.iter().cloned());
        }
        self.fanout.to_users(&watchers, &ServerFrame::AlertUpdated { alert: alert.clone() });
        self.metrics.alert_delivery_seconds.observe(r.stored_at.elapsed().as_secs_f64());
        tracing::info!(alert = %alert.id, from = previous.as_str(), to = alert.level.as_str(), message = %r.message.id,
            messages = alert.message_ids.len(), "risk episode updated");
        audit(
            &self.store,
            None,
            "alert.update",
            format!("alert:{}", alert.id),
            None,
            Some(format!("level={} message={}", alert.level.as_str(), r.message.id)),
        )
        .await;
        if alert.status != AlertStatus::Open {
            return; // already escalated: it stays with the supervisors
        }
        if let Some(reason) = self.escalate_at_once(&alert.id, &team, evidence, r.screened.imminent).await {
            self.escalate(alert, reason).await;
        }
    }

    async fn escalate(&self, alert: Alert, reason: EscalationReason) {
        let id = uuid::Uuid::new_v4().to_string();
        let escalation = match self.store.escalate_alert(&alert.id, &id, reason, Utc::now()).await {
            Ok(Some(e)) => e,
            Ok(None) => return, // acknowledged meanwhile, or another node escalated it
            Err(e) => {
                // The alert stays open in the store, so the next sweep retries.
                tracing::error!(alert = %alert.id, error = %e, "escalation failed; will retry");
                return;
            }
        };
        self.metrics.escalations.with_label_values(&[reason.as_str()]).inc();
        self.metrics.open_escalations.inc();
        self.announce_escalation(&escalation).await;
        audit(
            &self.store,
            None,
            "escalation.raise",
            format!("alert:{}", alert.id),
            None,
            Some(format!("reason={}", reason.as_str())),
        )
        .await;
    }

    /// Pushes a new escalation to the team's supervisors and the alert's new status to the
    /// clinicians.
    async fn announce_escalation(&self, escalation: &Escalation) {
        let patient = &escalation.alert.patient_id;
        let team = match responsible(&self.store, patient).await {
            Ok(team) => team,
            Err(e) => {
                // Stored: supervisors receive it on connect (backlog) and when the bus recovers.
                tracing::error!(escalation = %escalation.id, error = %e, "ESCALATION NOT PUSHED: could not read who covers the patient");
                return;
            }
        };
        let frame = ServerFrame::Escalation { escalation: escalation.clone() };
        self.fanout.to_users(&team.supervisors, &frame);
        if team.supervisors.is_empty() {
            tracing::error!(escalation = %escalation.id, "escalation has no supervisor: no team covers the patient and no supervisor is on duty");
        }
        tracing::info!(escalation = %escalation.id, reason = escalation.reason.as_str(), supervisors = team.supervisors.len(), "escalation pushed");
        self.fanout.to_users(&team.clinicians, &ServerFrame::AlertUpdated { alert: escalation.alert.clone() });
    }

    async fn sweep(self) {
        let due = match self.store.due_alerts(Utc::now(), SWEEP_BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "escalation sweep could not read the store");
                return;
            }
        };
        for alert in due {
            self.escalate(alert, EscalationReason::AckTimeout).await;
        }
        self.sweep_followups().await;
    }

    /// Follow-ups not done by their `due_at` become missed and escalate (`follow_up_missed`).
    /// The transition is a conditional update in the store, so of all the nodes sweeping, one
    /// escalates each missed follow-up, once.
    async fn sweep_followups(&self) {
        let now = Utc::now();
        let due = match self.store.due_followups(now, SWEEP_BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "follow-up sweep could not read the store");
                return;
            }
        };
        for f in due {
            let id = uuid::Uuid::new_v4().to_string();
            let missed = match self.store.miss_followup(&f.id, &id, Utc::now()).await {
                Ok(Some(m)) => m,
                Ok(None) => continue, // done meanwhile, or another node escalated it
                Err(e) => {
                    // Still pending in the store, so the next sweep retries.
                    tracing::error!(followup = %f.id, error = %e, "follow-up escalation failed; will retry");
                    continue;
                }
            };
            let reason = EscalationReason::FollowUpMissed;
            self.metrics.escalations.with_label_values(&[reason.as_str()]).inc();
            self.metrics.open_escalations.inc();
            self.announce_escalation(&missed.escalation).await;
            match responsible(&self.store, &missed.followup.patient_id).await {
                Ok(team) => self
                    .fanout
                    .to_users(&team.clinicians, &ServerFrame::FollowupUpdated { followup: missed.followup.clone() }),
                Err(e) => tracing::warn!(followup = %f.id, error = %e, "missed follow-up not pushed to clinicians"),
            }
            tracing::info!(followup = %f.id, escalation = %missed.escalation.id, "follow-up missed; escalated");
            audit(
                &self.store,
                None,
                "followup.missed",
                format!("followup:{}", f.id),
                None,
                Some(format!("alert={} escalation={}", f.alert_id, missed.escalation.id)),
            )
            .await;
        }
    }

    /// Schedules the follow-up of a high alert just acknowledged and tells the patient's
    /// clinicians. A store failure is retried; if it persists, the failure is loud (the alert
    /// is acknowledged either way).
    async fn schedule_followup(&self, alert: &Alert, by: &User, clinicians: &[String]) {
        let now = Utc::now();
        let after = chrono::Duration::from_std(self.clinical.follow_up_after).unwrap_or(chrono::Duration::days(1));
        let followup = Followup {
            id: followup_id(&alert.id),
            patient_id: alert.patient_id.clone(),
            alert_id: alert.id.clone(),
            due_at: now + after,
            status: FollowupStatus::Pending,
            done_by: None,
            done_at: None,
            note: None,
            created_at: now,
        };
        let stored = retried("schedule follow-up", || self.store.schedule_followup(followup.clone())).await;
        let (followup, created) = match stored {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(alert = %alert.id, error = %e, "FOLLOW-UP NOT SCHEDULED for an acknowledged high alert");
                return;
            }
        };
        if created {
            tracing::info!(followup = %followup.id, alert = %alert.id, due_at = %followup.due_at, "follow-up scheduled");
            audit(
                &self.store,
                Some(by),
                "followup.schedule",
                format!("followup:{}", followup.id),
                None,
                Some(format!("alert={}", alert.id)),
            )
            .await;
        }
        self.fanout.to_users(clinicians, &ServerFrame::Followup { followup });
    }

    async fn complete_followup(self, c: CompleteFollowup) -> Result<(Followup, bool), ServiceError> {
        if !matches!(c.by.role, Role::Clinician | Role::Supervisor) {
            return Err(ServiceError::forbidden("only clinicians complete follow-ups"));
        }
        let hidden = || ServiceError::forbidden("no such follow-up on your caseload");
        let followup = self.store.followup(&c.followup_id).await?.ok_or_else(hidden)?;
        if !self.store.can_view_patient(&c.by, &followup.patient_id).await? {
            return Err(hidden());
        }
        let Some(done) = self.store.complete_followup(&c.followup_id, &c.by.id, c.note.as_deref(), Utc::now()).await?
        else {
            // Already done, or missed: report the current state, change nothing.
            return Ok((followup, false));
        };
        audit(&self.store, Some(&c.by), "followup.done", format!("followup:{}", done.id), c.remote, None).await;
        let team = responsible(&self.store, &done.patient_id).await?;
        let mut told = team.clinicians;
        if !told.contains(&c.by.id) {
            told.push(c.by.id.clone());
        }
        self.fanout.to_users(&told, &ServerFrame::FollowupUpdated { followup: done.clone() });
        Ok((done, true))
    }

    async fn acknowledge(self, a: Acknowledge) -> Result<(Alert, bool), ServiceError> {
        if !matches!(a.by.role, Role::Clinician | Role::Supervisor) {
            return Err(ServiceError::forbidden("only clinicians acknowledge alerts"));
        }
        let hidden = || ServiceError::forbidden("no such alert on your caseload");
        let alert = self.store.alert(&a.alert_id).await?.ok_or_else(hidden)?;
        if !self.store.can_view_patient(&a.by, &alert.patient_id).await? {
            return Err(hidden());
        }
        let Some(updated) = self.store.ack_alert(&a.alert_id, &a.by.id, a.note.as_deref(), Utc::now()).await? else {
            // Already acknowledged or resolved: report the current state, change nothing.
            return Ok((alert, false));
        };
        audit(&self.store, Some(&a.by), "alert.ack", format!("alert:{}", updated.id), a.remote, None).await;
        let team = responsible(&self.store, &updated.patient_id).await?;
        let mut watchers = team.clinicians.clone();
        watchers.extend(team.supervisors);
        self.fanout.to_users(&watchers, &ServerFrame::AlertUpdated { alert: updated.clone() });
        if updated.level == RiskLevel::High {
            self.schedule_followup(&updated, &a.by, &team.clinicians).await;
        }
        Ok((updated, true))
    }
}

impl Handler<Raise> for AlertRouter {
    type Result = ();

    fn handle(&mut self, msg: Raise, ctx: &mut Self::Context) {
        ctx.spawn(self.deps().raise(msg).into_actor(self));
    }
}

impl Handler<Sweep> for AlertRouter {
    type Result = ();

    fn handle(&mut self, _: Sweep, ctx: &mut Self::Context) {
        // One sweep at a time (a tick during a long sweep is skipped), and never `wait`: raising
        // and acknowledging alerts must not queue behind a sweep.
        if self.sweeping {
            return;
        }
        self.sweeping = true;
        ctx.spawn(self.deps().sweep().into_actor(self).map(|(), act, _| act.sweeping = false));
    }
}

impl Handler<Acknowledge> for AlertRouter {
    type Result = ResponseFuture<Result<(Alert, bool), ServiceError>>;

    fn handle(&mut self, msg: Acknowledge, _ctx: &mut Self::Context) -> Self::Result {
        Box::pin(self.deps().acknowledge(msg))
    }
}

impl Handler<CompleteFollowup> for AlertRouter {
    type Result = ResponseFuture<Result<(Followup, bool), ServiceError>>;

    fn handle(&mut self, msg: CompleteFollowup, _ctx: &mut Self::Context) -> Self::Result {
        Box::pin(self.deps().complete_followup(msg))
    }
}

/// Re-announces an escalation whose state changed (claim/resolve), used by the supervisor desks.
pub(crate) async fn announce_update(store: &Arc<dyn Store>, fanout: &Fanout, escalation: &Escalation) {
    let team = match responsible(store, &escalation.alert.patient_id).await {
        Ok(team) => team,
        Err(e) => {
            tracing::error!(escalation = %escalation.id, error = %e, "escalation update not pushed: could not read who covers the patient");
            return;
        }
    };
    fanout.to_users(&team.supervisors, &ServerFrame::EscalationUpdated { escalation: escalation.clone() });
    fanout.to_users(&team.clinicians, &ServerFrame::AlertUpdated { alert: escalation.alert.clone() });
}

/// Tries before a read that decides who is told gives up, and the first wait between tries
/// (doubling: 50 + 100 + 200 ms).
const ROUTING_ATTEMPTS: u32 = 4;
const RETRY_FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// Who is responsible for a patient (contract §4.3: someone always is).
pub(crate) struct Responsible {
    /// The clinicians whose caseload holds the patient.
    pub clinicians: Vec<String>,
    /// Who takes the patient's escalations: the supervisors of the clinicians' teams, or the
    /// duty supervisors when there are none.
    pub supervisors: Vec<String>,
    /// False when the patient is on no caseload, or no team holds their clinicians.
    pub care_team: bool,
}

/// Reads who is responsible for a patient, retrying transient store failures: an error is an
/// error, never an empty list.
pub(crate) async fn responsible(store: &Arc<dyn Store>, patient_id: &str) -> Result<Responsible, StoreError> {
    let clinicians = retried("clinicians of patient", || store.clinicians_of(patient_id)).await?;
    let team = retried("supervisors of patient", || store.supervisors_of(patient_id)).await?;
    let care_team = !clinicians.is_empty() && !team.is_empty();
    let supervisors =
        if team.is_empty() { retried("duty supervisors", || store.duty_supervisors()).await? } else { team };
    Ok(Responsible { clinicians, supervisors, care_team })
}

/// Runs a store read, retrying failures the store calls transient.
async fn retried<T, F, Fut>(what: &str, mut read: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut wait = RETRY_FIRST_WAIT;
    let mut attempt = 1;
    loop {
        match read().await {
            Ok(v) => return Ok(v),
            Err(e @ StoreError::Unavailable(_)) if attempt < ROUTING_ATTEMPTS => {
                tracing::warn!(what, attempt, error = %e, "store read for routing failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
