//! The audit log: append-only (the code only INSERTs; see `docs/scylla.md` for locking the
//! tables down with permissions). Each entry is first linked into the hash chain (`audit_chain`,
//! see [`crate::audit_chain`]): `INSERT ... IF NOT EXISTS` on the next `seq`, so one writer wins
//! each position whatever the number of nodes, and within a node appends queue on one lock (no
//! self-contention). Then it goes to its day partition, its target partition and the day list in
//! one logged batch (the newest-first lists).

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::Utc;
use healing_protocol::Role;

use scylla::response::{PagingState, PagingStateResponse};
use scylla::value::CqlTimestamp;

use super::plan::audit_day;
use super::rows::{AuditRow, cql_ts, ts, unset};
use super::{Cas, Inner, all_rows, cas_outcome, exec_err, first_row};
use crate::audit_chain;
use crate::error::{Result, StoreError};
use crate::store::{AuditEntry, ChainQuery, ChainedEntry};

/// The chain's partition (one chain; see docs/scylla.md "Audit chain").
const CHAIN_SHARD: i32 = 0;
/// Positions tried before an append gives up (each lost one means another node appended).
const CHAIN_ROUNDS: usize = 64;

/// This node's view of the chain's head (`seq`, `hash`), behind the lock every append takes.
pub(crate) type ChainHead = tokio::sync::Mutex<Option<(i64, String)>>;

