//! Alerts and escalations. Every status change is a compare-and-set on the row's `status`
//! (`... IF status = ?`), so a transition happens at most once even when nodes race; alerts and
//! escalations are created with `IF NOT EXISTS` so all their status writes go through Paxos.
//!
//! An alert has at most one escalation: escalation rows are written first, then the alert moves
//! open → escalated by CAS *recording the escalation id*. An escalation counts only if its alert
//! points at it, so the rows of a node that lost the race are invisible (and deleted).

use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use futures_util::future::try_join_all;
use healing_protocol::{Alert, AlertStatus, Escalation, EscalationReason, EscalationStatus, Timestamp};
use scylla::response::{PagingState, PagingStateResponse};
use scylla::value::CqlTimestamp;

use super::accounts::DUTY_SHARD;
use super::cql::Stmt;
use super::plan::{self, deadline_bucket};
use super::rows::{AlertRow, EscalationRow, StoredAlert, cql_ts, ms, to_json, unset};
use super::{Cas, Fault, Inner, all_rows, cas_outcome, exec_err, first_row, injected};
use crate::error::{Result, StoreError};
use crate::store::{AlertQuery, EscalationQuery, PageCursor, Raised};

/// Deadline index rows read per bucket per sweep.
const DEADLINE_SCAN: i32 = 5_000;
/// Concurrent point reads when joining index rows to their records.
const FAN_OUT: usize = 32;
/// Compare-and-set rounds before a transition gives up (statuses only move forward, so a few
/// rounds always suffice unless the store keeps failing).
const CAS_ROUNDS: usize = 8;

fn by_newest(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id))
}

fn intersect(acc: Option<BTreeSet<String>>, set: BTreeSet<String>) -> Option<BTreeSet<String>> {
    Some(match acc {
        None => set,
        Some(acc) => acc.intersection(&set).cloned().collect(),
    })
}

impl Inner {
    pub(crate) async fn stored_alert(&self, id: &str, serial: bool) -> Result<Option<StoredAlert>> {
        let stmt = if serial { &self.st.alert_get_serial } else { &self.st.alert_get };
        let r = stmt.run(&self.session, (id.to_owned(),)).await.map_err(|e| exec_err("read alert", e))?;
        let Some(mut a) = first_row::<AlertRow>(r)?.map(AlertRow::into_alert).transpose()?.flatten() else {
            return Ok(None);
        };
        // The episode's current state (risk episodes, see episodes.rs).
        if let Some(row) = self.episode_row(id, serial).await? {
            row.overlay(&mut a.alert);
        }
        Ok(Some(a))
    }

    /// The alert with its patient's name; `None` when either is missing (like SQLite's JOIN).
    pub(crate) async fn alert_named(&self, id: &str, serial: bool) -> Result<Option<StoredAlert>> {
        let Some(mut a) = self.stored_alert(id, serial).await? else { return Ok(None) };
        let Some(patient) = self.user(&a.alert.patient_id).await? else { return Ok(None) };
        a.alert.patient_name = patient.display_name;
        Ok(Some(a))
    }

    /// Best effort: the sweeper filters by status anyway.
    async fn drop_deadline(&self, a: &Alert) {
        if let Some(d) = a.ack_deadline {
            let _ = self.st.deadline_delete.run(&self.session, (deadline_bucket(ms(d)), cql_ts(d), a.id.clone())).await;
        }
    }

