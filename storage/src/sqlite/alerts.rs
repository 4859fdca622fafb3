//! Alerts and escalations. Every state change is a conditional update: it happens only from the
//! expected state, so a transition is applied once even when several nodes race for it.

use healing_protocol::{Alert, AlertStatus, Escalation, EscalationReason, EscalationStatus, RiskLevel, Timestamp};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::db_err;
use super::rows::{from_ms, json, ms, to_json, word};
use crate::error::{Result, StoreError};
use crate::store::{AlertQuery, EpisodeChange, EscalationQuery, PageCursor, Raised, Recorded, merge_evidence};

const ALERT_COLS: &str = "a.id, a.patient_id, u.display_name, a.conversation_id, a.message_id, a.level, a.score, \
     a.reasons, a.excerpt, a.status, a.created_at, a.ack_deadline, a.acknowledged_by, a.acknowledged_at, a.note, \
     a.updated_at, (SELECT json_group_array(am.message_id ORDER BY am.message_at, am.rowid) \
     FROM alert_messages am WHERE am.alert_id = a.id)";
const ALERT_FROM: &str = "alerts a JOIN users u ON u.id = a.patient_id";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alert> {
    alert_at(r, 0)
}

fn alert_at(r: &rusqlite::Row<'_>, o: usize) -> rusqlite::Result<Alert> {
    Ok(Alert {
        id: r.get(o)?,
        patient_id: r.get(o + 1)?,
        patient_name: r.get(o + 2)?,
        conversation_id: r.get(o + 3)?,
        message_id: r.get(o + 4)?,
        level: word(o + 5, r.get(o + 5)?, RiskLevel::parse)?,
        score: r.get::<_, f64>(o + 6)? as f32,
        reasons: json(o + 7, r.get(o + 7)?)?.unwrap_or_default(),
        excerpt: r.get(o + 8)?,
        status: word(o + 9, r.get(o + 9)?, AlertStatus::parse)?,
        created_at: from_ms(r.get(o + 10)?),
        ack_deadline: r.get::<_, Option<i64>>(o + 11)?.map(from_ms),
        acknowledged_by: r.get(o + 12)?,
        acknowledged_at: r.get::<_, Option<i64>>(o + 13)?.map(from_ms),
        note: r.get(o + 14)?,
        updated_at: Some(from_ms(r.get::<_, Option<i64>>(o + 15)?.unwrap_or(r.get(o + 10)?))),
        message_ids: {
            let ids: Vec<String> = json(o + 16, r.get(o + 16)?)?.unwrap_or_default();
            // Alerts raised before episodes (migration 0005) may hold no rows: their own message.
            if ids.is_empty() { vec![r.get(o + 4)?] } else { ids }
        },
    })
}

const ESC_COLS: &str = "e.id, e.reason, e.status, e.claimed_by, e.created_at, e.resolved_at, e.note";

fn escalation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Escalation> {
    Ok(Escalation {
        id: r.get(0)?,
        reason: word(1, r.get(1)?, EscalationReason::parse)?,
        status: word(2, r.get(2)?, EscalationStatus::parse)?,
        claimed_by: r.get(3)?,
        created_at: from_ms(r.get(4)?),
        resolved_at: r.get::<_, Option<i64>>(5)?.map(from_ms),
        note: r.get(6)?,
        alert: alert_at(r, 7)?,
    })
}

pub fn raise_alert(c: &Connection, a: &Alert) -> Result<Raised> {
    let inserted = insert_alert(c, a)?;
    if inserted == 1 {
        add_message(c, &a.id, &a.message_id, a.created_at)?;
    }
    let alert = alert(c, &a.id)?.ok_or_else(|| StoreError::Internal("alert vanished after insert".into()))?;
    Ok(Raised { alert, created: inserted == 1 })
}

fn insert_alert(c: &Connection, a: &Alert) -> Result<usize> {
    c.execute(
        "INSERT INTO alerts (id, patient_id, conversation_id, message_id, level, score, reasons, excerpt, status,
                             created_at, ack_deadline, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open', ?9, ?10, ?9)
         ON CONFLICT (id) DO NOTHING",
        params![
            a.id,
            a.patient_id,
            a.conversation_id,
            a.message_id,
            a.level.as_str(),
            f64::from(a.score),
            to_json(&a.reasons),
            a.excerpt,
            ms(a.created_at),
            a.ack_deadline.map(ms),
        ],
    )
    .map_err(db_err)
}

