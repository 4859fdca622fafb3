//! The storage trait and its records.

use healing_protocol::{
    Alert, Author, ConversationSummary, Escalation, EscalationReason, EscalationStatus, Followup, FollowupStatus,
    Message, Risk, RiskLevel, Role, Timestamp, User,
};

use crate::error::Result;

/// A new account. The password is already hashed by the caller (argon2id).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub display_name: String,
}

/// An account and its password hash, for sign-in only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    /// Disabled by an admin (contract §4.1): may not sign in.
    pub disabled: bool,
}

/// A live bearer token: whose it is, and when it stops working (sessions close then).
#[derive(Debug, Clone)]
pub struct TokenSession {
    pub user: User,
    pub expires_at: Timestamp,
}

/// A message to append to a conversation.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Chosen by the caller when the id was announced before storing (AI replies); else generated.
    pub id: Option<String>,
    /// The patient who owns the conversation.
    pub patient_id: String,
    /// `None` starts a new conversation owned by `patient_id`.
    pub conversation_id: Option<String>,
    /// The client's idempotency key (patient messages). Unique per patient.
    pub client_msg_id: Option<String>,
    pub author: Author,
    pub text: String,
    pub risk: Option<Risk>,
    pub finish: Option<String>,
    pub meta: Option<serde_json::Value>,
}

/// The outcome of [`Store::append_message`].
#[derive(Debug, Clone)]
pub struct Appended {
    pub message: Message,
    /// True when `client_msg_id` had been stored before: nothing new was written.
    pub duplicate: bool,
    /// True when this message started its conversation.
    pub new_conversation: bool,
}

/// The outcome of [`Store::raise_alert`].
#[derive(Debug, Clone)]
pub struct Raised {
    pub alert: Alert,
    /// False when an alert with this id was stored before (a retry or a re-screening): the stored
    /// alert is returned unchanged, and nobody needs telling again.
    pub created: bool,
}

/// What [`Store::record_risk`] did with a risky message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeChange {
    /// The patient had no unacknowledged alert: this message raised a new one.
    Raised,
    /// The patient's unacknowledged alert took the message (or, for a message it already holds,
    /// a higher grade or new reasons). `previous` is the alert's level before.
    Updated { previous: RiskLevel },
    /// Nothing changed: the message is already in an alert with this evidence (a re-screening),
    /// or in an alert somebody has acknowledged since.
    Unchanged,
}

/// The outcome of [`Store::record_risk`]: the alert as stored after the change.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub alert: Alert,
    pub change: EpisodeChange,
}

/// Folds new evidence into an episode's alert: `level` and `score` only rise, `reasons` gain what
/// is new (deduplicated, in order), and a rise in level restarts `ack_deadline` from the new
/// level's deadline (never later than a deadline already running). `None` when the evidence adds
/// nothing. `message_ids` and `updated_at` are the caller's to set.
pub fn merge_evidence(episode: &Alert, evidence: &Alert) -> Option<Alert> {
    let mut out = episode.clone();
    let mut changed = false;
    if evidence.level > episode.level {
        out.level = evidence.level;
        out.ack_deadline = match (episode.ack_deadline, evidence.ack_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => b.or(a),
        };
        changed = true;
    }
    if evidence.score > out.score {
        out.score = evidence.score;
        changed = true;
    }
    for r in &evidence.reasons {
        if !out.reasons.contains(r) {
            out.reasons.push(r.clone());
            changed = true;
        }
    }
    changed.then_some(out)
}

/// A risk reason without the patient's words it quotes (`C-SSRS 4 (suicidal intent): "…"` →
/// `C-SSRS 4 (suicidal intent)`): what an erased patient's alerts keep.
pub fn reason_without_quote(reason: &str) -> String {
    match reason.find('"') {
        Some(i) => reason[..i].trim_end().trim_end_matches(':').trim_end().to_owned(),
        None => reason.to_owned(),
    }
}

/// A patient message whose screening never completed (its `risk` is unset).
#[derive(Debug, Clone)]
pub struct Unscreened {
    pub patient_id: String,
    pub message: Message,
}

/// A conversation and its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: String,
    pub patient_id: String,
    pub summary: ConversationSummary,
}

