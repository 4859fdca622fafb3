//! Risk episodes (contract §4.2) and the per-patient AI pause on the Scylla backend.
//!
//! No transaction spans partitions here, so the episode is built from compare-and-sets, each on
//! one partition, in an order that keeps every intermediate state safe:
//! - `open_episodes` (one row per patient, Paxos only) names the patient's current episode. It is
//!   claimed with `IF NOT EXISTS` and moved on with `IF alert_id = ?` once the alert it names is
//!   acknowledged or resolved, so two nodes never open two episodes for one patient.
//! - `alert_messages` (one row per message, `IF NOT EXISTS`) says which alert holds a message: a
//!   re-screening finds it there, so a message id is never appended twice.
//! - `alert_episodes` (one row per alert) holds what changes — level, score, reasons, deadline,
//!   message ids — and changes only by compare-and-set on `version`; a lost race re-reads and
//!   merges again, so no message id is lost. Readers overlay it on the alert's row.
//!
//! Known gap (documented in docs/scylla.md): an acknowledgement that lands between reading the
//! episode's status and its update leaves the message on the acknowledged alert; the status is
//! read again after the update and such a message opens a new episode (it stays listed on both).

use healing_protocol::{Alert, AlertStatus, RiskLevel, Timestamp};
use scylla::DeserializeRow;
use scylla::value::CqlTimestamp;

use super::plan::{self, deadline_bucket};
use super::rows::{cql_ts, from_ms, ms, to_json, ts, unset};
use super::{Cas, Inner, cas_outcome, exec_err, first_row};
use crate::error::{Result, StoreError};
use crate::store::{EpisodeChange, Recorded, merge_evidence};

/// Compare-and-set rounds before recording gives up (each lost round means another node made
/// progress on the same patient).
const ROUNDS: usize = 16;

#[derive(Debug, Clone, DeserializeRow)]
pub(crate) struct EpisodeRow {
    pub level: Option<String>,
    pub score: Option<f32>,
    pub reasons: Option<String>,
    pub ack_deadline: Option<CqlTimestamp>,
    pub message_ids: Option<String>,
    pub updated_at: Option<CqlTimestamp>,
    pub version: Option<i32>,
}

impl EpisodeRow {
    fn messages(&self) -> Vec<(i64, String)> {
        self.message_ids.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
    }

    /// Lays the episode's state over the alert as raised.
    pub(crate) fn overlay(&self, a: &mut Alert) {
        if let Some(level) = self.level.as_deref().and_then(RiskLevel::parse) {
            a.level = level;
        }
        if let Some(score) = self.score {
            a.score = score;
        }
        if let Some(reasons) = self.reasons.as_deref().and_then(|s| serde_json::from_str(s).ok()) {
            a.reasons = reasons;
        }
        if self.ack_deadline.is_some() {
            a.ack_deadline = self.ack_deadline.map(ts);
        }
        let ids = self.messages();
        if !ids.is_empty() {
            a.message_ids = ids.into_iter().map(|(_, id)| id).collect();
        }
        if let Some(t) = self.updated_at {
            a.updated_at = Some(ts(t));
        }
    }
}

fn unacknowledged(a: &Alert) -> bool {
    matches!(a.status, AlertStatus::Open | AlertStatus::Escalated)
}

impl Inner {
    pub(crate) async fn episode_row(&self, alert_id: &str, serial: bool) -> Result<Option<EpisodeRow>> {
        let stmt = if serial { &self.st.episode_get_serial } else { &self.st.episode_get };
        let r = stmt.run(&self.session, (alert_id.to_owned(),)).await.map_err(|e| exec_err("read episode", e))?;
        first_row::<EpisodeRow>(r)
    }

    async fn serial_text(
        &self,
        what: &str,
        r: std::result::Result<scylla::response::query_result::QueryResult, scylla::errors::ExecutionError>,
    ) -> Result<Option<String>> {
        let r = r.map_err(|e| exec_err(what, e))?;
        Ok(first_row::<(Option<String>,)>(r)?.and_then(|(v,)| v))
    }

