//! Conversations and messages.
//!
//! Appending a message (see `docs/scylla.md`):
//! 1. A patient message first claims `(patient_id, client_msg_id)` with `IF NOT EXISTS`, naming a
//!    fresh message id (and, for a new conversation, a fresh conversation id). A retry, or a
//!    concurrent duplicate, finds the claim and carries on *as that message*.
//! 2. The seq is taken by compare-and-set on `conversations.next_seq`. The same CAS stores the
//!    whole message as the conversation's `pending` record, so the message is durable the moment
//!    its seq exists.
//! 3. The message rows are written with a fixed write timestamp (its creation time), so every
//!    writer of them writes identical cells.
//!
//! Before a CAS replaces the pending record, the replacing writer makes sure the pending
//! message's rows exist (writing them itself if their writer died). So every seq taken ends up
//! with its message: no gaps. A message is given a seq at most once: before each CAS the writer
//! checks whether its message id already holds one (it is the pending record, or its rows exist),
//! and the CAS condition (`IF next_seq = n`) guarantees nothing changed since that check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::future::try_join_all;
use healing_protocol::{Author, ConversationSummary, Message, Risk};
use scylla::value::CqlTimestamp;

use super::plan::{self, HistoryPlan, message_bucket};
use super::rows::{
    ClaimRow, ConversationRow, ConversationState, MessageRow, PendingMessage, cql_ts, ms, now, to_json, unset,
};
use super::{Cas, Fault, Inner, all_rows, cas_outcome, exec_err, first_row, injected, jitter};
use crate::error::{Result, StoreError};
use crate::store::{Appended, NewMessage};

/// How long an append keeps retrying a contended seq before giving up.
const APPEND_BUDGET: Duration = Duration::from_secs(30);
/// Background attempts at a message's rows after its seq CAS applied (0.2 s, doubling to 5 s
/// apart: about two minutes in all).
const ROW_RETRIES: u32 = 30;

/// `conversation_id, seq, created_at` of `messages_by_id`.
type ByIdRow = (Option<String>, Option<i64>, Option<CqlTimestamp>);

struct Claim {
    message_id: String,
    conversation_id: String,
    new_conversation: bool,
}

impl Inner {
    pub(crate) async fn conversation_state(&self, id: &str) -> Result<Option<ConversationState>> {
        let r = self
            .st
            .conv_get
            .run(&self.session, (id.to_owned(),))
            .await
            .map_err(|e| exec_err("read conversation", e))?;
        Ok(first_row::<ConversationRow>(r)?.map(ConversationRow::into_state).transpose()?.flatten())
    }

    async fn read_claim(&self, patient_id: &str, client_msg_id: &str, serial: bool) -> Result<Option<Claim>> {
        let stmt = if serial { &self.st.claim_get_serial } else { &self.st.claim_get };
        let r = stmt
            .run(&self.session, (patient_id.to_owned(), client_msg_id.to_owned()))
            .await
            .map_err(|e| exec_err("read client_msg_id", e))?;
        Ok(first_row::<ClaimRow>(r)?.and_then(|c| {
            Some(Claim {
                message_id: c.message_id?,
                conversation_id: c.conversation_id?,
                new_conversation: c.new_conversation.unwrap_or(false),
            })
        }))
    }

    async fn by_id(&self, id: &str) -> Result<Option<(String, i64, i64)>> {
        let r = self
            .st
            .msg_by_id_get
            .run(&self.session, (id.to_owned(),))
            .await
            .map_err(|e| exec_err("read message", e))?;
        Ok(match first_row::<ByIdRow>(r)? {
            Some((Some(conv), Some(seq), created)) => Some((conv, seq, created.map_or(0, |t| t.0))),
            _ => None,
        })
    }

    pub(crate) async fn message(&self, id: &str) -> Result<Option<Message>> {
        let Some((conv, seq, _)) = self.by_id(id).await? else { return Ok(None) };
        let r = self
            .st
            .msg_get
            .run(&self.session, (conv, message_bucket(seq), seq))
            .await
            .map_err(|e| exec_err("read message", e))?;
        Ok(first_row::<MessageRow>(r)?.map(MessageRow::into_message).transpose()?.flatten())
    }

