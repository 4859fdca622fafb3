//! Data rights (contract §4.9) on the CQL backend: disabled accounts, erasure deadlines and
//! erasure. Retention is the messages' TTL (`--retention-days`), so there is nothing to purge.
//!
//! An erasure moves `scheduled → erasing` by compare-and-set before anything is deleted (a
//! cancel, `scheduled → cancelled`, can then no longer win), deletes, and ends `erased`. Every
//! delete is idempotent, so a node that stops half-way leaves the erasure `erasing` and listed as
//! due, and the next sweep (on any node) finishes it.

use futures_util::future::try_join_all;
use healing_protocol::{AlertStatus, EscalationStatus, Role, Timestamp};
use scylla::response::PagingState;
use scylla::value::CqlTimestamp;

use super::accounts::DUTY_SHARD;
use super::plan::message_bucket;
use super::rows::{cql_ts, to_json, ts};
use super::{Cas, Inner, all_rows, cas_outcome, exec_err, first_row};
use crate::error::{Result, StoreError};
use crate::store::{Erased, Erasure, ErasureStatus, reason_without_quote};

/// The one partition of `erasures_due`.
const DUE_SHARD: i32 = 0;

type ErasureRow = (Option<String>, String, Option<String>, Option<String>, Option<CqlTimestamp>, Option<CqlTimestamp>);

fn erasure_of(row: ErasureRow) -> Option<(Erasure, String)> {
    let (id, patient_id, status, by, at, erase_at) = row;
    let raw = status?;
    // `erasing` is this backend's step inside an erasure: still due, no longer cancellable.
    let status = if raw == "erasing" { ErasureStatus::Scheduled } else { ErasureStatus::parse(&raw)? };
    Some((
        Erasure {
            id: id?,
            patient_id,
            status,
            requested_by: by.unwrap_or_default(),
            requested_at: ts(at?),
            erase_at: ts(erase_at?),
        },
        raw,
    ))
}

impl Inner {
    async fn erasure_row(&self, patient_id: &str, serial: bool) -> Result<Option<(Erasure, String)>> {
        let stmt = if serial { &self.st.erasure_get_serial } else { &self.st.erasure_get };
        let r = stmt.run(&self.session, (patient_id.to_owned(),)).await.map_err(|e| exec_err("read erasure", e))?;
        Ok(first_row::<ErasureRow>(r)?.and_then(erasure_of))
    }

    pub(crate) async fn erasure(&self, patient_id: String) -> Result<Option<Erasure>> {
        Ok(self.erasure_row(&patient_id, false).await?.map(|(e, _)| e))
    }

    pub(crate) async fn schedule_erasure(&self, e: Erasure) -> Result<Erasure> {
        match self.user(&e.patient_id).await? {
            Some(u) if u.role == Role::Patient => {}
            _ => return Err(StoreError::NotFound),
        }
        match self.erasure_row(&e.patient_id, true).await? {
            Some((_, raw)) if raw == "scheduled" || raw == "erasing" => {
                return Err(StoreError::Conflict("an erasure is already scheduled".into()));
            }
            Some((_, raw)) if raw == "erased" => return Err(StoreError::NotFound),
            _ => {}
        }
        // The sweeper's index row first (alone, it is dropped as stale when read), then the request,
        // then the account is disabled; if that last step fails, the request is withdrawn again so
        // nothing is left half-done (the caller sees the error and may retry).
        self.st
            .erasure_due_insert
            .run(&self.session, (DUE_SHARD, cql_ts(e.erase_at), e.patient_id.clone()))
            .await
            .map_err(|err| exec_err("index erasure", err))?;
        self.st
            .erasure_insert
            .run(
                &self.session,
                (
                    e.patient_id.clone(),
                    e.id.clone(),
                    e.requested_by.clone(),
                    cql_ts(e.requested_at),
                    cql_ts(e.erase_at),
                ),
            )
            .await
            .map_err(|err| exec_err("schedule erasure", err))?;
        if let Err(err) = self.set_user_disabled(e.patient_id.clone(), true).await {
            let _ = self.move_erasure(&e.patient_id, "scheduled", "cancelled").await;
            return Err(err);
        }
        Ok(Erasure { status: ErasureStatus::Scheduled, ..e })
    }

