//! Crisis follow-ups (contract §4.7). Like alerts: rows are created `IF NOT EXISTS` and every
//! status change is a compare-and-set from `pending`, so a follow-up is done or missed once
//! however many nodes race for it.
//!
//! A missed follow-up's escalation is written first (with a `followup_escalations` row naming
//! the follow-up), then the follow-up moves pending → missed by CAS *recording the escalation
//! id*. The escalation counts only if its follow-up names it, so a node that lost the race leaves
//! nothing visible (and deletes its rows).

use std::collections::HashSet;
use std::time::Instant;

use futures_util::future::try_join_all;
use healing_protocol::{EscalationReason, Followup, FollowupStatus, Timestamp};
use scylla::value::CqlTimestamp;

use super::accounts::DUTY_SHARD;
use super::plan::{self, deadline_bucket};
use super::rows::{FollowupRow, cql_ts, ms};
use super::{Cas, Inner, all_rows, cas_outcome, exec_err, first_row};
use crate::error::{Result, StoreError};
use crate::store::{FollowupQuery, Missed};

/// Index rows read per deadline bucket per sweep.
const DUE_SCAN: i32 = 5_000;
/// Concurrent point reads when joining index rows to their records.
const FAN_OUT: usize = 32;

impl Inner {
    async fn followup_row(&self, id: &str, serial: bool) -> Result<Option<(Followup, Option<String>)>> {
        let stmt = if serial { &self.st.fu_get_serial } else { &self.st.fu_get };
        let r = stmt.run(&self.session, (id.to_owned(),)).await.map_err(|e| exec_err("read follow-up", e))?;
        first_row::<FollowupRow>(r)?.map(FollowupRow::into_followup).transpose().map(Option::flatten)
    }

    pub(crate) async fn followup(&self, id: &str) -> Result<Option<Followup>> {
        Ok(self.followup_row(id, false).await?.map(|(f, _)| f))
    }

    /// Best effort: the sweeper filters by status anyway.
    async fn drop_due(&self, f: &Followup) {
        let _ = self
            .st
            .fu_due_delete
            .run(&self.session, (deadline_bucket(ms(f.due_at)), cql_ts(f.due_at), f.id.clone()))
            .await;
    }

    pub(crate) async fn schedule_followup(&self, f: Followup) -> Result<(Followup, bool)> {
        let alert = self.alert_named(&f.alert_id, false).await?;
        if alert.is_none_or(|a| a.alert.patient_id != f.patient_id) {
            return Err(StoreError::Invalid("a follow-up needs an alert of its patient".into()));
        }
        // Scheduled before (a retried acknowledgement): the stored one stands, no new index rows.
        if let Some((stored, _)) = self.followup_row(&f.id, true).await? {
            if stored.alert_id != f.alert_id {
                return Err(StoreError::Conflict("follow-up id already used for another alert".into()));
            }
            return Ok((stored, false));
        }
        // Index rows first: a follow-up row never exists without the rows that find it.
        self.st
            .fu_index_insert
            .run(&self.session, (f.patient_id.clone(), cql_ts(f.created_at), f.id.clone()))
            .await
            .map_err(|e| exec_err("index follow-up", e))?;
        let ttl = plan::deadline_index_ttl(ms(f.due_at), ms(chrono::Utc::now()));
        self.st
            .fu_due_insert
            .run(&self.session, (deadline_bucket(ms(f.due_at)), cql_ts(f.due_at), f.id.clone(), ttl))
            .await
            .map_err(|e| exec_err("index follow-up deadline", e))?;
        let r = self
            .st
            .fu_create
            .run(
                &self.session,
                (f.id.clone(), f.patient_id.clone(), f.alert_id.clone(), cql_ts(f.due_at), cql_ts(f.created_at)),
            )
            .await;
        let (serial, created) = match cas_outcome("schedule follow-up", r)? {
            Cas::Applied => (false, true),
            Cas::NotApplied => (true, false),
            Cas::Unknown(e) => {
                if self.followup_row(&f.id, true).await?.is_none() {
                    return Err(e);
                }
                (true, true)
            }
        };
        let (stored, _) = self
            .followup_row(&f.id, serial)
            .await?
            .ok_or_else(|| StoreError::Internal("follow-up vanished after insert".into()))?;
        if stored.alert_id != f.alert_id {
            return Err(StoreError::Conflict("follow-up id already used for another alert".into()));
        }
        Ok((stored, created))
    }