    pub(crate) async fn raise_alert(&self, a: Alert) -> Result<Raised> {
        if self.user(&a.patient_id).await?.is_none() {
            return Err(StoreError::Invalid("alert for an unknown patient".into()));
        }
        // Index rows first: an alert row never exists without the rows that find it.
        self.st
            .alert_index_insert
            .run(&self.session, (a.patient_id.clone(), cql_ts(a.created_at), a.id.clone()))
            .await
            .map_err(|e| exec_err("index alert", e))?;
        if let Some(d) = a.ack_deadline {
            let ttl = plan::deadline_index_ttl(ms(d), ms(chrono::Utc::now()));
            self.st
                .deadline_insert
                .run(&self.session, (deadline_bucket(ms(d)), cql_ts(d), a.id.clone(), ttl))
                .await
                .map_err(|e| exec_err("index alert deadline", e))?;
        }
        let r = self
            .st
            .alert_create
            .run(
                &self.session,
                (
                    a.id.clone(),
                    a.patient_id.clone(),
                    a.conversation_id.clone(),
                    a.message_id.clone(),
                    a.level.as_str().to_owned(),
                    a.score,
                    to_json(&a.reasons),
                    a.excerpt.clone(),
                    cql_ts(a.created_at),
                    unset(a.ack_deadline.map(cql_ts)),
                ),
            )
            .await;
        // Not applied: the same id was raised before (a retry or a re-screening); the stored
        // alert stands. Unknown but present: count it as new, since telling clinicians twice is
        // safer than not at all.
        let (serial, created) = match cas_outcome("raise alert", r)? {
            Cas::Applied => (false, true),
            Cas::NotApplied => (false, false),
            Cas::Unknown(e) => {
                if self.stored_alert(&a.id, true).await?.is_none() {
                    return Err(e);
                }
                (true, true)
            }
        };
        let alert = self
            .alert_named(&a.id, serial)
            .await?
            .map(|s| s.alert)
            .ok_or_else(|| StoreError::Internal("alert vanished after insert".into()))?;
        Ok(Raised { alert, created })
    }

    /// One page of a per-patient index (`alert_index_from`, `esc_index_from`), newest first,
    /// from the cursor's time on: the ids, and where the next page starts if there is one.
    pub(crate) async fn index_page(
        &self,
        stmt: &Stmt<(String, CqlTimestamp)>,
        patient_id: &str,
        before: Option<&PageCursor>,
        state: PagingState,
    ) -> Result<(Vec<String>, Option<PagingState>)> {
        let from = before.map_or(CqlTimestamp(i64::MAX), |c| cql_ts(c.created_at));
        let (res, more) = stmt
            .page(&self.session, (patient_id.to_owned(), from), state)
            .await
            .map_err(|e| exec_err("list index", e))?;
        let rows: Vec<(CqlTimestamp, String)> = all_rows(res)?;
        let next = match more {
            PagingStateResponse::HasMorePages { state } => Some(state),
            PagingStateResponse::NoMorePages => None,
        };
        Ok((rows.into_iter().map(|(_, id)| id).collect(), next))
    }

    /// The newest `limit` alerts of a patient that match the query's status filters and come
    /// after its cursor. Reads the patient's index page by page until the page is full or the
    /// index ends, so no number of closed alerts in front can hide an open one.
    async fn patient_alerts(&self, patient_id: String, q: &AlertQuery, limit: usize) -> Result<Vec<Alert>> {
        let Some(patient) = self.user(&patient_id).await? else { return Ok(Vec::new()) };
        let keep = |a: &Alert| {
            a.patient_id == patient_id
                && q.status.is_none_or(|s| a.status == s)
                && (!q.unacknowledged || matches!(a.status, AlertStatus::Open | AlertStatus::Escalated))
                && q.before.as_ref().is_none_or(|c| c.precedes(a.created_at, &a.id))
        };
        // A re-raised alert id has a second index row (its raise time differs); list it once.
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut state = PagingState::start();
        loop {
            let (mut ids, next) =
                self.index_page(&self.st.alert_index_from, &patient_id, q.before.as_ref(), state).await?;
            ids.retain(|id| seen.insert(id.clone()));
            for chunk in ids.chunks(FAN_OUT) {
                let found = try_join_all(chunk.iter().map(|id| self.stored_alert(id, false))).await?;
                for mut a in found.into_iter().flatten().map(|s| s.alert) {
                    if keep(&a) {
                        a.patient_name = patient.display_name.clone();
                        out.push(a);
                        if out.len() >= limit {
                            return Ok(out);
                        }
                    }
                }
            }
            match next {
                Some(s) => state = s,
                None => return Ok(out),
            }
        }
    }