/// Where the next page of a newest-first list (alerts, escalations) starts: just after this
/// item. Lists are ordered by `created_at` descending, then `id` ascending, so a page continues
/// with what is strictly older than `created_at`, or as old with a greater `id`. Items created
/// while a client pages never shift a later page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    pub created_at: Timestamp,
    pub id: String,
}

impl PageCursor {
    /// The cursor just after an item.
    pub fn after(created_at: Timestamp, id: &str) -> PageCursor {
        PageCursor { created_at, id: id.to_owned() }
    }

    /// The opaque text form handed to clients (`before=` on REST lists).
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at.timestamp_millis(), self.id)
    }

    /// Parses [`PageCursor::encode`]'s form; `None` for anything else.
    pub fn decode(text: &str) -> Option<PageCursor> {
        let (ms, id) = text.split_once('_')?;
        let created_at = chrono::DateTime::from_timestamp_millis(ms.parse().ok()?)?;
        (!id.is_empty()).then(|| PageCursor { created_at, id: id.to_owned() })
    }

    /// Whether an item comes after this cursor in list order (belongs to the next page).
    pub fn precedes(&self, created_at: Timestamp, id: &str) -> bool {
        let (mine, theirs) = (self.created_at.timestamp_millis(), created_at.timestamp_millis());
        theirs < mine || (theirs == mine && id > self.id.as_str())
    }
}

/// Which alerts to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Only alerts of patients on this clinician's caseload.
    pub clinician_id: Option<String>,
    /// Only alerts of patients on the caseloads of this supervisor's team.
    pub supervisor_id: Option<String>,
    /// Only alerts of this patient.
    pub patient_id: Option<String>,
    pub status: Option<healing_protocol::AlertStatus>,
    /// Only alerts nobody has acknowledged yet: `open` or `escalated` (what a clinician must
    /// still see). Filtered in the store, so no number of closed alerts can hide one.
    pub unacknowledged: bool,
    /// Only alerts after this cursor (the next page).
    pub before: Option<PageCursor>,
    pub limit: u32,
}

/// Which escalations to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct EscalationQuery {
    /// Only escalations of patients on the caseloads of this supervisor's team — and, when the
    /// supervisor is on duty, of patients with no care team.
    pub supervisor_id: Option<String>,
    /// Only escalations of this patient (the patient's data export).
    pub patient_id: Option<String>,
    pub status: Option<EscalationStatus>,
    /// Only escalations not yet resolved: `open` or `claimed`. Filtered in the store.
    pub unresolved: bool,
    /// Only escalations after this cursor (the next page).
    pub before: Option<PageCursor>,
    pub limit: u32,
}

/// Which follow-ups to list (contract §4.7), newest first (by `created_at`, then `id`).
#[derive(Debug, Clone, Default)]
pub struct FollowupQuery {
    /// Only follow-ups of patients on this clinician's caseload.
    pub clinician_id: Option<String>,
    /// Only follow-ups of patients on the caseloads of this supervisor's team.
    pub supervisor_id: Option<String>,
    /// Only follow-ups of this patient (their export).
    pub patient_id: Option<String>,
    pub status: Option<FollowupStatus>,
    /// Only follow-ups after this cursor (the next page).
    pub before: Option<PageCursor>,
    pub limit: u32,
}

/// The outcome of [`Store::miss_followup`]: the follow-up, now missed, and its escalation.
#[derive(Debug, Clone)]
pub struct Missed {
    pub followup: Followup,
    pub escalation: Escalation,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor_id: Option<String>,
    pub actor_role: Option<Role>,
    /// What happened, e.g. `alert.ack`, `messages.read`, `escalation.claim`.
    pub action: String,
    /// What it happened to, e.g. `patient:<id>`, `alert:<id>`.
    pub target: String,
    pub remote_addr: Option<String>,
    pub detail: Option<String>,
}

// ---- data rights (contract §4.9): the hash-chained audit log, erasure, retention ------------

/// An audit entry as stored in the hash chain (see [`crate::audit_chain`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainedEntry {
    /// Position in the chain: 1, 2, 3 ... with no gaps.
    pub seq: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// Which chained entries to read, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ChainQuery {
    /// Only entries with a greater `seq` (the next page).
    pub after_seq: i64,
    /// Only entries at or after this time.
    pub from: Option<Timestamp>,
    /// Only entries before this time.
    pub to: Option<Timestamp>,
    pub limit: u32,
}

