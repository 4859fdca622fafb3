//! The append-only, hash-chained audit log (triggers in the schema refuse updates and deletes;
//! the chain is in [`crate::audit_chain`]). Appends run on the writer connection inside its
//! transaction, which every process sharing the file takes in turn (`BEGIN IMMEDIATE`), so the
//! writer that appends is the only one reading the chain's head: one order, no forks.

use healing_protocol::Role;
use rusqlite::{Connection, OptionalExtension, params};

use super::db_err;
use super::rows::{from_ms, ms};
use crate::audit_chain;
use crate::error::Result;
use crate::store::{AuditEntry, ChainQuery, ChainedEntry};

fn head(c: &Connection) -> Result<Option<(i64, String)>> {
    c.prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .and_then(|mut st| st.query_row([], |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?))).optional())
        .map_err(db_err)
        .map(|row| row.map(|(seq, hash)| (seq, hash.unwrap_or_default())))
}

pub fn append(c: &Connection, e: &AuditEntry) -> Result<()> {
    let prev = head(c)?;
    let linked = audit_chain::link(prev.as_ref().map(|(s, h)| (*s, h.as_str())), e.clone());
    insert(c, &linked)
}

fn insert(c: &Connection, l: &ChainedEntry) -> Result<()> {
    let e = &l.entry;
    c.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor_id, actor_role, action, target, remote_addr, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut st| {
        st.execute(params![
            l.seq,
            ms(e.at),
            e.actor_id,
            e.actor_role.map(Role::as_str),
            e.action,
            e.target,
            e.remote_addr,
            e.detail,
            l.prev_hash,
            l.hash
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        at: from_ms(r.get(0)?),
        actor_id: r.get(1)?,
        actor_role: r.get::<_, Option<String>>(2)?.as_deref().and_then(Role::parse),
        action: r.get(3)?,
        target: r.get(4)?,
        remote_addr: r.get(5)?,
        detail: r.get(6)?,
    })
}

pub fn latest(c: &Connection, target: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
    let mut st = c
        .prepare_cached(
            "SELECT at, actor_id, actor_role, action, target, remote_addr, detail FROM audit_log
             WHERE ?1 IS NULL OR target = ?1 ORDER BY seq DESC LIMIT ?2",
        )
        .map_err(db_err)?;
    let rows = st.query_map(params![target, limit.clamp(1, 10_000)], entry_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn chain(c: &Connection, q: &ChainQuery) -> Result<Vec<ChainedEntry>> {
    let mut st = c
        .prepare_cached(
            "SELECT at, actor_id, actor_role, action, target, remote_addr, detail, seq, prev_hash, hash
             FROM audit_log WHERE seq > ?1 AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR at < ?3)
             ORDER BY seq LIMIT ?4",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map(params![q.after_seq, q.from.map(ms), q.to.map(ms), q.limit.clamp(1, 10_000)], |r| {
            Ok(ChainedEntry {
                entry: entry_row(r)?,
                seq: r.get(7)?,
                prev_hash: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                hash: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
            })
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

/// Migration 7: entries written before the chain existed are linked into it, in `seq` order
/// (renumbered 1, 2, 3 ... as the chain has no gaps). Runs inside the migration's transaction,
/// lifting the append-only triggers only for its duration.
pub fn seal_legacy(c: &Connection) -> Result<()> {
    let legacy: Vec<(i64, AuditEntry)> = {
        let mut st = c
            .prepare(
                "SELECT at, actor_id, actor_role, action, target, remote_addr, detail, seq FROM audit_log ORDER BY seq",
            )
            .map_err(db_err)?;
        let rows = st.query_map([], |r| Ok((r.get(7)?, entry_row(r)?))).map_err(db_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?
    };
    if legacy.is_empty() {
        return Ok(());
    }
    c.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log;")
        .map_err(db_err)?;
    let mut prev: Option<ChainedEntry> = None;
    for (_, e) in legacy {
        let linked = audit_chain::link(prev.as_ref().map(|p| (p.seq, p.hash.as_str())), e);
        insert(c, &linked)?;
        prev = Some(linked);
    }
    c.execute_batch(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
         CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
    )
    .map_err(db_err)?;
    tracing::info!("sealed the audit log written before the hash chain into it");
    Ok(())
}