    pub(crate) async fn alerts(&self, mut q: AlertQuery) -> Result<Vec<Alert>> {
        let mut patients = None;
        if let Some(c) = q.clinician_id.take() {
            patients = intersect(patients, self.caseload_ids(c).await?.into_iter().collect());
        }
        if let Some(s) = q.supervisor_id.take() {
            patients = intersect(patients, self.team_patient_ids(s).await?);
        }
        if let Some(p) = q.patient_id.take() {
            patients = intersect(patients, BTreeSet::from([p]));
        }
        let Some(patients) = patients else {
            return Err(StoreError::Invalid(
                "the scylla store lists alerts per patient, clinician or supervisor only".into(),
            ));
        };
        let limit = q.limit.clamp(1, 1000) as usize;
        let per = try_join_all(patients.into_iter().map(|p| self.patient_alerts(p, &q, limit))).await?;
        let mut out: Vec<Alert> = per.into_iter().flatten().collect();
        out.sort_by(by_newest);
        out.truncate(limit);
        Ok(out)
    }

    pub(crate) async fn ack_alert(
        &self,
        id: String,
        by: String,
        note: Option<String>,
        now: Timestamp,
    ) -> Result<Option<Alert>> {
        for _ in 0..CAS_ROUNDS {
            let Some(a) = self.stored_alert(&id, false).await? else { return Ok(None) };
            let from = a.alert.status;
            if !matches!(from, AlertStatus::Open | AlertStatus::Escalated) {
                return Ok(None);
            }
            let r = self
                .st
                .alert_ack
                .run(&self.session, (by.clone(), cql_ts(now), note.clone(), id.clone(), from.as_str().to_owned()))
                .await;
            let applied = match cas_outcome("acknowledge alert", r)? {
                Cas::Applied => true,
                Cas::NotApplied => false,
                Cas::Unknown(e) => {
                    let Some(now_row) = self.stored_alert(&id, true).await? else { return Err(e) };
                    now_row.alert.status == AlertStatus::Acknowledged
                        && now_row.alert.acknowledged_by.as_deref() == Some(by.as_str())
                        && now_row.alert.acknowledged_at.map(ms) == Some(ms(now))
                }
            };
            if applied {
                if from == AlertStatus::Open {
                    self.drop_deadline(&a.alert).await;
                }
                return Ok(self.alert_named(&id, false).await?.map(|s| s.alert));
            }
        }
        Err(StoreError::Unavailable(format!("alert {id}: acknowledgement kept conflicting")))
    }

