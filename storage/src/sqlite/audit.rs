//! The append-only audit log (triggers in the schema refuse updates and deletes).

use healing_protocol::Role;
use rusqlite::{Connection, params};

use super::db_err;
use super::rows::{from_ms, ms};
use crate::error::Result;
use crate::store::AuditEntry;

pub fn append(c: &Connection, e: &AuditEntry) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO audit_log (at, actor_id, actor_role, action, target, remote_addr, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut st| {
        st.execute(params![
            ms(e.at),
            e.actor_id,
            e.actor_role.map(Role::as_str),
            e.action,
            e.target,
            e.remote_addr,
            e.detail
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

pub fn latest(c: &Connection, target: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
    let mut st = c
        .prepare_cached(
            "SELECT at, actor_id, actor_role, action, target, remote_addr, detail FROM audit_log
             WHERE ?1 IS NULL OR target = ?1 ORDER BY seq DESC LIMIT ?2",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map(params![target, limit.clamp(1, 10_000)], |r| {
            Ok(AuditEntry {
                at: from_ms(r.get(0)?),
                actor_id: r.get(1)?,
                actor_role: r.get::<_, Option<String>>(2)?.as_deref().and_then(Role::parse),
                action: r.get(3)?,
                target: r.get(4)?,
                remote_addr: r.get(5)?,
                detail: r.get(6)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}
