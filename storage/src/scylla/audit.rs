//! The audit log: append-only (the code only INSERTs; see `docs/scylla.md` for locking the
//! tables down with permissions). Each entry goes to its day partition, its target partition and
//! the day list in one logged batch.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::Utc;
use healing_protocol::Role;

use super::plan::audit_day;
use super::rows::{AuditRow, cql_ts, unset};
use super::{Inner, all_rows, exec_err};
use crate::error::Result;
use crate::store::AuditEntry;

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
    pub(crate) async fn audit(&self, e: AuditEntry) -> Result<()> {
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
        self.session.batch(&batch, values).await.map_err(|e| exec_err("append audit entry", e))?;
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