    pub(crate) async fn escalate_alert(
        self: &std::sync::Arc<Self>,
        alert_id: String,
        escalation_id: String,
        reason: EscalationReason,
        now: Timestamp,
    ) -> Result<Option<Escalation>> {
        let Some(a) = self.stored_alert(&alert_id, false).await? else { return Ok(None) };
        if a.alert.status != AlertStatus::Open {
            return Ok(None);
        }
        let patient_id = a.alert.patient_id.clone();
        // 1. The escalation's rows, invisible until the alert points at them.
        self.st
            .esc_index_insert
            .run(&self.session, (patient_id.clone(), cql_ts(now), escalation_id.clone()))
            .await
            .map_err(|e| exec_err("index escalation", e))?;
        let r = self
            .st
            .esc_create
            .run(
                &self.session,
                (escalation_id.clone(), alert_id.clone(), patient_id.clone(), reason.as_str().to_owned(), cql_ts(now)),
            )
            .await;
        match cas_outcome("create escalation", r)? {
            Cas::Applied => {}
            Cas::NotApplied | Cas::Unknown(_) => {
                let existing = self.escalation_row(&escalation_id, true).await?;
                match existing.and_then(|e| e.alert_id) {
                    Some(other) if other != alert_id => {
                        return Err(StoreError::Conflict("escalation id already used".into()));
                    }
                    Some(_) => {}
                    None => return Err(StoreError::Unavailable("could not create the escalation".into())),
                }
            }
        }
        // Covered by the duty supervisors when no team covers the patient: listed for them too.
        if self.supervisors_of(patient_id.clone()).await?.is_empty() {
            self.st
                .duty_esc_insert
                .run(&self.session, (DUTY_SHARD, cql_ts(now), escalation_id.clone()))
                .await
                .map_err(|e| exec_err("index escalation for duty", e))?;
        }
        // 2. open → escalated, naming this escalation: at most one node wins.
        let outcome = if self.fault(Fault::LateEscalation) {
            // The CAS reaches the replicas only after its caller was told "unknown".
            let (me, e, a) = (self.clone(), escalation_id.clone(), alert_id.clone());
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                let _ = me.st.alert_escalate.run(&me.session, (e, a)).await;
            });
            Cas::Unknown(injected())
        } else {
            let r = self.st.alert_escalate.run(&self.session, (escalation_id.clone(), alert_id.clone())).await;
            cas_outcome("escalate alert", r)?
        };
        let won = match outcome {
            Cas::Applied => true,
            Cas::NotApplied => {
                // Lost for certain, or applied by an earlier attempt of this very call.
                let now_row = self.stored_alert(&alert_id, true).await?;
                now_row.and_then(|s| s.escalation_id).as_deref() == Some(escalation_id.as_str())
            }
            Cas::Unknown(e) => {
                // The answer was lost: the CAS may have applied, or may still apply (the
                // coordinator can retry it after this read). Only an alert that names another
                // escalation, or is no longer open, settles it; otherwise keep the rows — they
                // are invisible unless the alert ends up naming them — and report the error.
                let settled = match self.stored_alert(&alert_id, true).await {
                    Ok(Some(now)) if now.escalation_id.as_deref() == Some(escalation_id.as_str()) => Some(true),
                    Ok(Some(now)) if now.escalation_id.is_some() || now.alert.status != AlertStatus::Open => {
                        Some(false)
                    }
                    _ => None,
                };
                match settled {
                    Some(won) => won,
                    None => return Err(e),
                }
            }
        };
        if !won {
            let _ = self.st.esc_delete.run(&self.session, (escalation_id.clone(),)).await;
            let _ = self.st.esc_index_delete.run(&self.session, (patient_id, cql_ts(now), escalation_id)).await;
            return Ok(None);
        }
        self.drop_deadline(&a.alert).await;
        self.escalation(&escalation_id).await
    }

    pub(crate) async fn due_alerts(&self, now: Timestamp, limit: u32) -> Result<Vec<Alert>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let full = self.last_full_sweep.lock().is_none_or(|t| t.elapsed() >= plan::FULL_SWEEP_EVERY);
        let buckets: Vec<i32> = plan::due_buckets(ms(now), full).collect();
        let mut candidates: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for chunk in buckets.chunks(FAN_OUT) {
            let reads = try_join_all(chunk.iter().map(|b| async move {
                let r = self
                    .st
                    .deadline_due
                    .run(&self.session, (*b, cql_ts(now), DEADLINE_SCAN))
                    .await
                    .map_err(|e| exec_err("read due alerts", e))?;
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
            let found = try_join_all(chunk.iter().map(|id| self.alert_named(id, false))).await?;
            for a in found.into_iter().flatten().map(|s| s.alert) {
                if a.status == AlertStatus::Open && a.ack_deadline.is_some_and(|d| ms(d) <= ms(now)) {
                    out.push(a);
                    if out.len() >= limit as usize {
                        break 'fill;
                    }
                }
            }
        }
        out.sort_by(|a, b| a.ack_deadline.cmp(&b.ack_deadline).then_with(|| a.id.cmp(&b.id)));
        if full {
            *self.last_full_sweep.lock() = Some(Instant::now());
        }
        Ok(out)
    }

    pub(crate) async fn escalation_row(&self, id: &str, serial: bool) -> Result<Option<EscalationRow>> {
        let stmt = if serial { &self.st.esc_get_serial } else { &self.st.esc_get };
        let r = stmt.run(&self.session, (id.to_owned(),)).await.map_err(|e| exec_err("read escalation", e))?;
        first_row::<EscalationRow>(r)
    }

    pub(crate) async fn escalation(&self, id: &str) -> Result<Option<Escalation>> {
        let Some(row) = self.escalation_row(id, false).await? else { return Ok(None) };
        let Some(alert_id) = row.alert_id.clone() else { return Ok(None) };
        let Some(alert) = self.alert_named(&alert_id, false).await? else { return Ok(None) };
        if alert.escalation_id.as_deref() == Some(row.id.as_str()) {
            return row.into_escalation(alert);
        }
        // Not the alert's own escalation: it counts if a missed follow-up names it.
        if self.followup_names_escalation(&row.id).await? { row.into_counted(alert) } else { Ok(None) }
    }

    pub(crate) async fn escalations(&self, mut q: EscalationQuery) -> Result<Vec<Escalation>> {
        let limit = q.limit.clamp(1, 1000) as usize;
        let for_patient = q.patient_id.is_some();
        let (supervisor, patients) = match (q.supervisor_id.take(), q.patient_id.take()) {
            (Some(s), only) => {
                let mut team = self.team_patient_ids(s.clone()).await?;
                if let Some(p) = only {
                    team.retain(|t| *t == p);
                }
                (Some(s), team)
            }
            (None, Some(p)) => (None, BTreeSet::from([p])),
            (None, None) => {
                return Err(StoreError::Invalid(
                    "the scylla store lists escalations per supervisor or patient only".into(),
                ));
            }
        };
        let keep = |e: &Escalation| {
            q.status.is_none_or(|s| e.status == s)
                && (!q.unresolved || e.status != EscalationStatus::Resolved)
                && q.before.as_ref().is_none_or(|c| c.precedes(e.created_at, &e.id))
        };
        let (q, keep) = (&q, &keep);
        let per = try_join_all(patients.into_iter().map(|p| async move {
            let mut out = Vec::new();
            let mut state = PagingState::start();
            loop {
                let (ids, next) = self.index_page(&self.st.esc_index_from, &p, q.before.as_ref(), state).await?;
                for chunk in ids.chunks(FAN_OUT) {
                    let found = try_join_all(chunk.iter().map(|id| self.escalation(id))).await?;
                    for e in found.into_iter().flatten() {
                        if keep(&e) {
                            out.push(e);
                            if out.len() >= limit {
                                return Ok::<_, StoreError>(out);
                            }
                        }
                    }
                }
                match next {
                    Some(s) => state = s,
                    None => return Ok(out),
                }
            }
        }))
        .await?;
        let mut out: Vec<Escalation> = per.into_iter().flatten().collect();
        if let Some(supervisor) = supervisor
            && !for_patient
            && self.duty_supervisors().await?.contains(&supervisor)
        {
            let mine: HashSet<String> = out.iter().map(|e| e.id.clone()).collect();
            for e in self.duty_escalations(q, limit).await? {
                if !mine.contains(&e.id) {
                    out.push(e);
                }
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// The newest `limit` escalations of the duty supervisors (patients with no care team now)
    /// that match the query's status filters and come after its cursor.
    async fn duty_escalations(&self, q: &EscalationQuery, limit: usize) -> Result<Vec<Escalation>> {
        let from = q.before.as_ref().map_or(CqlTimestamp(i64::MAX), |c| cql_ts(c.created_at));
        let mut out = Vec::new();
        let mut state = PagingState::start();
        loop {
            let (res, more) = self
                .st
                .duty_esc_from
                .page(&self.session, (DUTY_SHARD, from), state)
                .await
                .map_err(|e| exec_err("list duty escalations", e))?;
            let rows: Vec<(CqlTimestamp, String)> = all_rows(res)?;
            for chunk in rows.chunks(FAN_OUT) {
                let found = try_join_all(chunk.iter().map(|(_, id)| async move {
                    let Some(e) = self.escalation(id).await? else { return Ok::<_, StoreError>(None) };
                    let wanted = q.status.is_none_or(|s| e.status == s)
                        && (!q.unresolved || e.status != EscalationStatus::Resolved)
                        && q.before.as_ref().is_none_or(|c| c.precedes(e.created_at, &e.id));
                    if !wanted || !self.supervisors_of(e.alert.patient_id.clone()).await?.is_empty() {
                        return Ok(None);
                    }
                    Ok(Some(e))
                }))
                .await?;
                for e in found.into_iter().flatten() {
                    out.push(e);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            match more {
                PagingStateResponse::HasMorePages { state: next } => state = next,
                PagingStateResponse::NoMorePages => return Ok(out),
            }
        }
    }

    pub(crate) async fn claim_escalation(&self, id: String, by: String, now: Timestamp) -> Result<Option<Escalation>> {
        let _ = now;
        let Some(e) = self.escalation(&id).await? else { return Ok(None) };
        if e.status != EscalationStatus::Open {
            return Ok(None);
        }
        let r = self.st.esc_claim.run(&self.session, (by.clone(), id.clone())).await;
        let applied = match cas_outcome("claim escalation", r)? {
            Cas::Applied => true,
            Cas::NotApplied => false,
            Cas::Unknown(err) => {
                let Some(row) = self.escalation_row(&id, true).await? else { return Err(err) };
                row.status.as_deref() == Some(EscalationStatus::Claimed.as_str())
                    && row.claimed_by.as_deref() == Some(by.as_str())
            }
        };
        if !applied {
            return Ok(None);
        }
        self.escalation(&id).await
    }

    pub(crate) async fn resolve_escalation(
        &self,
        id: String,
        by: String,
        note: String,
        now: Timestamp,
    ) -> Result<Option<Escalation>> {
        let mut resolved = None;
        for _ in 0..CAS_ROUNDS {
            let Some(e) = self.escalation(&id).await? else { return Ok(None) };
            if e.status == EscalationStatus::Resolved {
                return Ok(None);
            }
            let claimed_by = e.claimed_by.clone().unwrap_or_else(|| by.clone());
            let r = self
                .st
                .esc_resolve
                .run(&self.session, (cql_ts(now), note.clone(), claimed_by, id.clone(), e.status.as_str().to_owned()))
                .await;
            let applied = match cas_outcome("resolve escalation", r)? {
                Cas::Applied => true,
                Cas::NotApplied => false,
                Cas::Unknown(err) => {
                    let Some(row) = self.escalation_row(&id, true).await? else { return Err(err) };
                    row.status.as_deref() == Some(EscalationStatus::Resolved.as_str())
                        && row.resolved_at.map(|t| t.0) == Some(ms(now))
                        && row.note.as_deref() == Some(note.as_str())
                }
            };
            if applied {
                resolved = Some(e);
                break;
            }
        }
        let Some(e) = resolved else {
            return Err(StoreError::Unavailable(format!("escalation {id}: resolution kept conflicting")));
        };
        // The alert follows (SQLite does both in one transaction; here a failure between the two
        // leaves the alert `escalated`, which the sweeper ignores; retrying the call is a no-op).
        self.resolve_alert(&e.alert.id).await?;
        self.escalation(&id).await
    }

    pub(crate) async fn resolve_alert(&self, id: &str) -> Result<()> {
        for _ in 0..CAS_ROUNDS {
            let Some(a) = self.stored_alert(id, false).await? else { return Ok(()) };
            if a.alert.status == AlertStatus::Resolved {
                return Ok(());
            }
            let r = self.st.alert_resolve.run(&self.session, (id.to_owned(), a.alert.status.as_str().to_owned())).await;
            match cas_outcome("resolve alert", r)? {
                Cas::Applied => {
                    if a.alert.status == AlertStatus::Open {
                        self.drop_deadline(&a.alert).await;
                    }
                    return Ok(());
                }
                Cas::NotApplied | Cas::Unknown(_) => {}
            }
        }
        Err(StoreError::Unavailable(format!("alert {id}: resolution kept conflicting")))
    }
}