    /// Writes a message's rows: `messages` first, then `messages_by_id` (so an id that resolves
    /// always has its row). Idempotent: fixed values, and the write timestamp is the message's
    /// creation time, so a later `set_message_risk` always wins over a re-write.
    async fn write_message(&self, p: &PendingMessage) -> Result<()> {
        let m = &p.message;
        let created = ms(m.created_at);
        let Some(ttl) = plan::remaining_ttl(self.retention_ttl, created, ms(Utc::now())) else {
            return Ok(()); // already past retention
        };
        let write_ts = created.saturating_mul(1000);
        self.st
            .msg_insert
            .run(
                &self.session,
                (
                    m.conversation_id.clone(),
                    message_bucket(m.seq),
                    m.seq,
                    m.id.clone(),
                    p.patient_id.clone(),
                    unset(p.client_msg_id.clone()),
                    m.author.as_str().to_owned(),
                    m.text.clone(),
                    cql_ts(m.created_at),
                    unset(m.risk.as_ref().map(to_json)),
                    unset(m.finish.clone()),
                    unset(m.meta.as_ref().map(to_json)),
                    ttl,
                    write_ts,
                ),
            )
            .await
            .map_err(|e| exec_err("write message", e))?;
        self.st
            .msg_by_id_insert
            .run(&self.session, (m.id.clone(), m.conversation_id.clone(), m.seq, cql_ts(m.created_at), ttl, write_ts))
            .await
            .map_err(|e| exec_err("write message index", e))?;
        Ok(())
    }

    async fn ensure_written(&self, p: &PendingMessage) -> Result<()> {
        if self.by_id(&p.message.id).await?.is_some() {
            return Ok(());
        }
        self.write_message(p).await
    }

    /// Creates a conversation (idempotent on its id). Returns its state when this call created it.
    async fn create_conversation(&self, id: &str, patient_id: &str) -> Result<Option<ConversationState>> {
        let at = now();
        let r = self
            .st
            .conv_create
            .run(
                &self.session,
                (id.to_owned(), patient_id.to_owned(), cql_ts(at), cql_ts(at), 1_i64, self.retention_ttl),
            )
            .await;
        let created = cas_outcome("create conversation", r)?;
        // A conversation started while the AI is paused for the patient starts paused.
        let paused = matches!(created, Cas::Applied) && self.patient_paused(patient_id).await?;
        if paused {
            self.st
                .conv_set_paused
                .run(&self.session, (true, id.to_owned()))
                .await
                .map_err(|e| exec_err("pause new conversation", e))?;
        }
        self.st
            .conv_index_insert
            .run(&self.session, (patient_id.to_owned(), id.to_owned(), cql_ts(at)))
            .await
            .map_err(|e| exec_err("index conversation", e))?;
        Ok(match created {
            Cas::Applied => ConversationRow {
                id: id.to_owned(),
                patient_id: Some(patient_id.to_owned()),
                started_at: Some(cql_ts(at)),
                last_message_at: Some(cql_ts(at)),
                next_seq: Some(1),
                chat_paused: Some(paused),
                pending_id: None,
                pending_seq: None,
                pending: None,
            }
            .into_state()?,
            Cas::NotApplied | Cas::Unknown(_) => None,
        })
    }

    /// Writes a message's rows in the background until they exist (bounded), after an append
    /// whose seq CAS applied but whose row writes failed. Until then the message is served from
    /// the conversation row (`pending`), and the next append to the conversation writes them too.
    fn finish_rows_later(self: &Arc<Self>, p: PendingMessage) {
        let me = self.clone();
        tokio::spawn(async move {
            for attempt in 1..=ROW_RETRIES {
                tokio::time::sleep(Duration::from_millis((100_u64 << attempt.min(6)).min(5_000))).await;
                if me.fault(Fault::RowWrites) {
                    continue;
                }
                match me.ensure_written(&p).await {
                    Ok(()) => return,
                    Err(e) => tracing::debug!(error = %e, message = %p.message.id, "message rows still not written"),
                }
            }
            tracing::warn!(message = %p.message.id, "gave up writing a message's rows; the next append writes them");
        });
    }

