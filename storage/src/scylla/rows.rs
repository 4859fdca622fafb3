//! Typed rows and their conversion to records. Column names match the SELECTs in [`super::cql`]
//! (the derive matches by name); every non-key column is optional because CQL has no NOT NULL.

use chrono::{DateTime, TimeZone, Utc};
use healing_protocol::{
    Alert, AlertStatus, Author, ConversationSummary, Escalation, EscalationReason, EscalationStatus, Followup,
    FollowupStatus, Message, RiskLevel, Role, Timestamp, User,
};
use scylla::DeserializeRow;
use scylla::value::{CqlTimestamp, MaybeUnset};

use crate::error::{Result, StoreError};
use crate::store::{AuditEntry, Conversation};

pub fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> Timestamp {
    Utc.timestamp_millis_opt(ms).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn cql_ts(t: Timestamp) -> CqlTimestamp {
    CqlTimestamp(ms(t))
}

pub fn ts(t: CqlTimestamp) -> Timestamp {
    from_ms(t.0)
}

/// Now, at the millisecond precision the store keeps, so returned records equal re-read ones.
pub fn now() -> Timestamp {
    from_ms(ms(Utc::now()))
}

/// `None` → unset (writes no tombstone), `Some` → the value.
pub fn unset<T>(v: Option<T>) -> MaybeUnset<T> {
    match v {
        Some(v) => MaybeUnset::Set(v),
        None => MaybeUnset::Unset,
    }
}

fn req<T>(v: Option<T>, table: &str, col: &str) -> Result<T> {
    v.ok_or_else(|| StoreError::Internal(format!("{table}.{col} is null")))
}

fn word<T>(v: Option<String>, table: &str, col: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let s = req(v, table, col)?;
    parse(&s).ok_or_else(|| StoreError::Internal(format!("{table}.{col} holds unexpected value {s:?}")))
}

fn json<T: serde::de::DeserializeOwned>(v: Option<String>, table: &str, col: &str) -> Result<Option<T>> {
    v.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Internal(format!("{table}.{col}: bad JSON: {e}"))))
        .transpose()
}

pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

#[derive(Debug, Clone, DeserializeRow)]
pub struct UserRow {
    pub id: String,
    pub username: Option<String>,
    pub user_role: Option<String>,
    pub display_name: Option<String>,
    pub created_at: Option<CqlTimestamp>,
    pub password_hash: Option<String>,
}

impl UserRow {
    pub fn into_user(self) -> Result<(User, Option<String>)> {
        Ok((
            User {
                role: word(self.user_role, "users", "user_role", Role::parse)?,
                username: req(self.username, "users", "username")?,
                display_name: req(self.display_name, "users", "display_name")?,
                created_at: ts(req(self.created_at, "users", "created_at")?),
                id: self.id,
            },
            self.password_hash,
        ))
    }
}

/// `conversations` row. A row without `patient_id` is a leftover (e.g. only `chat_paused` outlived
/// the retention TTL) and counts as missing.
#[derive(Debug, Clone, DeserializeRow)]
pub struct ConversationRow {
    pub id: String,
    pub patient_id: Option<String>,
    pub started_at: Option<CqlTimestamp>,
    pub last_message_at: Option<CqlTimestamp>,
    pub next_seq: Option<i64>,
    pub chat_paused: Option<bool>,
    pub pending_id: Option<String>,
    pub pending_seq: Option<i64>,
    pub pending: Option<String>,
}

/// The message that took the latest seq, as recorded by the seq compare-and-set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PendingMessage {
    pub message: Message,
    pub patient_id: String,
    pub client_msg_id: Option<String>,
}

/// A live conversation row.
#[derive(Debug, Clone)]
pub struct ConversationState {
    pub conversation: Conversation,
    pub next_seq: i64,
    pub pending: Option<PendingMessage>,
}

impl ConversationRow {
    pub fn into_state(self) -> Result<Option<ConversationState>> {
        let Some(patient_id) = self.patient_id else { return Ok(None) };
        let started_at = ts(req(self.started_at, "conversations", "started_at")?);
        let pending: Option<PendingMessage> = json(self.pending, "conversations", "pending")?;
        if let Some(p) = &pending
            && (Some(&p.message.id) != self.pending_id.as_ref() || Some(p.message.seq) != self.pending_seq)
        {
            return Err(StoreError::Internal(format!("conversations.pending of {} is inconsistent", self.id)));
        }
        Ok(Some(ConversationState {
            conversation: Conversation {
                id: self.id.clone(),
                patient_id,
                summary: ConversationSummary {
                    id: self.id,
                    started_at,
                    last_message_at: self.last_message_at.map_or(started_at, ts),
                    chat_paused: self.chat_paused.unwrap_or(false),
                },
            },
            next_seq: self.next_seq.unwrap_or(1),
            pending,
        }))
    }
}

