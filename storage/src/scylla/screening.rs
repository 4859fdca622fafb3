//! The screening journal: finding patient messages that were stored but never screened (a node
//! stopped between acknowledging and screening them; hazard H13 in docs/clinical-safety.md).
//!
//! "Risk is unset" cannot be asked of the message tables without a scan, and a queue with one
//! delete per screened message would fill with tombstones at chat rates. So every patient
//! message is *journaled* before its seq is taken — one insert-only, TTL'd row in
//! `screening_journal`, partitioned by minute and a shard of the message id — and the sweep reads
//! the journal of a time window and point-reads each message, keeping those still unscreened.
//!
//! Each store keeps a mark: journal rows before it have been seen screened (or were never
//! stored). A sweep reads from the mark (less [`MARGIN`], for clock skew between nodes) to its
//! cut-off, and moves the mark up to the oldest row it must look at again: an unscreened message
//! (the caller re-screens it; if that fails it is listed again) or one whose append may still be
//! under way. The first sweep after start reads [`HORIZON`] back, and the window never reaches
//! further, so one message that can never be screened cannot make every sweep read more.

use std::collections::HashMap;

use chrono::Utc;
use futures_util::future::try_join_all;
use healing_protocol::{Author, Message, Timestamp};
use scylla::response::{PagingState, PagingStateResponse};
use scylla::value::CqlTimestamp;

use super::rows::{cql_ts, ms, now, ts};
use super::{Inner, all_rows, exec_err};
use crate::error::Result;
use crate::store::Unscreened;

/// Journal partitions per minute.
pub const SHARDS: i32 = 4;
/// How long journal rows live (the table's default TTL too).
pub const TTL_SECS: i32 = 2 * 24 * 3600;
/// How far back the first sweep of a store reads, and the widest window of any sweep.
pub const HORIZON_MS: i64 = 2 * 3600 * 1000;
/// Re-read before the mark, for rows journaled by a node whose clock is behind.
pub const MARGIN_MS: i64 = 30 * 1000;
/// A journaled message not yet found may still be being appended (an append retries a contended
/// seq for up to 30 s): the mark waits for it this long.
const APPEND_GRACE_MS: i64 = 60 * 1000;
/// Concurrent reads.
const FAN_OUT: usize = 32;

