//! Data rights (contract §4.9) on SQLite: disabled accounts, erasure deadlines, erasure and
//! retention purges. Every connection runs with `secure_delete` on (see `configure`), so deleted
//! text is overwritten in the file; [`super::SqliteStore::erase_patient`] then truncates the WAL.

use healing_protocol::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::db_err;
use super::rows::{from_ms, ms, word};
use crate::error::{Result, StoreError};
use crate::store::{Erased, Erasure, ErasureStatus};

const ERASURE_COLS: &str = "id, patient_id, status, requested_by, requested_at, erase_at";

fn erasure_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Erasure> {
    Ok(Erasure {
        id: r.get(0)?,
        patient_id: r.get(1)?,
        status: word(2, r.get(2)?, ErasureStatus::parse)?,
        requested_by: r.get(3)?,
        requested_at: from_ms(r.get(4)?),
        erase_at: from_ms(r.get(5)?),
    })
}

pub fn erasure(c: &Connection, patient_id: &str) -> Result<Option<Erasure>> {
    c.query_row(&format!("SELECT {ERASURE_COLS} FROM erasures WHERE patient_id = ?1"), params![patient_id], erasure_row)
        .optional()
        .map_err(db_err)
}

pub fn schedule_erasure(c: &Connection, e: &Erasure) -> Result<Erasure> {
    let role: Option<String> = c
        .query_row("SELECT role FROM users WHERE id = ?1", params![e.patient_id], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    if role.as_deref() != Some("patient") {
        return Err(StoreError::NotFound);
    }
    match erasure(c, &e.patient_id)? {
        Some(existing) if existing.status == ErasureStatus::Scheduled => {
            return Err(StoreError::Conflict("an erasure is already scheduled".into()));
        }
        Some(existing) if existing.status == ErasureStatus::Erased => return Err(StoreError::NotFound),
        _ => {}
    }
    c.execute(
        "INSERT INTO erasures (patient_id, id, status, requested_by, requested_at, erase_at, done_at)
         VALUES (?1, ?2, 'scheduled', ?3, ?4, ?5, NULL)
         ON CONFLICT (patient_id) DO UPDATE SET id = excluded.id, status = 'scheduled',
           requested_by = excluded.requested_by, requested_at = excluded.requested_at,
           erase_at = excluded.erase_at, done_at = NULL",
        params![e.patient_id, e.id, e.requested_by, ms(e.requested_at), ms(e.erase_at)],
    )
    .map_err(db_err)?;
    super::accounts::set_user_disabled(c, &e.patient_id, true, e.requested_at)?;
    Ok(Erasure { status: ErasureStatus::Scheduled, ..e.clone() })
}

pub fn cancel_erasure(c: &Connection, patient_id: &str) -> Result<Option<Erasure>> {
    let n = c
        .execute(
            "UPDATE erasures SET status = 'cancelled' WHERE patient_id = ?1 AND status = 'scheduled'",
            params![patient_id],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Ok(None);
    }
    c.execute("UPDATE users SET disabled = 0 WHERE id = ?1", params![patient_id]).map_err(db_err)?;
    erasure(c, patient_id)
}

pub fn due_erasures(c: &Connection, now: Timestamp, limit: u32) -> Result<Vec<Erasure>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {ERASURE_COLS} FROM erasures WHERE status = 'scheduled' AND erase_at <= ?1 ORDER BY erase_at LIMIT ?2"
        ))
        .map_err(db_err)?;
    let rows = st.query_map(params![ms(now), limit.clamp(1, 10_000)], erasure_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

/// Everything in one transaction: either the patient is erased and the erasure marked done, or
/// nothing changed.
pub fn erase_patient(c: &Connection, patient_id: &str, now: Timestamp) -> Result<Option<Erased>> {
    let marked = c
        .execute(
            "UPDATE erasures SET status = 'erased', done_at = ?2 WHERE patient_id = ?1 AND status = 'scheduled'",
            params![patient_id, ms(now)],
        )
        .map_err(db_err)?;
    if marked == 0 {
        return Ok(None);
    }
    let p = params![patient_id];
    let exec = |sql: &str| c.execute(sql, p).map(|n| n as u64).map_err(db_err);
    exec("DELETE FROM alert_messages WHERE alert_id IN (SELECT id FROM alerts WHERE patient_id = ?1)")?;
    let messages =
        exec("DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE patient_id = ?1)")?;
    let conversations = exec("DELETE FROM conversations WHERE patient_id = ?1")?;
    // Reasons quote the patient's words: keep only what they name.
    let quoted: Vec<(String, String)> = {
        let mut st = c.prepare("SELECT id, reasons FROM alerts WHERE patient_id = ?1").map_err(db_err)?;
        let rows = st.query_map(p, |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)?
    };
    for (id, reasons) in quoted {
        let reasons: Vec<String> = serde_json::from_str(&reasons).unwrap_or_default();
        let stripped: Vec<String> = reasons.iter().map(|r| crate::store::reason_without_quote(r)).collect();
        c.execute("UPDATE alerts SET reasons = ?2 WHERE id = ?1", params![id, super::rows::to_json(&stripped)])
            .map_err(db_err)?;
    }
    let alerts = exec(
        "UPDATE alerts SET excerpt = '', note = NULL,
           status = CASE WHEN status IN ('open', 'escalated') THEN 'resolved' ELSE status END
         WHERE patient_id = ?1",
    )?;
    exec(
        "UPDATE escalations SET note = NULL,
           status = CASE WHEN status IN ('open', 'claimed') THEN 'resolved' ELSE status END,
           resolved_at = COALESCE(resolved_at, (SELECT done_at FROM erasures WHERE patient_id = ?1))
         WHERE patient_id = ?1",
    )?;
    exec("DELETE FROM caseloads WHERE patient_id = ?1")?;
    exec("DELETE FROM patient_pauses WHERE patient_id = ?1")?;
    exec("DELETE FROM tokens WHERE user_id = ?1")?;
    // The row stays (alerts and the audit log refer to it), without anything that was theirs.
    let tombstone = format!("erased-{patient_id}");
    c.execute(
        "UPDATE users SET username = ?2, username_key = ?3, username_skeleton = ?4, display_name = 'erased patient',
           password_hash = '', disabled = 1 WHERE id = ?1",
        params![
            patient_id,
            tombstone,
            crate::identity::username_key(&tombstone),
            crate::identity::username_skeleton(&tombstone)
        ],
    )
    .map_err(db_err)?;
    Ok(Some(Erased { messages, conversations, alerts }))
}

pub fn purge_messages_before(c: &Connection, before: Timestamp) -> Result<u64> {
    let b = ms(before);
    c.execute(
        "DELETE FROM alert_messages WHERE message_id IN (SELECT id FROM messages WHERE created_at < ?1)",
        params![b],
    )
    .map_err(db_err)?;
    let n = c.execute("DELETE FROM messages WHERE created_at < ?1", params![b]).map_err(db_err)?;
    c.execute(
        "DELETE FROM conversations WHERE last_message_at < ?1
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)",
        params![b],
    )
    .map_err(db_err)?;
    Ok(n as u64)
}