#[derive(Debug, Clone, DeserializeRow)]
pub struct MessageRow {
    pub id: Option<String>,
    pub conversation_id: String,
    pub seq: i64,
    pub author: Option<String>,
    pub body: Option<String>,
    pub created_at: Option<CqlTimestamp>,
    pub risk: Option<String>,
    pub finish: Option<String>,
    pub meta: Option<String>,
}

impl MessageRow {
    /// `None` for a row holding only a late `risk` update of an expired message.
    pub fn into_message(self) -> Result<Option<Message>> {
        let Some(id) = self.id else { return Ok(None) };
        Ok(Some(Message {
            id,
            conversation_id: self.conversation_id,
            seq: self.seq,
            author: word(self.author, "messages", "author", Author::parse)?,
            text: req(self.body, "messages", "body")?,
            created_at: ts(req(self.created_at, "messages", "created_at")?),
            risk: json(self.risk, "messages", "risk")?,
            finish: self.finish,
            meta: json(self.meta, "messages", "meta")?,
        }))
    }
}

#[derive(Debug, Clone, DeserializeRow)]
pub struct ClaimRow {
    pub message_id: Option<String>,
    pub conversation_id: Option<String>,
    pub new_conversation: Option<bool>,
}

#[derive(Debug, Clone, DeserializeRow)]
pub struct AlertRow {
    pub id: String,
    pub patient_id: Option<String>,
    pub conversation_id: Option<String>,
    pub message_id: Option<String>,
    pub level: Option<String>,
    pub score: Option<f32>,
    pub reasons: Option<String>,
    pub excerpt: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<CqlTimestamp>,
    pub ack_deadline: Option<CqlTimestamp>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<CqlTimestamp>,
    pub note: Option<String>,
    pub escalation_id: Option<String>,
}

/// An alert row, before the patient's name is joined in.
#[derive(Debug, Clone)]
pub struct StoredAlert {
    pub alert: Alert,
    pub escalation_id: Option<String>,
}

impl AlertRow {
    /// `None` for a row without status (never written by `alert_create`).
    pub fn into_alert(self) -> Result<Option<StoredAlert>> {
        if self.status.is_none() {
            return Ok(None);
        }
        let message_id = req(self.message_id, "alerts", "message_id")?;
        let created_at = ts(req(self.created_at, "alerts", "created_at")?);
        Ok(Some(StoredAlert {
            alert: Alert {
                patient_id: req(self.patient_id, "alerts", "patient_id")?,
                patient_name: String::new(),
                conversation_id: req(self.conversation_id, "alerts", "conversation_id")?,
                message_id: message_id.clone(),
                level: word(self.level, "alerts", "level", RiskLevel::parse)?,
                score: req(self.score, "alerts", "score")?,
                reasons: json(self.reasons, "alerts", "reasons")?.unwrap_or_default(),
                excerpt: req(self.excerpt, "alerts", "excerpt")?,
                status: word(self.status, "alerts", "status", AlertStatus::parse)?,
                created_at,
                ack_deadline: self.ack_deadline.map(ts),
                acknowledged_by: self.acknowledged_by,
                acknowledged_at: self.acknowledged_at.map(ts),
                note: self.note,
                // Until an episode row says otherwise (see `episodes::EpisodeRow::overlay`).
                message_ids: vec![message_id],
                updated_at: Some(created_at),
                id: self.id,
            },
            escalation_id: self.escalation_id,
        }))
    }
}

#[derive(Debug, Clone, DeserializeRow)]
pub struct EscalationRow {
    pub id: String,
    pub alert_id: Option<String>,
    pub patient_id: Option<String>,
    pub reason: Option<String>,
    pub status: Option<String>,
    pub claimed_by: Option<String>,
    pub created_at: Option<CqlTimestamp>,
    pub resolved_at: Option<CqlTimestamp>,
    pub note: Option<String>,
}

impl EscalationRow {
    /// Builds the escalation around its alert; `None` unless the alert points back at it (an
    /// escalation written by a node that then lost the race for the alert does not count).
    pub fn into_escalation(self, alert: StoredAlert) -> Result<Option<Escalation>> {
        if alert.escalation_id.as_deref() != Some(self.id.as_str()) {
            return Ok(None);
        }
        self.into_counted(alert)
    }