    pub(crate) async fn record_risk(&self, ev: Alert, message_at: Timestamp) -> Result<Recorded> {
        let now = ev.updated_at.unwrap_or(ev.created_at);
        for round in 0..ROUNDS {
            // 1. A message some alert already holds: bring that alert up to date (a higher grade,
            //    new reasons, or its id if a node stopped between claiming and appending).
            let holder = self
                .serial_text(
                    "read message holder",
                    self.st.episode_message_holder.run(&self.session, (ev.message_id.clone(),)).await,
                )
                .await?;
            if let Some(holder) = holder {
                let Some(held) = self.alert_named(&holder, true).await?.map(|s| s.alert) else {
                    // Claimed for an alert that is not written yet (its node is mid-raise or died).
                    if holder == ev.id {
                        return self.create(&ev, message_at, now).await;
                    }
                    return Err(StoreError::Unavailable("the alert holding this message is not written yet".into()));
                };
                if !unacknowledged(&held) {
                    return Ok(Recorded { alert: held, change: EpisodeChange::Unchanged });
                }
                match self.update(&held, &ev, message_at, now).await? {
                    Some(Some(alert)) => {
                        return Ok(Recorded { alert, change: EpisodeChange::Updated { previous: held.level } });
                    }
                    Some(None) => return Ok(Recorded { alert: held, change: EpisodeChange::Unchanged }),
                    None => continue, // lost a race: read again
                }
            }
            // 2. The patient's episode: join it, or open one.
            let open = self
                .serial_text(
                    "read open episode",
                    self.st.episode_open_get.run(&self.session, (ev.patient_id.clone(),)).await,
                )
                .await?;
            match open {
                Some(open_id) => {
                    let episode = self.alert_named(&open_id, true).await?.map(|s| s.alert);
                    if episode.as_ref().is_some_and(unacknowledged) {
                        let r = self
                            .st
                            .episode_message_claim
                            .run(&self.session, (ev.message_id.clone(), open_id.clone()))
                            .await;
                        // Applied or not, step 1 of the next round appends it to whoever holds it.
                        cas_outcome("claim message for episode", r)?;
                        continue;
                    }
                    if episode.is_none() && open_id == ev.id {
                        return self.create(&ev, message_at, now).await;
                    }
                    if episode.is_none() && round < ROUNDS / 2 {
                        // Another node is writing that alert right now: give it time before
                        // taking the episode over (it may have stopped mid-raise).
                        tokio::time::sleep(std::time::Duration::from_millis(20 * (round as u64 + 1))).await;
                        continue;
                    }
                    // Acknowledged (or its raise never finished): move the patient on to a new one.
                    let r = self
                        .st
                        .episode_open_move
                        .run(&self.session, (ev.id.clone(), ev.patient_id.clone(), open_id))
                        .await;
                    if matches!(cas_outcome("move episode", r)?, Cas::Applied) {
                        return self.create(&ev, message_at, now).await;
                    }
                }
                None => {
                    let r = self.st.episode_open_claim.run(&self.session, (ev.patient_id.clone(), ev.id.clone())).await;
                    if matches!(cas_outcome("open episode", r)?, Cas::Applied) {
                        return self.create(&ev, message_at, now).await;
                    }
                }
            }
        }
        Err(StoreError::Unavailable(format!("patient {}: risk episode kept conflicting", ev.patient_id)))
    }

    /// Writes a new alert as the patient's episode (the caller holds `open_episodes`).
    async fn create(&self, ev: &Alert, message_at: Timestamp, now: Timestamp) -> Result<Recorded> {
        let r = self.st.episode_message_claim.run(&self.session, (ev.message_id.clone(), ev.id.clone())).await;
        cas_outcome("claim message", r)?;
        let r = self
            .st
            .episode_create
            .run(
                &self.session,
                (
                    ev.id.clone(),
                    ev.level.as_str().to_owned(),
                    ev.score,
                    to_json(&ev.reasons),
                    unset(ev.ack_deadline.map(cql_ts)),
                    to_json(&vec![(ms(message_at), ev.message_id.clone())]),
                    cql_ts(now),
                ),
            )
            .await;
        cas_outcome("create episode", r)?;
        let raised = self.raise_alert(ev.clone()).await?;
        let change = if raised.created { EpisodeChange::Raised } else { EpisodeChange::Unchanged };
        Ok(Recorded { alert: raised.alert, change })
    }