    /// `from → to` by compare-and-set; an unknown outcome is settled by a serial read.
    async fn move_erasure(&self, patient_id: &str, from: &str, to: &str) -> Result<bool> {
        let r = self.st.erasure_move.run(&self.session, (to.to_owned(), patient_id.to_owned(), from.to_owned())).await;
        match cas_outcome("move erasure", r)? {
            Cas::Applied => Ok(true),
            Cas::NotApplied => Ok(false),
            Cas::Unknown(err) => match self.erasure_row(patient_id, true).await? {
                Some((_, raw)) if raw == to => Ok(true),
                Some(_) => Ok(false),
                None => Err(err),
            },
        }
    }

    pub(crate) async fn cancel_erasure(&self, patient_id: String) -> Result<Option<Erasure>> {
        let Some((e, _)) = self.erasure_row(&patient_id, true).await? else { return Ok(None) };
        if !self.move_erasure(&patient_id, "scheduled", "cancelled").await? {
            return Ok(None);
        }
        self.set_user_disabled(patient_id.clone(), false).await?;
        let _ = self.st.erasure_due_delete.run(&self.session, (DUE_SHARD, cql_ts(e.erase_at), patient_id)).await;
        Ok(Some(Erasure { status: ErasureStatus::Cancelled, ..e }))
    }