    /// Builds the escalation around its alert once the caller knows it counts (for a missed
    /// follow-up: the follow-up names it).
    pub fn into_counted(self, alert: StoredAlert) -> Result<Option<Escalation>> {
        if self.status.is_none() {
            return Ok(None);
        }
        Ok(Some(Escalation {
            reason: word(self.reason, "escalations", "reason", EscalationReason::parse)?,
            status: word(self.status, "escalations", "status", EscalationStatus::parse)?,
            claimed_by: self.claimed_by,
            created_at: ts(req(self.created_at, "escalations", "created_at")?),
            resolved_at: self.resolved_at.map(ts),
            note: self.note,
            alert: alert.alert,
            id: self.id,
        }))
    }
}

#[derive(Debug, Clone, DeserializeRow)]
pub struct FollowupRow {
    pub id: String,
    pub patient_id: Option<String>,
    pub alert_id: Option<String>,
    pub due_at: Option<CqlTimestamp>,
    pub status: Option<String>,
    pub done_by: Option<String>,
    pub done_at: Option<CqlTimestamp>,
    pub note: Option<String>,
    pub created_at: Option<CqlTimestamp>,
    pub escalation_id: Option<String>,
}

impl FollowupRow {
    /// `None` for a row without status (never written by `fu_create`).
    pub fn into_followup(self) -> Result<Option<(Followup, Option<String>)>> {
        if self.status.is_none() {
            return Ok(None);
        }
        let t = "followups";
        Ok(Some((
            Followup {
                status: word(self.status, t, "status", FollowupStatus::parse)?,
                patient_id: req(self.patient_id, t, "patient_id")?,
                alert_id: req(self.alert_id, t, "alert_id")?,
                due_at: ts(req(self.due_at, t, "due_at")?),
                done_by: self.done_by,
                done_at: self.done_at.map(ts),
                note: self.note,
                created_at: ts(req(self.created_at, t, "created_at")?),
                id: self.id,
            },
            self.escalation_id,
        )))
    }
}

#[derive(Debug, Clone, DeserializeRow)]
pub struct AuditRow {
    pub happened_at: Option<CqlTimestamp>,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: Option<String>,
    pub target: String,
    pub remote_addr: Option<String>,
    pub detail: Option<String>,
}