    /// Folds `ev` into `held` by compare-and-set. `None`: lost the race; `Some(None)`: nothing to
    /// change; `Some(Some(alert))`: the alert after the change.
    async fn update(
        &self,
        held: &Alert,
        ev: &Alert,
        message_at: Timestamp,
        now: Timestamp,
    ) -> Result<Option<Option<Alert>>> {
        let row = self.episode_row(&held.id, true).await?;
        let mut ids = row.as_ref().map(EpisodeRow::messages).unwrap_or_default();
        if ids.is_empty() {
            ids = vec![(ms(held.created_at), held.message_id.clone())];
        }
        let needs_id = !ids.iter().any(|(_, id)| *id == ev.message_id);
        let merged = merge_evidence(held, ev);
        if merged.is_none() && !needs_id {
            return Ok(Some(None));
        }
        let merged = merged.unwrap_or_else(|| held.clone());
        if needs_id {
            ids.push((ms(message_at), ev.message_id.clone()));
            ids.sort();
        }
        let version = row.as_ref().and_then(|r| r.version);
        let r = match version {
            Some(v) => {
                self.st
                    .episode_update
                    .run(
                        &self.session,
                        (
                            merged.level.as_str().to_owned(),
                            merged.score,
                            to_json(&merged.reasons),
                            unset(merged.ack_deadline.map(cql_ts)),
                            to_json(&ids),
                            cql_ts(now),
                            v + 1,
                            held.id.clone(),
                            v,
                        ),
                    )
                    .await
            }
            None => {
                self.st
                    .episode_create
                    .run(
                        &self.session,
                        (
                            held.id.clone(),
                            merged.level.as_str().to_owned(),
                            merged.score,
                            to_json(&merged.reasons),
                            unset(merged.ack_deadline.map(cql_ts)),
                            to_json(&ids),
                            cql_ts(now),
                        ),
                    )
                    .await
            }
        };
        if !matches!(cas_outcome("update episode", r)?, Cas::Applied) {
            return Ok(None);
        }
        if merged.ack_deadline != held.ack_deadline
            && let Some(d) = merged.ack_deadline
        {
            let ttl = plan::deadline_index_ttl(ms(d), ms(chrono::Utc::now()));
            self.st
                .deadline_insert
                .run(&self.session, (deadline_bucket(ms(d)), cql_ts(d), held.id.clone(), ttl))
                .await
                .map_err(|e| exec_err("index alert deadline", e))?;
        }
        let Some(after) = self.alert_named(&held.id, true).await?.map(|s| s.alert) else {
            return Err(StoreError::Internal("alert vanished after update".into()));
        };
        if !unacknowledged(&after) {
            // Acknowledged while we updated it: this evidence belongs to a new episode.
            tracing::warn!(alert = %held.id, message = %ev.message_id, "episode acknowledged during its update; opening a new one");
            let r = self
                .st
                .episode_open_move
                .run(&self.session, (ev.id.clone(), ev.patient_id.clone(), held.id.clone()))
                .await;
            if matches!(cas_outcome("move episode", r)?, Cas::Applied) {
                let created = self.create(ev, message_at, now).await?;
                return Ok(Some(Some(created.alert)));
            }
        }
        Ok(Some(Some(after)))
    }

    pub(crate) async fn set_patient_paused(&self, patient_id: String, paused: bool) -> Result<Vec<String>> {
        let now = from_ms(ms(chrono::Utc::now()));
        self.st
            .pause_set
            .run(&self.session, (patient_id.clone(), paused, cql_ts(now)))
            .await
            .map_err(|e| exec_err("pause patient", e))?;
        let mut changed = Vec::new();
        for c in self.conversations_of(patient_id).await? {
            if c.chat_paused != paused {
                self.set_chat_paused(c.id.clone(), paused).await?;
                changed.push(c.id);
            }
        }
        Ok(changed)
    }

    pub(crate) async fn patient_paused(&self, patient_id: &str) -> Result<bool> {
        let r = self
            .st
            .pause_get
            .run(&self.session, (patient_id.to_owned(),))
            .await
            .map_err(|e| exec_err("read pause", e))?;
        Ok(first_row::<(Option<bool>,)>(r)?.and_then(|(p,)| p).unwrap_or(false))
    }
}