/// The journal partition of a message journaled at `at_ms`.
pub fn partition(at_ms: i64, message_id: &str) -> (i32, i32) {
    let minute = i32::try_from(at_ms.div_euclid(60_000)).unwrap_or(i32::MAX);
    let h = message_id.bytes().fold(0_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    (minute, i32::try_from(h % SHARDS.unsigned_abs()).unwrap_or(0))
}

/// The window a sweep reads: `[start, end)` in ms, or `None` when it is empty.
pub fn window(mark: Option<i64>, end_ms: i64) -> Option<(i64, i64)> {
    let floor = end_ms - HORIZON_MS;
    let start = mark.map_or(floor, |m| (m - MARGIN_MS).max(floor));
    (start < end_ms).then_some((start, end_ms))
}

/// A row of `journal_window`.
type JournalRow = (CqlTimestamp, String, Option<String>, Option<String>);

impl Inner {
    /// Journals a patient message about to be appended (idempotent enough: a second row for
    /// the same message is de-duplicated by the sweep).
    pub(crate) async fn journal(&self, message_id: &str, conversation_id: &str, patient_id: &str) -> Result<()> {
        let at = now();
        let (minute, shard) = partition(ms(at), message_id);
        self.st
            .journal_insert
            .run(
                &self.session,
                (
                    minute,
                    shard,
                    cql_ts(at),
                    message_id.to_owned(),
                    conversation_id.to_owned(),
                    patient_id.to_owned(),
                    TTL_SECS,
                ),
            )
            .await
            .map_err(|e| exec_err("journal message for screening", e))?;
        Ok(())
    }

    async fn journal_partition(&self, minute: i32, shard: i32, start: i64, end: i64) -> Result<Vec<JournalRow>> {
        let mut out = Vec::new();
        let mut state = PagingState::start();
        loop {
            let (res, more) = self
                .st
                .journal_window
                .page(&self.session, (minute, shard, CqlTimestamp(start), CqlTimestamp(end)), state)
                .await
                .map_err(|e| exec_err("read screening journal", e))?;
            out.extend(all_rows::<JournalRow>(res)?);
            match more {
                PagingStateResponse::HasMorePages { state: next } => state = next,
                PagingStateResponse::NoMorePages => return Ok(out),
            }
        }
    }

    /// The message as stored: its rows, or the conversation's pending record while they are
    /// still being written.
    async fn stored_message(&self, id: &str, conversation_id: &str) -> Result<Option<Message>> {
        if let Some(m) = self.message(id).await? {
            return Ok(Some(m));
        }
        let state = self.conversation_state(conversation_id).await?;
        Ok(state.and_then(|s| s.pending).map(|p| p.message).filter(|m| m.id == id))
    }

    pub(crate) async fn unscreened_messages(&self, created_before: Timestamp, limit: u32) -> Result<Vec<Unscreened>> {
        let end = ms(created_before);
        let Some((start, end)) = window(*self.journal_mark.lock(), end) else { return Ok(Vec::new()) };
        let mut reads = Vec::new();
        for minute in partition(start, "").0..=partition(end - 1, "").0 {
            for shard in 0..SHARDS {
                reads.push((minute, shard));
            }
        }
        let mut rows: Vec<JournalRow> = Vec::new();
        for chunk in reads.chunks(FAN_OUT) {
            let got = try_join_all(chunk.iter().map(|&(m, s)| self.journal_partition(m, s, start, end))).await?;
            rows.extend(got.into_iter().flatten());
        }
        // One entry per message, at its first journaling.
        let mut first: HashMap<String, JournalRow> = HashMap::new();
        for row in rows {
            match first.get(&row.1) {
                Some(seen) if seen.0.0 <= row.0.0 => {}
                _ => {
                    first.insert(row.1.clone(), row);
                }
            }
        }
        let mut rows: Vec<JournalRow> = first.into_values().collect();
        rows.sort_by(|a, b| a.0.0.cmp(&b.0.0).then_with(|| a.1.cmp(&b.1)));

        let now_ms = ms(Utc::now());
        let mut mark = end;
        let mut out = Vec::new();
        'rows: for chunk in rows.chunks(FAN_OUT) {
            let found = try_join_all(chunk.iter().map(|(_, id, conv, _)| async move {
                match conv {
                    Some(conv) => self.stored_message(id, conv).await,
                    None => Ok(None),
                }
            }))
            .await?;
            for ((at, _, _, patient), message) in chunk.iter().zip(found) {
                match message {
                    None if now_ms - at.0 < APPEND_GRACE_MS => mark = mark.min(at.0),
                    None => {} // its append gave up: there is no message
                    Some(m) if m.author == Author::Patient && m.risk.is_none() => {
                        mark = mark.min(at.0);
                        if m.created_at < created_before
                            && let Some(patient_id) = patient.clone()
                        {
                            if out.len() >= limit as usize {
                                break 'rows;
                            }
                            out.push(Unscreened { patient_id, message: m });
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        *self.journal_mark.lock() = Some(mark);
        out.sort_by(|a, b| {
            a.message.created_at.cmp(&b.message.created_at).then_with(|| a.message.id.cmp(&b.message.id))
        });
        tracing::debug!(found = out.len(), from = %ts(CqlTimestamp(start)), "screening journal swept");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_minutes_and_shards() {
        let (m, s) = partition(61_000, "abc");
        assert_eq!(m, 1);
        assert!((0..SHARDS).contains(&s));
        assert_eq!(partition(61_000, "abc"), partition(119_999, "abc"), "same minute, same shard");
        let shards: std::collections::BTreeSet<i32> =
            (0..100).map(|_| partition(0, &uuid::Uuid::new_v4().to_string()).1).collect();
        assert_eq!(shards.len(), SHARDS as usize, "ids spread over every shard");
    }

    #[test]
    fn windows_start_at_the_mark_less_the_margin_and_never_exceed_the_horizon() {
        let end = 10 * HORIZON_MS;
        assert_eq!(window(None, end), Some((end - HORIZON_MS, end)), "first sweep: the horizon");
        assert_eq!(window(Some(end - 60_000), end), Some((end - 60_000 - MARGIN_MS, end)));
        assert_eq!(window(Some(0), end), Some((end - HORIZON_MS, end)), "a stuck mark is bounded");
        assert_eq!(window(Some(end + MARGIN_MS), end), None, "a cut-off before the mark reads nothing");
    }
}
