//! Crisis follow-ups (contract §4.7). Like alerts, every transition is a conditional update from
//! `pending`, so a follow-up is done or missed once, whichever node gets there first.

use healing_protocol::{EscalationReason, Followup, FollowupStatus, Timestamp};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::alerts::{after_cursor, escalation};
use super::db_err;
use super::rows::{from_ms, ms, word};
use crate::error::{Result, StoreError};
use crate::store::{FollowupQuery, Missed};

const COLS: &str = "f.id, f.patient_id, f.alert_id, f.due_at, f.status, f.done_by, f.done_at, f.note, f.created_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Followup> {
    Ok(Followup {
        id: r.get(0)?,
        patient_id: r.get(1)?,
        alert_id: r.get(2)?,
        due_at: from_ms(r.get(3)?),
        status: word(4, r.get(4)?, FollowupStatus::parse)?,
        done_by: r.get(5)?,
        done_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
        note: r.get(7)?,
        created_at: from_ms(r.get(8)?),
    })
}

pub fn followup(c: &Connection, id: &str) -> Result<Option<Followup>> {
    c.query_row(&format!("SELECT {COLS} FROM followups f WHERE f.id = ?1"), params![id], row).optional().map_err(db_err)
}

fn of_alert(c: &Connection, alert_id: &str) -> Result<Option<Followup>> {
    c.query_row(&format!("SELECT {COLS} FROM followups f WHERE f.alert_id = ?1"), params![alert_id], row)
        .optional()
        .map_err(db_err)
}

pub fn schedule(c: &Connection, f: &Followup) -> Result<(Followup, bool)> {
    let exists: bool = c
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM alerts WHERE id = ?1 AND patient_id = ?2)",
            params![f.alert_id, f.patient_id],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if !exists {
        return Err(StoreError::Invalid("a follow-up needs an alert of its patient".into()));
    }
    let n = c
        .execute(
            "INSERT INTO followups (id, patient_id, alert_id, due_at, status, created_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5) ON CONFLICT DO NOTHING",
            params![f.id, f.patient_id, f.alert_id, ms(f.due_at), ms(f.created_at)],
        )
        .map_err(db_err)?;
    let stored = of_alert(c, &f.alert_id)?
        .ok_or_else(|| StoreError::Conflict("follow-up id already used for another alert".into()))?;
    Ok((stored, n == 1))
}

pub fn followups(c: &Connection, q: &FollowupQuery) -> Result<Vec<Followup>> {
    let mut sql = format!("SELECT {COLS} FROM followups f WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(cl) = &q.clinician_id {
        args.push(cl.clone().into());
        sql += &format!(" AND f.patient_id IN (SELECT patient_id FROM caseloads WHERE clinician_id = ?{})", args.len());
    }
    if let Some(sup) = &q.supervisor_id {
        args.push(sup.clone().into());
        sql += &format!(
            " AND f.patient_id IN (SELECT cl.patient_id FROM caseloads cl JOIN teams t ON t.clinician_id = cl.clinician_id WHERE t.supervisor_id = ?{})",
            args.len()
        );
    }
    if let Some(p) = &q.patient_id {
        args.push(p.clone().into());
        sql += &format!(" AND f.patient_id = ?{}", args.len());
    }
    if let Some(s) = q.status {
        args.push(s.as_str().to_owned().into());
        sql += &format!(" AND f.status = ?{}", args.len());
    }
    if let Some(cursor) = &q.before {
        sql += &after_cursor("f", cursor, &mut args);
    }
    sql += &format!(" ORDER BY f.created_at DESC, f.id LIMIT {}", q.limit.clamp(1, 1000));
    let mut st = c.prepare_cached(&sql).map_err(db_err)?;
    let rows = st.query_map(rusqlite::params_from_iter(args.iter()), row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn complete(c: &Connection, id: &str, by: &str, note: Option<&str>, now: Timestamp) -> Result<Option<Followup>> {
    let n = c
        .execute(
            "UPDATE followups SET status = 'done', done_by = ?2, done_at = ?3, note = ?4
             WHERE id = ?1 AND status = 'pending'",
            params![id, by, ms(now), note],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Ok(None);
    }
    followup(c, id)
}

pub fn due(c: &Connection, now: Timestamp, limit: u32) -> Result<Vec<Followup>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {COLS} FROM followups f WHERE f.status = 'pending' AND f.due_at <= ?1 ORDER BY f.due_at LIMIT ?2"
        ))
        .map_err(db_err)?;
    let rows = st.query_map(params![ms(now), limit], row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn miss(c: &Connection, id: &str, escalation_id: &str, now: Timestamp) -> Result<Option<Missed>> {
    let n = c
        .execute(
            "UPDATE followups SET status = 'missed', escalation_id = ?2 WHERE id = ?1 AND status = 'pending'",
            params![id, escalation_id],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Ok(None);
    }
    c.execute(
        "INSERT INTO escalations (id, alert_id, patient_id, reason, status, created_at, followup_id)
         SELECT ?2, alert_id, patient_id, ?3, 'open', ?4, id FROM followups WHERE id = ?1",
        params![id, escalation_id, EscalationReason::FollowUpMissed.as_str(), ms(now)],
    )
    .map_err(db_err)?;
    let followup = followup(c, id)?.ok_or_else(|| StoreError::Internal("follow-up vanished".into()))?;
    let escalation =
        escalation(c, escalation_id)?.ok_or_else(|| StoreError::Internal("escalation vanished after insert".into()))?;
    Ok(Some(Missed { followup, escalation }))
}