    pub(crate) async fn followups(&self, q: FollowupQuery) -> Result<Vec<Followup>> {
        let mut patients: Vec<String> = match (&q.clinician_id, &q.supervisor_id, &q.patient_id) {
            (Some(c), _, _) => self.caseload_ids(c.clone()).await?,
            (None, Some(s), _) => self.team_patient_ids(s.clone()).await?.into_iter().collect(),
            (None, None, Some(p)) => vec![p.clone()],
            (None, None, None) => {
                return Err(StoreError::Invalid(
                    "the scylla store lists follow-ups per clinician, supervisor or patient".into(),
                ));
            }
        };
        if let Some(p) = &q.patient_id {
            patients.retain(|x| x == p);
        }
        // Two schedules racing for one follow-up may leave two index rows: each id once.
        let mut ids: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for chunk in patients.chunks(FAN_OUT) {
            let lists = try_join_all(chunk.iter().map(|p| async move {
                let r = self
                    .st
                    .fu_index_list
                    .run(&self.session, (p.clone(),))
                    .await
                    .map_err(|e| exec_err("list follow-ups", e))?;
                all_rows::<(CqlTimestamp, String)>(r)
            }))
            .await?;
            for (at, id) in lists.into_iter().flatten() {
                if q.before.as_ref().is_none_or(|c| c.precedes(super::rows::ts(at), &id)) && seen.insert(id.clone()) {
                    ids.push(id);
                }
            }
        }
        let mut out = Vec::new();
        for chunk in ids.chunks(FAN_OUT) {
            let found = try_join_all(chunk.iter().map(|id| self.followup(id))).await?;
            out.extend(found.into_iter().flatten().filter(|f| q.status.is_none_or(|s| f.status == s)));
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        out.truncate(q.limit.clamp(1, 1000) as usize);
        Ok(out)
    }

    pub(crate) async fn complete_followup(
        &self,
        id: String,
        by: String,
        note: Option<String>,
        now: Timestamp,
    ) -> Result<Option<Followup>> {
        let Some(f) = self.followup(&id).await? else { return Ok(None) };
        if f.status != FollowupStatus::Pending {
            return Ok(None);
        }
        let r = self.st.fu_done.run(&self.session, (by.clone(), cql_ts(now), note.clone(), id.clone())).await;
        let applied = match cas_outcome("complete follow-up", r)? {
            Cas::Applied => true,
            Cas::NotApplied => false,
            Cas::Unknown(e) => {
                let Some((row, _)) = self.followup_row(&id, true).await? else { return Err(e) };
                row.status == FollowupStatus::Done
                    && row.done_by.as_deref() == Some(by.as_str())
                    && row.done_at.map(ms) == Some(ms(now))
            }
        };
        if !applied {
            return Ok(None);
        }
        self.drop_due(&f).await;
        self.followup_row(&id, true).await.map(|r| r.map(|(f, _)| f))
    }

    pub(crate) async fn due_followups(&self, now: Timestamp, limit: u32) -> Result<Vec<Followup>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let full = self.last_full_followup_sweep.lock().is_none_or(|t| t.elapsed() >= plan::FULL_SWEEP_EVERY);
        let buckets: Vec<i32> = plan::due_buckets(ms(now), full).collect();
        let mut candidates: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for chunk in buckets.chunks(FAN_OUT) {
            let reads = try_join_all(chunk.iter().map(|b| async move {
                let r = self
                    .st
                    .fu_due
                    .run(&self.session, (*b, cql_ts(now), DUE_SCAN))
                    .await
                    .map_err(|e| exec_err("read due follow-ups", e))?;
                all_rows::<(CqlTimestamp, String)>(r)
            }))
            .await?;
            for (_, id) in reads.into_iter().flatten() {
                if seen.insert(id.clone()) {
                    candidates.push(id);
                }
            }
        }
        let mut out = Vec::new();
        'fill: for chunk in candidates.chunks(FAN_OUT) {
            let found = try_join_all(chunk.iter().map(|id| self.followup(id))).await?;
            for f in found.into_iter().flatten() {
                if f.status == FollowupStatus::Pending && ms(f.due_at) <= ms(now) {
                    out.push(f);
                    if out.len() >= limit as usize {
                        break 'fill;
                    }
                }
            }
        }
        out.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.id.cmp(&b.id)));
        if full {
            *self.last_full_followup_sweep.lock() = Some(Instant::now());
        }
        Ok(out)
    }

    pub(crate) async fn miss_followup(
        &self,
        id: String,
        escalation_id: String,
        now: Timestamp,
    ) -> Result<Option<Missed>> {
        let Some(f) = self.followup(&id).await? else { return Ok(None) };
        if f.status != FollowupStatus::Pending {
            return Ok(None);
        }
        let patient_id = f.patient_id.clone();
        // 1. The escalation's rows, invisible until the follow-up names the escalation.
        self.st
            .fu_esc_insert
            .run(&self.session, (escalation_id.clone(), id.clone()))
            .await
            .map_err(|e| exec_err("link escalation to follow-up", e))?;
        self.st
            .esc_index_insert
            .run(&self.session, (patient_id.clone(), cql_ts(now), escalation_id.clone()))
            .await
            .map_err(|e| exec_err("index escalation", e))?;
        let reason = EscalationReason::FollowUpMissed.as_str().to_owned();
        let r = self
            .st
            .esc_create
            .run(&self.session, (escalation_id.clone(), f.alert_id.clone(), patient_id.clone(), reason, cql_ts(now)))
            .await;
        match cas_outcome("create escalation", r)? {
            Cas::Applied => {}
            Cas::NotApplied | Cas::Unknown(_) => {
                let existing = self.escalation_row(&escalation_id, true).await?;
                match existing.and_then(|e| e.alert_id) {
                    Some(other) if other != f.alert_id => {
                        return Err(StoreError::Conflict("escalation id already used".into()));
                    }
                    Some(_) => {}
                    None => return Err(StoreError::Unavailable("could not create the escalation".into())),
                }
            }
        }
        if self.supervisors_of(patient_id.clone()).await?.is_empty() {
            self.st
                .duty_esc_insert
                .run(&self.session, (DUTY_SHARD, cql_ts(now), escalation_id.clone()))
                .await
                .map_err(|e| exec_err("index escalation for duty", e))?;
        }
        // 2. pending → missed, naming this escalation: at most one node wins.
        let r = self.st.fu_miss.run(&self.session, (escalation_id.clone(), id.clone())).await;
        let won = match cas_outcome("miss follow-up", r)? {
            Cas::Applied => true,
            Cas::NotApplied => {
                let now_row = self.followup_row(&id, true).await?;
                now_row.and_then(|(_, e)| e).as_deref() == Some(escalation_id.as_str())
            }
            Cas::Unknown(e) => match self.followup_row(&id, true).await {
                Ok(Some((_, Some(named)))) => named == escalation_id,
                Ok(Some((row, None))) if row.status != FollowupStatus::Pending => false,
                _ => return Err(e),
            },
        };
        if !won {
            let _ = self.st.esc_delete.run(&self.session, (escalation_id.clone(),)).await;
            let _ = self.st.esc_index_delete.run(&self.session, (patient_id, cql_ts(now), escalation_id)).await;
            return Ok(None);
        }
        self.drop_due(&f).await;
        let (followup, _) =
            self.followup_row(&id, true).await?.ok_or_else(|| StoreError::Internal("follow-up vanished".into()))?;
        let escalation = self
            .escalation(&escalation_id)
            .await?
            .ok_or_else(|| StoreError::Internal("escalation of a missed follow-up not readable".into()))?;
        Ok(Some(Missed { followup, escalation }))
    }

    /// Whether a missed follow-up names this escalation (it then counts, see the module doc).
    pub(crate) async fn followup_names_escalation(&self, escalation_id: &str) -> Result<bool> {
        let r = self
            .st
            .fu_esc_get
            .run(&self.session, (escalation_id.to_owned(),))
            .await
            .map_err(|e| exec_err("read follow-up of escalation", e))?;
        let Some((Some(followup_id),)) = first_row::<(Option<String>,)>(r)? else { return Ok(false) };
        let named = self.followup_row(&followup_id, false).await?.and_then(|(_, e)| e);
        Ok(named.as_deref() == Some(escalation_id))
    }
}