impl AuditRow {
    pub fn into_entry(self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            at: ts(req(self.happened_at, "audit", "happened_at")?),
            actor_id: self.actor_id,
            actor_role: self.actor_role.as_deref().and_then(Role::parse),
            action: req(self.action, "audit", "action")?,
            target: self.target,
            remote_addr: self.remote_addr,
            detail: self.detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> CqlTimestamp {
        CqlTimestamp(ms)
    }

    #[test]
    fn timestamps_round_trip_at_millisecond_precision() {
        let n = now();
        assert_eq!(ts(cql_ts(n)), n);
        assert_eq!(from_ms(1_700_000_000_123).timestamp_millis(), 1_700_000_000_123);
    }

    #[test]
    fn user_rows() {
        let row = UserRow {
            id: "u1".into(),
            username: Some("Alice".into()),
            user_role: Some("clinician".into()),
            display_name: Some("Dr A".into()),
            created_at: Some(t(5)),
            password_hash: Some("$argon2id$x".into()),
        };
        let (u, hash) = row.clone().into_user().unwrap();
        assert_eq!((u.id.as_str(), u.role, u.created_at.timestamp_millis()), ("u1", Role::Clinician, 5));
        assert_eq!(hash.as_deref(), Some("$argon2id$x"));
        let bad = UserRow { user_role: Some("wizard".into()), ..row.clone() };
        assert!(matches!(bad.into_user(), Err(StoreError::Internal(_))));
        let missing = UserRow { username: None, ..row };
        assert!(matches!(missing.into_user(), Err(StoreError::Internal(_))));
    }

    fn message(seq: i64) -> Message {
        Message {
            id: format!("m{seq}"),
            conversation_id: "c1".into(),
            seq,
            author: Author::Ai,
            text: "hi".into(),
            created_at: from_ms(42),
            risk: None,
            finish: Some("stop".into()),
            meta: Some(serde_json::json!({"provider": "offline"})),
        }
    }

    #[test]
    fn conversation_rows() {
        let pending = PendingMessage { message: message(3), patient_id: "p1".into(), client_msg_id: None };
        let row = ConversationRow {
            id: "c1".into(),
            patient_id: Some("p1".into()),
            started_at: Some(t(10)),
            last_message_at: Some(t(20)),
            next_seq: Some(4),
            chat_paused: None,
            pending_id: Some("m3".into()),
            pending_seq: Some(3),
            pending: Some(to_json(&pending)),
        };
        let s = row.clone().into_state().unwrap().unwrap();
        assert_eq!(s.conversation.patient_id, "p1");
        assert_eq!(s.next_seq, 4);
        assert!(!s.conversation.summary.chat_paused, "null chat_paused reads as false");
        assert_eq!(s.conversation.summary.last_message_at.timestamp_millis(), 20);
        assert_eq!(s.pending, Some(pending));
        // A leftover row (retention expired everything but chat_paused) is no conversation.
        let leftover = ConversationRow { patient_id: None, chat_paused: Some(true), ..row.clone() };
        assert!(leftover.into_state().unwrap().is_none());
        // A fresh conversation has no pending message.
        let fresh =
            ConversationRow { next_seq: Some(1), pending_id: None, pending_seq: None, pending: None, ..row.clone() };
        assert!(fresh.into_state().unwrap().unwrap().pending.is_none());
        let torn = ConversationRow { pending_seq: Some(2), ..row };
        assert!(torn.into_state().is_err());
    }

    #[test]
    fn message_rows() {
        let m = message(7);
        let row = MessageRow {
            id: Some(m.id.clone()),
            conversation_id: m.conversation_id.clone(),
            seq: 7,
            author: Some("ai".into()),
            body: Some("hi".into()),
            created_at: Some(t(42)),
            risk: Some(r#"{"level":"low","score":0.25,"reasons":["r"]}"#.into()),
            finish: Some("stop".into()),
            meta: Some(r#"{"provider":"offline"}"#.into()),
        };
        let got = row.clone().into_message().unwrap().unwrap();
        assert_eq!(got.risk.as_ref().unwrap().level, RiskLevel::Low);
        assert_eq!(Message { risk: None, ..got }, m);
        assert!(MessageRow { id: None, ..row.clone() }.into_message().unwrap().is_none());
        assert!(MessageRow { risk: Some("{".into()), ..row }.into_message().is_err());
    }

    fn alert_row() -> AlertRow {
        AlertRow {
            id: "a1".into(),
            patient_id: Some("p1".into()),
            conversation_id: Some("c1".into()),
            message_id: Some("m1".into()),
            level: Some("high".into()),
            score: Some(0.9),
            reasons: Some(r#"["C-SSRS 4: intent"]"#.into()),
            excerpt: Some("x".into()),
            status: Some("escalated".into()),
            created_at: Some(t(1)),
            ack_deadline: Some(t(2)),
            acknowledged_by: None,
            acknowledged_at: None,
            note: None,
            escalation_id: Some("e1".into()),
        }
    }

    #[test]
    fn alert_and_escalation_rows() {
        let a = alert_row().into_alert().unwrap().unwrap();
        assert_eq!(a.alert.status, AlertStatus::Escalated);
        assert_eq!(a.alert.reasons, vec!["C-SSRS 4: intent".to_owned()]);
        assert_eq!(a.alert.ack_deadline.map(|d| d.timestamp_millis()), Some(2));
        assert!(AlertRow { status: None, ..alert_row() }.into_alert().unwrap().is_none());
        let esc = EscalationRow {
            id: "e1".into(),
            alert_id: Some("a1".into()),
            patient_id: Some("p1".into()),
            reason: Some("ack_timeout".into()),
            status: Some("open".into()),
            claimed_by: None,
            created_at: Some(t(3)),
            resolved_at: None,
            note: None,
        };
        let e = esc.clone().into_escalation(a.clone()).unwrap().unwrap();
        assert_eq!(
            (e.reason, e.status, e.alert.id.as_str()),
            (EscalationReason::AckTimeout, EscalationStatus::Open, "a1")
        );
        // The loser of an escalation race is invisible.
        let loser = EscalationRow { id: "e2".into(), ..esc };
        assert!(loser.into_escalation(a).unwrap().is_none());
    }

    #[test]
    fn audit_rows() {
        let row = AuditRow {
            happened_at: Some(t(9)),
            actor_id: Some("u".into()),
            actor_role: Some("supervisor".into()),
            action: Some("alert.ack".into()),
            target: "alert:1".into(),
            remote_addr: None,
            detail: None,
        };
        let e = row.into_entry().unwrap();
        assert_eq!((e.actor_role, e.target.as_str(), e.at.timestamp_millis()), (Some(Role::Supervisor), "alert:1", 9));
    }

    #[test]
    fn unset_writes_no_value() {
        assert!(matches!(unset::<i32>(None), MaybeUnset::Unset));
        assert!(matches!(unset(Some(1)), MaybeUnset::Set(1)));
    }
}
