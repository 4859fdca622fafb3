//! Versioned schema migrations. Each file in `migrations/sqlite/` is applied once, in order, in its
//! own transaction, and recorded in `schema_migrations`. Never edit an applied file: add a new one.

use rusqlite::Connection;

use crate::error::{Result, StoreError};

/// `(version, sql)` in ascending order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_unscreened_index.sql")),
    (3, include_str!("../../migrations/sqlite/0003_pending_indexes.sql")),
    (4, include_str!("../../migrations/sqlite/0004_duty_supervisors.sql")),
    (5, include_str!("../../migrations/sqlite/0005_risk_episodes.sql")),
    (6, include_str!("../../migrations/sqlite/0006_accounts.sql")),
    (7, include_str!("../../migrations/sqlite/0007_data_rights.sql")),
    (8, include_str!("../../migrations/sqlite/0008_followups.sql")),
];

/// The newest schema version this build knows.
pub const LATEST: i64 = 8;

pub fn apply(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(super::db_err)?;
    let current: i64 = conn
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))
        .map_err(super::db_err)?;
    if current > LATEST {
        return Err(StoreError::Unavailable(format!(
            "database schema version {current} is newer than this build ({LATEST}); refusing to start"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction().map_err(super::db_err)?;
        tx.execute_batch(sql).map_err(super::db_err)?;
        if *version == 7 {
            super::audit::seal_legacy(&tx)?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            rusqlite::params![version, chrono::Utc::now().timestamp_millis()],
        )
        .map_err(super::db_err)?;
        tx.commit().map_err(super::db_err)?;
        tracing::info!(version, "applied schema migration");
    }
    backfill_skeletons(conn)
}

/// Fills `username_skeleton` for accounts created before migration 6 (idempotent; cheap when
/// there are none).
fn backfill_skeletons(conn: &mut Connection) -> Result<()> {
    let rows: Vec<(String, String)> = {
        let mut st =
            conn.prepare("SELECT id, username FROM users WHERE username_skeleton IS NULL").map_err(super::db_err)?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(super::db_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(super::db_err)?
    };
    if rows.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction().map_err(super::db_err)?;
    for (id, username) in &rows {
        tx.execute(
            "UPDATE users SET username_skeleton = ?2 WHERE id = ?1",
            rusqlite::params![id, crate::identity::username_skeleton(username)],
        )
        .map_err(super::db_err)?;
    }
    tx.commit().map_err(super::db_err)?;
    tracing::info!(accounts = rows.len(), "filled username skeletons");
    Ok(())
}