    pub(crate) async fn append_message(
        self: &Arc<Self>,
        m: NewMessage,
        max_conversations: Option<u32>,
    ) -> Result<Appended> {
        // 1. Idempotency: an earlier attempt's claim names the message (and conversation).
        let earlier = match &m.client_msg_id {
            Some(cid) => self.read_claim(&m.patient_id, cid, false).await?,
            None => None,
        };
        let (claim, adopted) = match earlier {
            Some(c) => (c, true),
            None => {
                let (conversation_id, new_conversation) = match &m.conversation_id {
                    Some(id) => match self.conversation_state(id).await? {
                        Some(s) if s.conversation.patient_id == m.patient_id => (id.clone(), false),
                        _ => return Err(StoreError::NotFound),
                    },
                    None => {
                        // Counted before the conversation is created (no transaction spans the
                        // two), so two first messages at once on two nodes may both pass.
                        if let Some(max) = max_conversations {
                            let have = self.conversations_of(m.patient_id.clone()).await?.len();
                            if have >= max as usize {
                                return Err(StoreError::Limit(format!(
                                    "the patient already has {have} conversations (at most {max})"
                                )));
                            }
                        }
                        (uuid::Uuid::new_v4().to_string(), true)
                    }
                };
                let mine = Claim {
                    message_id: m.id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                    conversation_id,
                    new_conversation,
                };
                match &m.client_msg_id {
                    None => (mine, false),
                    Some(cid) => self.claim_client_id(&m.patient_id, cid, mine).await?,
                }
            }
        };
        let Claim { message_id, conversation_id, new_conversation } = claim;

        let mut known = None;
        if new_conversation && !adopted {
            known = self.create_conversation(&conversation_id, &m.patient_id).await?;
        }
        // Journaled before its seq exists, so a stored patient message is always in the journal
        // the re-screen sweep reads (screening.rs); a retry journals again (de-duplicated there).
        if m.author == Author::Patient && m.risk.is_none() {
            self.journal(&message_id, &conversation_id, &m.patient_id).await?;
        }
        // Someone else may know this message id: a concurrent duplicate that adopted our claim,
        // or a caller reusing an id. Then check before each CAS whether it already has a seq.
        let shared_id = adopted || m.client_msg_id.is_some() || m.id.is_some();
        let found = |message: Message, uncertain: bool| -> Result<Appended> {
            if adopted || (m.client_msg_id.is_some() && !uncertain) {
                Ok(Appended { message, duplicate: true, new_conversation: false })
            } else if uncertain {
                // Our own CAS whose answer was lost.
                Ok(Appended { message, duplicate: false, new_conversation })
            } else {
                Err(StoreError::Conflict("message id already used".into()))
            }
        };

        let started = Instant::now();
        let mut uncertain = false;
        // Once this call may have taken a seq (a CAS whose answer was lost), failing would turn
        // the client's retry into a `duplicate` that is never screened nor answered: transient
        // read failures are retried within the budget instead.
        let mut last_error: Option<StoreError> = None;
        let mut attempt = 0_u32;
        loop {
            if attempt > 0 {
                if started.elapsed() > APPEND_BUDGET {
                    return Err(last_error.take().unwrap_or_else(|| {
                        StoreError::Unavailable(format!(
                            "conversation {conversation_id} is too busy: no seq after {attempt} attempts"
                        ))
                    }));
                }
                tokio::time::sleep(plan::backoff(attempt, jitter())).await;
            }
            attempt += 1;
            macro_rules! retry_if_uncertain {
                ($e:expr) => {
                    match $e {
                        Ok(v) => v,
                        Err(e @ StoreError::Unavailable(_)) if uncertain => {
                            tracing::debug!(error = %e, %conversation_id, "re-reading after an unknown seq CAS failed; retrying");
                            last_error = Some(e);
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                };
            }
            let state = match known.take() {
                Some(s) => Some(s),
                None => retry_if_uncertain!(self.conversation_state(&conversation_id).await),
            };
            let state = match state {
                Some(s) if s.conversation.patient_id == m.patient_id => s,
                Some(_) => return Err(StoreError::NotFound),
                None if new_conversation => {
                    // The attempt that claimed this message died before creating its conversation.
                    known = self.create_conversation(&conversation_id, &m.patient_id).await?;
                    continue;
                }
                None => return Err(StoreError::NotFound),
            };
            // 2. Does this message already hold a seq? Then it is durable (in the conversation
            // row): its rows are written here or later, and the append has succeeded.
            if let Some(p) = &state.pending
                && p.message.id == message_id
            {
                if let Err(e) = self.ensure_written(p).await {
                    tracing::warn!(error = %e, message = %message_id, "message stored, its rows not yet; retrying them later");
                    self.finish_rows_later(p.clone());
                }
                return found(p.message.clone(), uncertain);
            }
            if (shared_id || uncertain)
                && let Some(existing) = retry_if_uncertain!(self.message(&message_id).await)
            {
                return found(existing, uncertain);
            }
            // 3. The message holding the latest seq must have its rows before we supersede it.
            if let Some(p) = &state.pending {
                retry_if_uncertain!(self.ensure_written(p).await);
            }
            let seq = state.next_seq;
            let record = PendingMessage {
                message: Message {
                    id: message_id.clone(),
                    conversation_id: conversation_id.clone(),
                    seq,
                    author: m.author,
                    text: m.text.clone(),
                    created_at: now(),
                    risk: m.risk.clone(),
                    finish: m.finish.clone(),
                    meta: m.meta.clone(),
                },
                patient_id: m.patient_id.clone(),
                client_msg_id: m.client_msg_id.clone(),
            };
            let r = self
                .st
                .conv_take_seq
                .run(
                    &self.session,
                    (
                        self.retention_ttl,
                        seq + 1,
                        cql_ts(record.message.created_at),
                        m.patient_id.clone(),
                        cql_ts(state.conversation.summary.started_at),
                        message_id.clone(),
                        seq,
                        to_json(&record),
                        conversation_id.clone(),
                        seq,
                    ),
                )
                .await;
            match retry_if_uncertain!(cas_outcome("take seq", r)) {
                Cas::Applied => {
                    // The message is durable and has its seq: the append has succeeded whatever
                    // happens to the row writes below (see `finish_rows_later`).
                    let written =
                        if self.fault(Fault::RowWrites) { Err(injected()) } else { self.write_message(&record).await };
                    if let Err(e) = written {
                        tracing::warn!(error = %e, message = %message_id, "message stored, its rows not yet; retrying them later");
                        self.finish_rows_later(record.clone());
                    }
                    return Ok(Appended { message: record.message, duplicate: false, new_conversation });
                }
                Cas::NotApplied => {}
                Cas::Unknown(e) => {
                    tracing::debug!(error = %e, %conversation_id, "seq CAS outcome unknown; re-reading");
                    last_error = Some(e);
                    uncertain = true;
                }
            }
        }
    }

    /// Claims `(patient, client_msg_id)` for `mine`; returns the claim that holds (ours, or the
    /// one a concurrent attempt made first) and whether it was someone else's.
    async fn claim_client_id(&self, patient_id: &str, client_msg_id: &str, mine: Claim) -> Result<(Claim, bool)> {
        let r = self
            .st
            .claim_insert
            .run(
                &self.session,
                (
                    patient_id.to_owned(),
                    client_msg_id.to_owned(),
                    mine.message_id.clone(),
                    mine.conversation_id.clone(),
                    mine.new_conversation,
                    cql_ts(now()),
                    self.retention_ttl,
                ),
            )
            .await;
        let err = match cas_outcome("claim client_msg_id", r)? {
            Cas::Applied => return Ok((mine, false)),
            Cas::NotApplied => StoreError::Unavailable("client_msg_id claim vanished".into()),
            Cas::Unknown(e) => e,
        };
        match self.read_claim(patient_id, client_msg_id, true).await? {
            Some(c) if c.message_id == mine.message_id => Ok((mine, false)),
            Some(c) => Ok((c, true)),
            None => Err(err),
        }
    }

    pub(crate) async fn conversations_of(&self, patient_id: String) -> Result<Vec<ConversationSummary>> {
        let r = self
            .st
            .conv_index_list
            .run(&self.session, (patient_id.clone(),))
            .await
            .map_err(|e| exec_err("list conversations", e))?;
        let index: Vec<(String, Option<CqlTimestamp>)> = all_rows(r)?;
        let states = try_join_all(index.iter().map(|(id, _)| self.conversation_state(id))).await?;
        let now_ms = ms(Utc::now());
        let mut out = Vec::new();
        for ((id, started), state) in index.into_iter().zip(states) {
            match state {
                Some(s) if s.conversation.patient_id == patient_id => out.push(s.conversation.summary),
                Some(_) => {}
                None => {
                    // Expired by retention: drop the index row, but only once the conversation
                    // is surely past retention (never one being created right now).
                    let old = started.is_some_and(|t| {
                        plan::remaining_ttl(self.retention_ttl, t.0, now_ms).is_none() && self.retention_ttl > 0
                    });
                    if old {
                        let _ = self.st.conv_index_delete.run(&self.session, (patient_id.clone(), id)).await;
                    }
                }
            }
        }
        out.sort_by(|a, b| b.last_message_at.cmp(&a.last_message_at).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    pub(crate) async fn messages(
        &self,
        conversation_id: String,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let Some(state) = self.conversation_state(&conversation_id).await? else { return Ok(Vec::new()) };
        let latest = state.next_seq - 1;
        let mut plan = HistoryPlan::new(latest, before_seq, limit);
        let mut out: Vec<Message> = Vec::new();
        while let Some(read) = plan.next_read() {
            let r = self
                .st
                .msg_page
                .run(
                    &self.session,
                    (conversation_id.clone(), read.bucket, read.max_seq, i32::try_from(read.limit).unwrap_or(i32::MAX)),
                )
                .await
                .map_err(|e| exec_err("read history", e))?;
            let rows: Vec<MessageRow> = all_rows(r)?;
            let mut page = Vec::with_capacity(rows.len());
            for row in rows {
                if let Some(msg) = row.into_message()? {
                    page.push(msg);
                }
            }
            plan.record(&read, page.len());
            out.extend(page);
        }
        // The message holding the latest seq is durable in the conversation row even while its
        // own rows are still being written: include it.
        if let Some(p) = state.pending {
            let top = before_seq.map_or(latest, |b| b.saturating_sub(1).min(latest));
            let seq = p.message.seq;
            let wanted = seq <= top
                && !out.iter().any(|m| m.seq == seq)
                && (out.len() < limit as usize || out.last().is_some_and(|m| m.seq < seq));
            if wanted && limit > 0 {
                out.push(p.message);
                out.sort_by_key(|m| std::cmp::Reverse(m.seq));
                out.truncate(limit as usize);
            }
        }
        out.reverse();
        Ok(out)
    }

    pub(crate) async fn set_message_risk(&self, id: String, risk: Risk) -> Result<()> {
        let Some((conv, seq, created)) = self.by_id(&id).await? else { return Err(StoreError::NotFound) };
        let now_ms = ms(Utc::now());
        let Some(ttl) = plan::remaining_ttl(self.retention_ttl, created, now_ms) else {
            return Err(StoreError::NotFound);
        };
        // Later than the message's own (fixed) write timestamp even with a skewed clock.
        let write_ts = now_ms.saturating_mul(1000).max(created.saturating_mul(1000) + 1);
        self.st
            .msg_set_risk
            .run(&self.session, (ttl, write_ts, to_json(&risk), conv, message_bucket(seq), seq))
            .await
            .map_err(|e| exec_err("set message risk", e))?;
        Ok(())
    }

    pub(crate) async fn set_chat_paused(&self, id: String, paused: bool) -> Result<()> {
        if self.conversation_state(&id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        self.st.conv_set_paused.run(&self.session, (paused, id)).await.map_err(|e| exec_err("pause chat", e))?;
        Ok(())
    }
}