type ChainRow = (
    i64,
    Option<CqlTimestamp>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Days listed when reading the whole log (each day is one partition read).
const DAYS_SCAN: i32 = 1000;

static LAST_ORD: AtomicI64 = AtomicI64::new(0);

/// Insertion ordinal: microseconds since the epoch, strictly increasing within this process, so
/// entries written in quick succession keep their order (the log is read newest first).
pub(crate) fn next_ord() -> i64 {
    let now = Utc::now().timestamp_micros();
    let mut last = LAST_ORD.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST_ORD.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

impl Inner {
    async fn chain_head(&self) -> Result<Option<(i64, String)>> {
        let r = self
            .st
            .audit_chain_head
            .run(&self.session, (CHAIN_SHARD,))
            .await
            .map_err(|e| exec_err("read audit chain head", e))?;
        Ok(first_row::<(i64, Option<String>)>(r)?.map(|(seq, h)| (seq, h.unwrap_or_default())))
    }

    /// Links `e` into the chain and answers it as stored.
    async fn chain_append(&self, e: &AuditEntry) -> Result<ChainedEntry> {
        let mut head = self.chain_head_cache.lock().await;
        if head.is_none() {
            *head = self.chain_head().await?;
        }
        for _ in 0..CHAIN_ROUNDS {
            let linked = audit_chain::link(head.as_ref().map(|(s, h)| (*s, h.as_str())), e.clone());
            let role = linked.entry.actor_role.map(|r| r.as_str().to_owned());
            let values = (
                CHAIN_SHARD,
                linked.seq,
                cql_ts(linked.entry.at),
                unset(linked.entry.actor_id.clone()),
                unset(role),
                linked.entry.action.clone(),
                linked.entry.target.clone(),
                unset(linked.entry.remote_addr.clone()),
                unset(linked.entry.detail.clone()),
                linked.prev_hash.clone(),
                linked.hash.clone(),
            );
            let r = self.st.audit_chain_append.run(&self.session, values).await;
            let mine = match cas_outcome("append audit chain", r)? {
                Cas::Applied => true,
                Cas::NotApplied => false,
                Cas::Unknown(err) => {
                    let r = self
                        .st
                        .audit_chain_hash
                        .run(&self.session, (CHAIN_SHARD, linked.seq))
                        .await
                        .map_err(|e| exec_err("read audit chain", e))?;
                    match first_row::<(Option<String>,)>(r)? {
                        Some((Some(h),)) => h == linked.hash,
                        _ => return Err(err),
                    }
                }
            };
            if mine {
                *head = Some((linked.seq, linked.hash.clone()));
                return Ok(linked);
            }
            // Another node took this position: start again from the real head.
            *head = self.chain_head().await?;
        }
        Err(StoreError::Unavailable("audit chain: every position tried was taken".into()))
    }

    pub(crate) async fn audit_chain(&self, q: ChainQuery) -> Result<Vec<ChainedEntry>> {
        let limit = q.limit.clamp(1, 10_000) as usize;
        let mut out = Vec::new();
        let mut state = PagingState::start();
        loop {
            let (res, more) = self
                .st
                .audit_chain_from
                .page(&self.session, (CHAIN_SHARD, q.after_seq), state)
                .await
                .map_err(|e| exec_err("read audit chain", e))?;
            for row in all_rows::<ChainRow>(res)? {
                let (seq, at, actor_id, role, action, target, remote_addr, detail, prev_hash, hash) = row;
                let entry = AuditEntry {
                    at: ts(at.ok_or_else(|| StoreError::Internal("audit_chain row without happened_at".into()))?),
                    actor_id,
                    actor_role: role.as_deref().and_then(Role::parse),
                    action: action.unwrap_or_default(),
                    target: target.unwrap_or_default(),
                    remote_addr,
                    detail,
                };
                if q.from.is_some_and(|f| entry.at < f) || q.to.is_some_and(|t| entry.at >= t) {
                    continue;
                }
                out.push(ChainedEntry {
                    seq,
                    entry,
                    prev_hash: prev_hash.unwrap_or_default(),
                    hash: hash.unwrap_or_default(),
                });
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            match more {
                PagingStateResponse::HasMorePages { state: s } => state = s,
                PagingStateResponse::NoMorePages => return Ok(out),
            }
        }
    }

    pub(crate) async fn audit(&self, e: AuditEntry) -> Result<()> {
        let e = self.chain_append(&e).await?.entry;
        let ord = next_ord();
        let day = audit_day(ord);
        let id = uuid::Uuid::new_v4().to_string();
        let role = e.actor_role.map(|r| Role::as_str(r).to_owned());
        let batch = self.logged_batch(&[
            &self.st.audit_by_day_insert.prepared,
            &self.st.audit_by_target_insert.prepared,
            &self.st.audit_day_insert.prepared,
        ]);
        let values = (
            (
                day,
                ord,
                id.clone(),
                cql_ts(e.at),
                unset(e.actor_id.clone()),
                unset(role.clone()),
                e.action.clone(),
                e.target.clone(),
                unset(e.remote_addr.clone()),
                unset(e.detail.clone()),
            ),
            (
                e.target,
                ord,
                id,
                cql_ts(e.at),
                unset(e.actor_id),
                unset(role),
                e.action,
                unset(e.remote_addr),
                unset(e.detail),
            ),
            (day,),
        );
        // The chain holds the entry now; these rows only serve the newest-first lists, so a failure
        // here is logged rather than answered (a retry would append the entry to the chain twice).
        if let Err(err) = self.session.batch(&batch, values).await {
            tracing::warn!(error = %exec_err("append audit entry", err), "audit list rows not written; the chain has the entry");
        }
        Ok(())
    }

    pub(crate) async fn audit_log(&self, target: Option<String>, limit: u32) -> Result<Vec<AuditEntry>> {
        let limit = limit.clamp(1, 10_000);
        let lim = i32::try_from(limit).unwrap_or(i32::MAX);
        if let Some(t) = target {
            let r = self
                .st
                .audit_by_target_list
                .run(&self.session, (t, lim))
                .await
                .map_err(|e| exec_err("read audit log", e))?;
            return all_rows::<AuditRow>(r)?.into_iter().map(AuditRow::into_entry).collect();
        }
        let r = self
            .st
            .audit_days_list
            .run(&self.session, (DAYS_SCAN,))
            .await
            .map_err(|e| exec_err("read audit days", e))?;
        let days: Vec<(i32,)> = all_rows(r)?;
        let mut out = Vec::new();
        for (day,) in days {
            let want = i32::try_from(limit as usize - out.len()).unwrap_or(i32::MAX);
            let r = self
                .st
                .audit_by_day_list
                .run(&self.session, (day, want))
                .await
                .map_err(|e| exec_err("read audit log", e))?;
            for row in all_rows::<AuditRow>(r)? {
                out.push(row.into_entry()?);
            }
            if out.len() >= limit as usize {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_strictly_increase_under_threads() {
        let handles: Vec<_> =
            (0..4).map(|_| std::thread::spawn(|| (0..1000).map(|_| next_ord()).collect::<Vec<_>>())).collect();
        let mut all: Vec<i64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate ordinals");
        let a = next_ord();
        let b = next_ord();
        assert!(b > a);
        assert!((a - Utc::now().timestamp_micros()).abs() < 60_000_000, "ordinal is not wall-clock micros");
    }
}