    pub(crate) async fn due_erasures(&self, now: Timestamp, limit: u32) -> Result<Vec<Erasure>> {
        let lim = i32::try_from(limit.clamp(1, 10_000)).unwrap_or(10_000);
        let r = self
            .st
            .erasure_due_list
            .run(&self.session, (DUE_SHARD, cql_ts(now), lim))
            .await
            .map_err(|e| exec_err("list due erasures", e))?;
        let rows: Vec<(CqlTimestamp, String)> = all_rows(r)?;
        let mut out = Vec::new();
        for (at, patient_id) in rows {
            match self.erasure_row(&patient_id, false).await? {
                Some((e, _)) if e.status == ErasureStatus::Scheduled => out.push(e),
                // Cancelled or done (or replaced by a later request): the index row is stale.
                _ => {
                    let _ = self.st.erasure_due_delete.run(&self.session, (DUE_SHARD, at, patient_id)).await;
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn erase_patient(&self, patient_id: String, now: Timestamp) -> Result<Option<Erased>> {
        let Some((e, raw)) = self.erasure_row(&patient_id, true).await? else { return Ok(None) };
        if raw == "scheduled" && !self.move_erasure(&patient_id, "scheduled", "erasing").await? {
            return Ok(None);
        }
        if raw != "scheduled" && raw != "erasing" {
            return Ok(None);
        }
        let mut erased = Erased::default();
        // Messages and conversations.
        let r = self
            .st
            .conv_index_list
            .run(&self.session, (patient_id.clone(),))
            .await
            .map_err(|e| exec_err("list conversations", e))?;
        let index: Vec<(String, Option<CqlTimestamp>)> = all_rows(r)?;
        for (conversation_id, _) in index {
            if let Some(state) = self.conversation_state(&conversation_id).await? {
                let last_bucket = message_bucket(state.next_seq.max(2) - 1);
                for bucket in 0..=last_bucket {
                    erased.messages += self.erase_bucket(&patient_id, &conversation_id, bucket).await?;
                }
            }
            self.st
                .erase_conversation
                .run(&self.session, (conversation_id.clone(),))
                .await
                .map_err(|e| exec_err("erase conversation", e))?;
            self.st
                .conv_index_delete
                .run(&self.session, (patient_id.clone(), conversation_id))
                .await
                .map_err(|e| exec_err("erase conversation index", e))?;
            erased.conversations += 1;
        }
        // Alerts keep their grade and times, without text; open ones are closed.
        let mut state = PagingState::start();
        loop {
            let (ids, next) = self.index_page(&self.st.alert_index_from, &patient_id, None, state).await?;
            for id in ids {
                let Some(a) = self.stored_alert(&id, false).await? else { continue };
                if let Some(esc) = &a.escalation_id
                    && let Some(x) = self.escalation(esc).await?
                    && x.status != EscalationStatus::Resolved
                {
                    self.resolve_escalation(esc.clone(), e.requested_by.clone(), String::new(), now).await?;
                }
                if matches!(a.alert.status, AlertStatus::Open | AlertStatus::Escalated) {
                    self.resolve_alert(&id).await?;
                }
                if let Some(esc) = &a.escalation_id {
                    self.st
                        .erase_esc_note
                        .run(&self.session, (esc.clone(),))
                        .await
                        .map_err(|e| exec_err("erase note", e))?;
                }
                // Reasons quote the patient's words: keep only what they name.
                let stripped: Vec<String> = a.alert.reasons.iter().map(|r| reason_without_quote(r)).collect();
                let reasons = to_json(&stripped);
                if self.episode_row(&id, false).await?.is_some() {
                    self.st
                        .erase_episode_reasons
                        .run(&self.session, (reasons.clone(), id.clone()))
                        .await
                        .map_err(|e| exec_err("erase reasons", e))?;
                }
                self.st
                    .erase_alert_text
                    .run(&self.session, (reasons, id))
                    .await
                    .map_err(|e| exec_err("erase excerpt", e))?;
                erased.alerts += 1;
            }
            match next {
                Some(s) => state = s,
                None => break,
            }
        }
        // Caseloads, pause, the registry and the profile.
        let r = self
            .st
            .patient_clinicians
            .run(&self.session, (patient_id.clone(),))
            .await
            .map_err(|e| exec_err("list clinicians", e))?;
        let clinicians: Vec<(String,)> = all_rows(r)?;
        try_join_all(clinicians.into_iter().map(|(c,)| {
            let p = patient_id.clone();
            async move {
                self.st
                    .erase_caseload_by_clinician
                    .run(&self.session, (c, p))
                    .await
                    .map_err(|e| exec_err("erase caseload", e))
            }
        }))
        .await?;
        self.st
            .erase_caseloads_by_patient
            .run(&self.session, (patient_id.clone(),))
            .await
            .map_err(|e| exec_err("erase caseload", e))?;
        self.st
            .pause_set
            .run(&self.session, (patient_id.clone(), false, cql_ts(now)))
            .await
            .map_err(|e| exec_err("erase pause", e))?;
        if let Some(user) = self.user(&patient_id).await?
            && user.username != format!("erased-{patient_id}")
        {
            self.st
                .erase_registry
                .run(&self.session, (DUTY_SHARD, cql_ts(user.created_at), patient_id.clone()))
                .await
                .map_err(|e| exec_err("erase registry", e))?;
            let tombstone = format!("erased-{patient_id}");
            self.st
                .user_insert
                .run(
                    &self.session,
                    (
                        patient_id.clone(),
                        tombstone.clone(),
                        tombstone,
                        String::new(),
                        Role::Patient.as_str().to_owned(),
                        "erased patient".to_owned(),
                        cql_ts(user.created_at),
                    ),
                )
                .await
                .map_err(|e| exec_err("erase profile", e))?;
            self.st
                .erase_username
                .run(&self.session, (crate::identity::username_key(&user.username),))
                .await
                .map_err(|e| exec_err("erase username", e))?;
            let skeleton = crate::identity::username_skeleton(&user.username);
            let released = self.st.skeleton_release.run(&self.session, (skeleton, patient_id.clone())).await;
            cas_outcome("release username skeleton", released)?;
        }
        self.move_erasure(&patient_id, "erasing", "erased").await?;
        let _ = self.st.erasure_due_delete.run(&self.session, (DUE_SHARD, cql_ts(e.erase_at), patient_id)).await;
        Ok(Some(erased))
    }

    /// Deletes one message partition and the messages' id and idempotency rows.
    async fn erase_bucket(&self, patient_id: &str, conversation_id: &str, bucket: i32) -> Result<u64> {
        let r = self
            .st
            .erase_msg_ids
            .run(&self.session, (conversation_id.to_owned(), bucket))
            .await
            .map_err(|e| exec_err("list messages", e))?;
        let ids: Vec<(String, Option<String>)> = all_rows(r)?;
        let n = ids.len() as u64;
        try_join_all(ids.into_iter().map(|(id, client)| async move {
            self.st.erase_msg_by_id.run(&self.session, (id,)).await.map_err(|e| exec_err("erase message id", e))?;
            if let Some(c) = client {
                self.st
                    .erase_msg_claim
                    .run(&self.session, (patient_id.to_owned(), c))
                    .await
                    .map_err(|e| exec_err("erase message claim", e))?;
            }
            Ok::<_, StoreError>(())
        }))
        .await?;
        self.st
            .erase_msg_bucket
            .run(&self.session, (conversation_id.to_owned(), bucket))
            .await
            .map_err(|e| exec_err("erase messages", e))?;
        Ok(n)
    }
}