fn add_message(c: &Connection, alert_id: &str, message_id: &str, message_at: Timestamp) -> Result<()> {
    c.execute(
        "INSERT INTO alert_messages (message_id, alert_id, message_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (message_id) DO NOTHING",
        params![message_id, alert_id, ms(message_at)],
    )
    .map_err(db_err)?;
    Ok(())
}

/// Writes what [`merge_evidence`] changed, only while the alert is unacknowledged.
fn store_merged(c: &Connection, merged: &Alert, now: Timestamp) -> Result<bool> {
    let n = c
        .execute(
            "UPDATE alerts SET level = ?2, score = ?3, reasons = ?4, ack_deadline = ?5, updated_at = ?6
             WHERE id = ?1 AND status IN ('open', 'escalated')",
            params![
                merged.id,
                merged.level.as_str(),
                f64::from(merged.score),
                to_json(&merged.reasons),
                merged.ack_deadline.map(ms),
                ms(now)
            ],
        )
        .map_err(db_err)?;
    Ok(n == 1)
}

/// See [`crate::Store::record_risk`]. Runs inside one write transaction (the writer's savepoint),
/// and SQLite serialises writers (`BEGIN IMMEDIATE`, also across processes sharing the file), so
/// the read-then-write below is atomic.
pub fn record_risk(c: &Connection, ev: &Alert, message_at: Timestamp) -> Result<Recorded> {
    let now = ev.updated_at.unwrap_or(ev.created_at);
    let unchanged = |alert: Alert| Ok(Recorded { alert, change: EpisodeChange::Unchanged });
    let holder: Option<String> = c
        .query_row("SELECT alert_id FROM alert_messages WHERE message_id = ?1", params![ev.message_id], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    if let Some(holder) = holder {
        // Screened before: a higher grade (a second opinion) may still raise its episode.
        let held = alert(c, &holder)?.ok_or_else(|| StoreError::Internal("alert of a message vanished".into()))?;
        if !matches!(held.status, AlertStatus::Open | AlertStatus::Escalated) {
            return unchanged(held);
        }
        let Some(merged) = merge_evidence(&held, ev) else { return unchanged(held) };
        store_merged(c, &merged, now)?;
        let alert = alert(c, &holder)?.ok_or_else(|| StoreError::Internal("alert vanished after update".into()))?;
        return Ok(Recorded { alert, change: EpisodeChange::Updated { previous: held.level } });
    }
    let open: Option<String> = c
        .query_row(
            "SELECT id FROM alerts WHERE patient_id = ?1 AND status IN ('open', 'escalated')
             ORDER BY created_at DESC, id LIMIT 1",
            params![ev.patient_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    if let Some(open) = open {
        let episode = alert(c, &open)?.ok_or_else(|| StoreError::Internal("open alert vanished".into()))?;
        add_message(c, &open, &ev.message_id, message_at)?;
        let merged = merge_evidence(&episode, ev).unwrap_or_else(|| episode.clone());
        store_merged(c, &merged, now)?;
        let alert = alert(c, &open)?.ok_or_else(|| StoreError::Internal("alert vanished after update".into()))?;
        return Ok(Recorded { alert, change: EpisodeChange::Updated { previous: episode.level } });
    }
    let inserted = insert_alert(c, ev)?;
    add_message(c, &ev.id, &ev.message_id, message_at)?;
    let alert = alert(c, &ev.id)?.ok_or_else(|| StoreError::Internal("alert vanished after insert".into()))?;
    let change = if inserted == 1 { EpisodeChange::Raised } else { EpisodeChange::Unchanged };
    Ok(Recorded { alert, change })
}

pub fn set_patient_paused(c: &Connection, patient_id: &str, paused: bool, now: Timestamp) -> Result<Vec<String>> {
    if paused {
        c.execute(
            "INSERT INTO patient_pauses (patient_id, paused_at) VALUES (?1, ?2) ON CONFLICT (patient_id) DO NOTHING",
            params![patient_id, ms(now)],
        )
        .map_err(db_err)?;
    } else {
        c.execute("DELETE FROM patient_pauses WHERE patient_id = ?1", params![patient_id]).map_err(db_err)?;
    }
    let mut st = c
        .prepare_cached(
            "UPDATE conversations SET chat_paused = ?2 WHERE patient_id = ?1 AND chat_paused != ?2 RETURNING id",
        )
        .map_err(db_err)?;
    let rows = st.query_map(params![patient_id, paused], |r| r.get(0)).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<String>>>().map_err(db_err)
}

pub fn patient_paused(c: &Connection, patient_id: &str) -> Result<bool> {
    c.query_row("SELECT EXISTS (SELECT 1 FROM patient_pauses WHERE patient_id = ?1)", params![patient_id], |r| r.get(0))
        .map_err(db_err)
}

pub fn alert(c: &Connection, id: &str) -> Result<Option<Alert>> {
    c.query_row(&format!("SELECT {ALERT_COLS} FROM {ALERT_FROM} WHERE a.id = ?1"), params![id], alert_row)
        .optional()
        .map_err(db_err)
}

pub fn alerts(c: &Connection, q: &AlertQuery) -> Result<Vec<Alert>> {
    let mut sql = format!("SELECT {ALERT_COLS} FROM {ALERT_FROM} WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(cl) = &q.clinician_id {
        args.push(cl.clone().into());
        sql += &format!(" AND a.patient_id IN (SELECT patient_id FROM caseloads WHERE clinician_id = ?{})", args.len());
    }
    if let Some(sup) = &q.supervisor_id {
        args.push(sup.clone().into());
        sql += &format!(
            " AND a.patient_id IN (SELECT cl.patient_id FROM caseloads cl JOIN teams t ON t.clinician_id = cl.clinician_id WHERE t.supervisor_id = ?{})",
            args.len()
        );
    }
    if let Some(p) = &q.patient_id {
        args.push(p.clone().into());
        sql += &format!(" AND a.patient_id = ?{}", args.len());
    }
    if let Some(s) = q.status {
        args.push(s.as_str().to_owned().into());
        sql += &format!(" AND a.status = ?{}", args.len());
    }
    if q.unacknowledged {
        sql += " AND a.status IN ('open', 'escalated')";
    }
    if let Some(cursor) = &q.before {
        sql += &after_cursor("a", cursor, &mut args);
    }
    sql += &format!(" ORDER BY a.created_at DESC, a.id LIMIT {}", q.limit.clamp(1, 1000));
    let mut st = c.prepare_cached(&sql).map_err(db_err)?;
    let rows = st.query_map(rusqlite::params_from_iter(args.iter()), alert_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

/// `AND` the rows of table alias `t` that come after `cursor` in newest-first order.
pub(super) fn after_cursor(t: &str, cursor: &PageCursor, args: &mut Vec<Value>) -> String {
    args.push(ms(cursor.created_at).into());
    let at = args.len();
    args.push(cursor.id.clone().into());
    let id = args.len();
    format!(" AND ({t}.created_at < ?{at} OR ({t}.created_at = ?{at} AND {t}.id > ?{id}))")
}

pub fn ack_alert(c: &Connection, id: &str, by: &str, note: Option<&str>, now: Timestamp) -> Result<Option<Alert>> {
    let n = c
        .execute(
            "UPDATE alerts SET status = 'acknowledged', acknowledged_by = ?2, acknowledged_at = ?3, note = ?4
             WHERE id = ?1 AND status IN ('open', 'escalated')",
            params![id, by, ms(now), note],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Ok(None);
    }
    alert(c, id)
}

pub fn escalate_alert(
    c: &Connection,
    alert_id: &str,
    escalation_id: &str,
    reason: EscalationReason,
    now: Timestamp,
) -> Result<Option<Escalation>> {
    let n = c
        .execute("UPDATE alerts SET status = 'escalated' WHERE id = ?1 AND status = 'open'", params![alert_id])
        .map_err(db_err)?;
    if n == 0 {
        return Ok(None);
    }
    c.execute(
        "INSERT INTO escalations (id, alert_id, patient_id, reason, status, created_at)
         SELECT ?2, id, patient_id, ?3, 'open', ?4 FROM alerts WHERE id = ?1",
        params![alert_id, escalation_id, reason.as_str(), ms(now)],
    )
    .map_err(db_err)?;
    escalation(c, escalation_id)
}

pub fn due_alerts(c: &Connection, now: Timestamp, limit: u32) -> Result<Vec<Alert>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {ALERT_COLS} FROM {ALERT_FROM} WHERE a.status = 'open' AND a.ack_deadline IS NOT NULL
             AND a.ack_deadline <= ?1 ORDER BY a.ack_deadline LIMIT ?2"
        ))
        .map_err(db_err)?;
    let rows = st.query_map(params![ms(now), limit], alert_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

fn esc_select() -> String {
    format!(
        "SELECT {ESC_COLS}, {ALERT_COLS} FROM escalations e JOIN alerts a ON a.id = e.alert_id JOIN users u ON u.id = a.patient_id"
    )
}

pub fn escalation(c: &Connection, id: &str) -> Result<Option<Escalation>> {
    c.query_row(&format!("{} WHERE e.id = ?1", esc_select()), params![id], escalation_row).optional().map_err(db_err)
}

pub fn escalations(c: &Connection, q: &EscalationQuery) -> Result<Vec<Escalation>> {
    let mut sql = format!("{} WHERE 1 = 1", esc_select());
    let mut args: Vec<Value> = Vec::new();
    if let Some(sup) = &q.supervisor_id {
        args.push(sup.clone().into());
        let n = args.len();
        // The team's patients; and, for a supervisor on duty, every patient with no care team.
        sql += &format!(
            " AND (e.patient_id IN (SELECT cl.patient_id FROM caseloads cl JOIN teams t ON t.clinician_id = cl.clinician_id WHERE t.supervisor_id = ?{n})
               OR (EXISTS (SELECT 1 FROM duty_supervisors WHERE supervisor_id = ?{n})
                   AND e.patient_id NOT IN (SELECT cl.patient_id FROM caseloads cl JOIN teams t ON t.clinician_id = cl.clinician_id)))"
        );
    }
    if let Some(p) = &q.patient_id {
        args.push(p.clone().into());
        sql += &format!(" AND e.patient_id = ?{}", args.len());
    }
    if let Some(s) = q.status {
        args.push(s.as_str().to_owned().into());
        sql += &format!(" AND e.status = ?{}", args.len());
    }
    if q.unresolved {
        sql += " AND e.status IN ('open', 'claimed')";
    }
    if let Some(cursor) = &q.before {
        sql += &after_cursor("e", cursor, &mut args);
    }
    sql += &format!(" ORDER BY e.created_at DESC, e.id LIMIT {}", q.limit.clamp(1, 1000));
    let mut st = c.prepare_cached(&sql).map_err(db_err)?;
    let rows = st.query_map(rusqlite::params_from_iter(args.iter()), escalation_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn claim_escalation(c: &Connection, id: &str, by: &str, now: Timestamp) -> Result<Option<Escalation>> {
    let _ = now;
    let n = c
        .execute(
            "UPDATE escalations SET status = 'claimed', claimed_by = ?2 WHERE id = ?1 AND status = 'open'",
            params![id, by],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Ok(None);
    }
    escalation(c, id)
}

pub fn resolve_escalation(
    c: &Connection,
    id: &str,
    by: &str,
    note: &str,
    now: Timestamp,
) -> Result<Option<Escalation>> {
    let n = c
        .execute(
            "UPDATE escalations SET status = 'resolved', resolved_at = ?3, note = ?4,
                    claimed_by = COALESCE(claimed_by, ?2)
             WHERE id = ?1 AND status IN ('open', 'claimed')",
            params![id, by, ms(now), note],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Ok(None);
    }
    c.execute(
        "UPDATE alerts SET status = 'resolved' WHERE id = (SELECT alert_id FROM escalations WHERE id = ?1)",
        params![id],
    )
    .map_err(db_err)?;
    escalation(c, id)
}
