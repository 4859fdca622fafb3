//! Objects of the wire contract. Times serialise as RFC 3339 UTC.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A point in time, always UTC.
pub type Timestamp = DateTime<Utc>;

/// The role of an account; it never changes after creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Patient,
    Clinician,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Clinician => "clinician",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "patient" => Some(Role::Patient),
            "clinician" => Some(Role::Clinician),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An account as shown to clients (never carries secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub display_name: String,
    pub created_at: Timestamp,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    Patient,
    Ai,
    Clinician,
    System,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Patient => "patient",
            Author::Ai => "ai",
            Author::Clinician => "clinician",
            Author::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Author> {
        match s {
            "patient" => Some(Author::Patient),
            "ai" => Some(Author::Ai),
            "clinician" => Some(Author::Clinician),
            "system" => Some(Author::System),
            _ => None,
        }
    }
}

/// Risk levels, ordered: `none < low < moderate < high` (green, yellow, orange, red).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    None,
    Low,
    Moderate,
    High,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::None => "none",
            RiskLevel::Low => "low",
            RiskLevel::Moderate => "moderate",
            RiskLevel::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<RiskLevel> {
        match s {
            "none" => Some(RiskLevel::None),
            "low" => Some(RiskLevel::Low),
            "moderate" => Some(RiskLevel::Moderate),
            "high" => Some(RiskLevel::High),
            _ => None,
        }
    }
}

/// The risk screening attached to a patient message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    pub level: RiskLevel,
    pub score: f32,
    pub reasons: Vec<String>,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub author: Author,
    pub text: String,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub risk: Option<Risk>,
    /// For AI replies: how the reply ended (`stop`, `cancelled`, `error`, `safety`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finish: Option<String>,
    /// For AI replies: what produced it (`{"provider":"offline","model":..,"context_turns":..}`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub meta: Option<serde_json::Value>,
}

/// A conversation as listed to its patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: String,
    pub started_at: Timestamp,
    pub last_message_at: Timestamp,
    #[serde(default)]
    pub chat_paused: bool,
}

/// Status of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Escalated,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Escalated => "escalated",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        match s {
            "open" => Some(AlertStatus::Open),
            "acknowledged" => Some(AlertStatus::Acknowledged),
            "escalated" => Some(AlertStatus::Escalated),
            "resolved" => Some(AlertStatus::Resolved),
            _ => None,
        }
    }
}

/// A risk alert raised by a patient message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub conversation_id: String,
    pub message_id: String,
    pub level: RiskLevel,
    pub score: f32,
    pub reasons: Vec<String>,
    pub excerpt: String,
    pub status: AlertStatus,
    pub created_at: Timestamp,
    pub ack_deadline: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub acknowledged_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub acknowledged_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Every message of the alert's risk episode, oldest first (contract §4.2): the message that
    /// raised it, then each later risky message of the patient that updated it.
    #[serde(default)]
    pub message_ids: Vec<String>,
    /// When the episode last changed (its raise, or the latest message that updated it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub updated_at: Option<Timestamp>,
}

/// Why an alert became an escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    AckTimeout,
    NoClinicianOnline,
    Imminent,
    /// The patient is on no caseload, or their clinicians are on no team: the duty supervisors
    /// were told at once (contract §4.3).
    NoCareTeam,
    /// A follow-up scheduled when a high alert was acknowledged was not done by its `due_at`
    /// (contract §4.7).
    FollowUpMissed,
}

impl EscalationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::AckTimeout => "ack_timeout",
            EscalationReason::NoClinicianOnline => "no_clinician_online",
            EscalationReason::Imminent => "imminent",
            EscalationReason::NoCareTeam => "no_care_team",
            EscalationReason::FollowUpMissed => "follow_up_missed",
        }
    }

    pub fn parse(s: &str) -> Option<EscalationReason> {
        match s {
            "ack_timeout" => Some(EscalationReason::AckTimeout),
            "no_clinician_online" => Some(EscalationReason::NoClinicianOnline),
            "imminent" => Some(EscalationReason::Imminent),
            "no_care_team" => Some(EscalationReason::NoCareTeam),
            "follow_up_missed" => Some(EscalationReason::FollowUpMissed),
            _ => None,
        }
    }
}

/// Status of an escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EscalationStatus {
    Open,
    Claimed,
    Resolved,
}

impl EscalationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationStatus::Open => "open",
            EscalationStatus::Claimed => "claimed",
            EscalationStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<EscalationStatus> {
        match s {
            "open" => Some(EscalationStatus::Open),
            "claimed" => Some(EscalationStatus::Claimed),
            "resolved" => Some(EscalationStatus::Resolved),
            _ => None,
        }
    }
}

/// An alert on a supervisor's escalation queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub id: String,
    pub alert: Alert,
    pub reason: EscalationReason,
    pub status: EscalationStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub claimed_by: Option<String>,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resolved_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// Status of a follow-up (contract §4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowupStatus {
    Pending,
    Done,
    Missed,
}

impl FollowupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowupStatus::Pending => "pending",
            FollowupStatus::Done => "done",
            FollowupStatus::Missed => "missed",
        }
    }

    pub fn parse(s: &str) -> Option<FollowupStatus> {
        match s {
            "pending" => Some(FollowupStatus::Pending),
            "done" => Some(FollowupStatus::Done),
            "missed" => Some(FollowupStatus::Missed),
            _ => None,
        }
    }
}

/// The follow-up an acknowledged high alert schedules (contract §4.7): a clinician of the
/// patient checks in by `due_at`, or it escalates with `follow_up_missed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Followup {
    pub id: String,
    pub patient_id: String,
    pub alert_id: String,
    pub due_at: Timestamp,
    pub status: FollowupStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub done_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub done_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// When it was scheduled (the acknowledgement); orders the REST list.
    pub created_at: Timestamp,
}

/// A crisis resource shown to a patient (from the deployment's crisis catalogue, [`crate::crisis`]).
/// `name`, `contact` and `available` are the contract's; the rest are this implementation's
/// additions, so a client can dial, text or open a service without reading its `contact` text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrisisResource {
    pub name: String,
    pub contact: String,
    pub available: String,
    /// The catalogue's id of the service (stable across languages).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// When to use it, in the patient's words.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub when: Option<String>,
    /// The number to call (digits, spaces, an optional leading `+`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phone: Option<String>,
    /// The number to text, and the word to send.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sms: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sms_keyword: Option<String>,
    /// A web address (`https://`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// An emergency service (listed first at high risk).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub emergency: bool,
}