/// Where a patient's erasure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErasureStatus {
    Scheduled,
    Cancelled,
    Erased,
}

impl ErasureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureStatus::Scheduled => "scheduled",
            ErasureStatus::Cancelled => "cancelled",
            ErasureStatus::Erased => "erased",
        }
    }
    pub fn parse(s: &str) -> Option<ErasureStatus> {
        Some(match s {
            "scheduled" => ErasureStatus::Scheduled,
            "cancelled" => ErasureStatus::Cancelled,
            "erased" => ErasureStatus::Erased,
            _ => return None,
        })
    }
}

/// A patient's erasure request (one per patient; a new request after a cancel replaces it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Erasure {
    pub id: String,
    pub patient_id: String,
    pub status: ErasureStatus,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub erase_at: Timestamp,
}

/// What [`Store::erase_patient`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub messages: u64,
    pub conversations: u64,
    /// Alerts whose excerpt and notes were blanked (the alert itself, without text, stays).
    pub alerts: u64,
}

/// A storage backend. All methods are safe to call from any async runtime; none blocks the
/// calling thread.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- accounts -------------------------------------------------------------------------
    /// Creates an account; `Conflict` when the username is taken — compared by
    /// [`identity::username_key`](crate::identity::username_key) (NFKC, case-insensitive) — or
    /// when its confusable skeleton ([`identity::username_skeleton`](crate::identity::username_skeleton))
    /// is an existing account's (the message says it looks like an existing name).
    async fn create_user(&self, user: NewUser) -> Result<User>;
    async fn credentials(&self, username: &str) -> Result<Option<Credentials>>;
    async fn user(&self, id: &str) -> Result<Option<User>>;
    async fn user_by_username(&self, username: &str) -> Result<Option<User>>;

    // ---- bearer tokens (stored as hashes only) --------------------------------------------
    async fn insert_token(&self, token_hash: &str, user_id: &str, expires_at: Timestamp) -> Result<()>;
    /// The user owning an unexpired, unrevoked token.
    async fn user_for_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>> {
        Ok(self.token_session(token_hash, now).await?.map(|s| s.user))
    }
    async fn revoke_token(&self, token_hash: &str, now: Timestamp) -> Result<()>;

    // ---- sessions follow their tokens (contract §4.1) -------------------------------------
    /// An unexpired, unrevoked token of an account that is not disabled, and its expiry.
    async fn token_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<TokenSession>>;
    /// Refuses (or allows again) sign-in for an account; disabling also revokes every token
    /// (enabling does not bring them back). `NotFound` for no such account.
    async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<()>;
    async fn user_disabled(&self, user_id: &str) -> Result<bool>;

    // ---- caseloads and teams --------------------------------------------------------------
    /// Puts a patient on a clinician's caseload (idempotent). `Invalid` for wrong roles.
    async fn assign(&self, clinician_id: &str, patient_id: &str) -> Result<()>;
    /// Puts a clinician on a supervisor's team (idempotent). `Invalid` for wrong roles.
    async fn add_to_team(&self, supervisor_id: &str, clinician_id: &str) -> Result<()>;
    /// Ids of the clinicians whose caseload holds the patient.
    async fn clinicians_of(&self, patient_id: &str) -> Result<Vec<String>>;
    /// Ids of the supervisors whose team holds a clinician of the patient.
    async fn supervisors_of(&self, patient_id: &str) -> Result<Vec<String>>;
    /// The patients on a clinician's caseload.
    async fn caseload(&self, clinician_id: &str) -> Result<Vec<User>>;
    /// Whether `viewer` may read the patient's clinical data: the patient themself, a clinician
    /// whose caseload holds them, a supervisor whose team holds such a clinician, or a duty
    /// supervisor when no team does (the patient has no care team).
    async fn can_view_patient(&self, viewer: &User, patient_id: &str) -> Result<bool>;
    /// Puts a supervisor on duty (idempotent): duty supervisors cover every patient with no care
    /// team — on no caseload, or whose clinicians are on no team. `Invalid` for other roles.
    async fn add_duty_supervisor(&self, supervisor_id: &str) -> Result<()>;
    /// Ids of the supervisors on duty, sorted.
    async fn duty_supervisors(&self) -> Result<Vec<String>>;
    /// Patients on no clinician's caseload, in order of registration (oldest first), at most
    /// `limit`.
    async fn unassigned_patients(&self, limit: u32) -> Result<Vec<User>>;

    // ---- conversations and messages -------------------------------------------------------
    /// Appends a message durably, assigning the next `seq`. Idempotent on
    /// `(patient_id, client_msg_id)`. `NotFound` when `conversation_id` is not the patient's.
    async fn append_message(&self, message: NewMessage) -> Result<Appended> {
        self.append_message_within(message, None).await
    }
    /// [`append_message`](Store::append_message) that refuses to start a conversation beyond
    /// `max_conversations` of the patient: a message without `conversation_id` from a patient who
    /// already has that many answers [`StoreError::Limit`](crate::StoreError::Limit) and stores
    /// nothing. A retry of a message already stored is still answered as its duplicate. SQLite
    /// checks inside the write transaction (exact); ScyllaDB counts before creating, so two
    /// simultaneous first messages of one patient on two nodes may both pass.
    async fn append_message_within(&self, message: NewMessage, max_conversations: Option<u32>) -> Result<Appended>;
    async fn conversation(&self, id: &str) -> Result<Option<Conversation>>;
    /// The patient's conversations, newest activity first.
    async fn conversations_of(&self, patient_id: &str) -> Result<Vec<ConversationSummary>>;
    /// Messages oldest → newest: the `limit` latest with `seq < before_seq` (or the latest).
    async fn messages(&self, conversation_id: &str, before_seq: Option<i64>, limit: u32) -> Result<Vec<Message>>;
    async fn message(&self, id: &str) -> Result<Option<Message>>;
    /// Records a message's screening. Callers set it only once any alert the screening called
    /// for is stored, so a set risk means "screened, and acted on".
    async fn set_message_risk(&self, message_id: &str, risk: &Risk) -> Result<()>;
    /// Patient messages created before `created_before` whose screening never completed, oldest
    /// first: what a node that crashed between acknowledging a message and screening it leaves.
    /// Backends that cannot find them without a scan answer an empty list (see docs/scylla.md);
    /// a later message in the same conversation still re-screens them (its screening context).
    async fn unscreened_messages(&self, created_before: Timestamp, limit: u32) -> Result<Vec<Unscreened>>;
    async fn set_chat_paused(&self, conversation_id: &str, paused: bool) -> Result<()>;
    /// Pauses (or resumes) the AI for a patient (contract §4.2): every conversation of theirs,
    /// and every conversation they start while paused. Durable. Answers the ids of the
    /// conversations whose `chat_paused` this changed.
    async fn set_patient_paused(&self, patient_id: &str, paused: bool) -> Result<Vec<String>>;
    /// Whether the AI is paused for the patient (see [`Store::set_patient_paused`]).
    async fn patient_paused(&self, patient_id: &str) -> Result<bool>;

    // ---- alerts and escalations -----------------------------------------------------------
    /// Stores a new alert (status open). The alert's `patient_name` is filled from the account.
    /// Idempotent on the alert id: raising an id that exists returns the stored alert with
    /// `created: false`.
    async fn raise_alert(&self, alert: Alert) -> Result<Raised>;
    /// Records a risky patient message in the patient's risk episode (contract §4.2), as one
    /// atomic step, so two nodes screening two messages of one patient at once can neither
    /// open two alerts nor lose a message id:
    /// - the message is already in an alert (a re-screening): that alert takes only a higher
    ///   grade or new reasons, and only while unacknowledged; its `message_ids` never repeat;
    /// - else, when the patient has an unacknowledged (`open` or `escalated`) alert, it is
    ///   updated ([`merge_evidence`]) and gains the message id;
    /// - else `evidence` (a new alert, id derived from the message and level) is stored, open.
    ///
    /// `message_at` is when the message was written (`message_ids` are oldest first).
    async fn record_risk(&self, evidence: Alert, message_at: Timestamp) -> Result<Recorded>;
    async fn alert(&self, id: &str) -> Result<Option<Alert>>;
    async fn alerts(&self, query: AlertQuery) -> Result<Vec<Alert>>;
    /// open|escalated → acknowledged; `None` when already acknowledged or resolved. (A clinician
    /// may still acknowledge an escalated alert; the escalation stays with the supervisors.)
    async fn ack_alert(&self, id: &str, by: &str, note: Option<&str>, now: Timestamp) -> Result<Option<Alert>>;
    /// open → escalated, creating the escalation in the same transaction; `None` when the alert
    /// was not open — so an alert is escalated at most once, by whichever node gets there first.
    async fn escalate_alert(
        &self,
        alert_id: &str,
        escalation_id: &str,
        reason: EscalationReason,
        now: Timestamp,
    ) -> Result<Option<Escalation>>;
    /// Open alerts whose deadline has passed, oldest deadline first.
    async fn due_alerts(&self, now: Timestamp, limit: u32) -> Result<Vec<Alert>>;
    async fn escalation(&self, id: &str) -> Result<Option<Escalation>>;
    async fn escalations(&self, query: EscalationQuery) -> Result<Vec<Escalation>>;
    /// open → claimed; `None` when not open.
    async fn claim_escalation(&self, id: &str, by: &str, now: Timestamp) -> Result<Option<Escalation>>;
    /// open|claimed → resolved (also resolves the alert); `None` when already resolved.
    async fn resolve_escalation(&self, id: &str, by: &str, note: &str, now: Timestamp) -> Result<Option<Escalation>>;

    // ---- crisis follow-up (contract §4.7) ---------------------------------------------------
    /// Stores a pending follow-up. Idempotent on its alert (one follow-up per alert, ever): a
    /// second schedule for the same alert answers the stored one and `false`.
    async fn schedule_followup(&self, followup: Followup) -> Result<(Followup, bool)>;
    async fn followup(&self, id: &str) -> Result<Option<Followup>>;
    async fn followups(&self, query: FollowupQuery) -> Result<Vec<Followup>>;
    /// pending → done; `None` when it is not pending (already done, or missed).
    async fn complete_followup(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Followup>>;
    /// Pending follow-ups whose `due_at` has passed, earliest first.
    async fn due_followups(&self, now: Timestamp, limit: u32) -> Result<Vec<Followup>>;
    /// pending → missed, creating its escalation (`follow_up_missed`, about the follow-up's
    /// alert) in the same step; `None` when it was not pending — so a follow-up escalates at
    /// most once, by whichever node gets there first.
    async fn miss_followup(&self, id: &str, escalation_id: &str, now: Timestamp) -> Result<Option<Missed>>;

    // ---- audit ----------------------------------------------------------------------------
    async fn audit(&self, entry: AuditEntry) -> Result<()>;
    /// The latest entries, newest first, optionally only those about `target`.
    async fn audit_log(&self, target: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>>;

    // ---- data rights (contract §4.9) ------------------------------------------------------
    /// The audit hash chain, oldest first (see [`crate::audit_chain`]). [`Store::audit`] appends
    /// to it.
    async fn audit_chain(&self, query: ChainQuery) -> Result<Vec<ChainedEntry>>;
    /// Schedules a patient's erasure and disables the account (tokens revoked), in one step.
    /// `Conflict` when one is already scheduled; `NotFound` for no such patient.
    async fn schedule_erasure(&self, erasure: Erasure) -> Result<Erasure>;
    /// scheduled → cancelled, enabling the account again; `None` when none is scheduled.
    async fn cancel_erasure(&self, patient_id: &str) -> Result<Option<Erasure>>;
    async fn erasure(&self, patient_id: &str) -> Result<Option<Erasure>>;
    /// Scheduled erasures whose `erase_at` has passed, oldest first.
    async fn due_erasures(&self, now: Timestamp, limit: u32) -> Result<Vec<Erasure>>;
    /// Carries out a scheduled erasure: the patient's messages, conversations, safety plan and
    /// caseload places go, alert excerpts and notes are blanked (their open alerts and
    /// escalations resolved), the profile is replaced by a tombstone (`erased-<id>`, no
    /// password). `None` when no erasure is scheduled (cancelled meanwhile, or done).
    async fn erase_patient(&self, patient_id: &str, now: Timestamp) -> Result<Option<Erased>>;
    /// Retention (`--retention-days`): removes messages written before `before` (and
    /// conversations left empty). Answers how many messages went; backends that expire rows by
    /// TTL (CQL) answer 0.
    async fn purge_messages_before(&self, before: Timestamp) -> Result<u64>;

    // ---- operations -----------------------------------------------------------------------
    /// Cheap round trip used by `/readyz`.
    async fn ping(&self) -> Result<()>;
    /// Waits until every write submitted before the call is committed.
    async fn flush(&self) -> Result<()>;
}
