//! Every CQL statement the backend runs, prepared once at connect.
//!
//! Each statement is declared with the Rust type of its bind values, so a call site cannot bind
//! the wrong shape, and the unit tests check each statement's text against that type (number of
//! `?` markers) and against the schema in `migrations/scylla/` (tables, columns, full partition
//! key in every WHERE).

use std::marker::PhantomData;

use scylla::client::session::Session;
use scylla::errors::ExecutionError;
use scylla::response::query_result::QueryResult;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::serialize::row::SerializeRow;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlTimestamp, MaybeUnset};

use crate::error::StoreError;

/// A prepared statement taking bind values of type `V`.
pub struct Stmt<V> {
    pub prepared: PreparedStatement,
    _values: PhantomData<fn(V)>,
}

impl<V: SerializeRow> Stmt<V> {
    pub async fn run(&self, session: &Session, values: V) -> Result<QueryResult, ExecutionError> {
        session.execute_unpaged(&self.prepared, values).await
    }

    /// One page of the result (the statement's page size), from `state` on; the response says
    /// where the next page starts, if there is one.
    pub async fn page(
        &self,
        session: &Session,
        values: V,
        state: PagingState,
    ) -> Result<(QueryResult, PagingStateResponse), ExecutionError> {
        session.execute_single_page(&self.prepared, values, state).await
    }
}

/// Per-statement options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum Opt {
    /// Read at SERIAL: sees the outcome of every finished (or in-flight) LWT, in any datacenter.
    serial,
}

/// How many values a bind tuple holds.
pub trait BindArity {
    const ARITY: usize;
}

macro_rules! arity {
    ($n:expr; $($t:ident),*) => {
        impl<$($t),*> BindArity for ($($t,)*) {
            const ARITY: usize = $n;
        }
    };
}
arity!(0;);
arity!(1; A);
arity!(2; A, B);
arity!(3; A, B, C);
arity!(4; A, B, C, D);
arity!(5; A, B, C, D, E);
arity!(6; A, B, C, D, E, F);
arity!(7; A, B, C, D, E, F, G);
arity!(8; A, B, C, D, E, F, G, H);
arity!(9; A, B, C, D, E, F, G, H, I);
arity!(10; A, B, C, D, E, F, G, H, I, J);
arity!(11; A, B, C, D, E, F, G, H, I, J, K);
arity!(12; A, B, C, D, E, F, G, H, I, J, K, L);
arity!(13; A, B, C, D, E, F, G, H, I, J, K, L, M);
arity!(14; A, B, C, D, E, F, G, H, I, J, K, L, M, N);

/// One entry of the statement catalogue (for tests and diagnostics).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub name: &'static str,
    pub cql: &'static str,
    pub binds: usize,
    pub opts: &'static [Opt],
}

/// Whether a statement is a lightweight transaction (has an `IF` clause outside literals).
pub fn is_lwt(cql: &str) -> bool {
    words(cql).iter().any(|w| w.eq_ignore_ascii_case("IF"))
}

/// Bind markers outside string literals.
pub fn count_markers(cql: &str) -> usize {
    strip_literals(cql).matches('?').count()
}

/// The statement with string literals blanked out.
pub fn strip_literals(cql: &str) -> String {
    let mut out = String::with_capacity(cql.len());
    let mut in_lit = false;
    for c in cql.chars() {
        if c == '\'' {
            in_lit = !in_lit;
            out.push(' ');
        } else if in_lit {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Identifiers and keywords of a statement (literals removed).
pub fn words(cql: &str) -> Vec<String> {
    strip_literals(cql)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

impl<V> Stmt<V> {
    async fn prepare(session: &Session, name: &str, cql: &str, opts: &[Opt]) -> Result<Stmt<V>, StoreError> {
        let mut prepared = session
            .prepare(cql)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot prepare {name} ({cql}): {e}")))?;
        // Plain writes here all carry fixed ids and values, so the driver may retry them; LWTs
        // must never be retried blindly (the callers re-read and decide).
        prepared.set_is_idempotent(!is_lwt(cql));
        for opt in opts {
            match opt {
                Opt::serial => prepared.set_consistency(Consistency::Serial),
            }
        }
        Ok(Stmt { prepared, _values: PhantomData })
    }
}

type S = String;
type Ts = CqlTimestamp;
type Un<T> = MaybeUnset<T>;

macro_rules! statements {
    ($( $(#[$opt:ident])* $name:ident : $ty:ty = $cql:expr; )*) => {
        /// The prepared statements.
        pub struct Statements {
            $( pub $name: Stmt<$ty>, )*
        }

        impl Statements {
            pub async fn prepare(session: &Session) -> Result<Statements, StoreError> {
                Ok(Statements {
                    $( $name: Stmt::prepare(session, stringify!($name), $cql, &[$(Opt::$opt),*]).await?, )*
                })
            }
        }

        /// Every statement with the arity of its bind type.
        pub const CATALOGUE: &[Entry] = &[
            $( Entry { name: stringify!($name), cql: $cql, binds: <$ty as BindArity>::ARITY, opts: &[$(Opt::$opt),*] }, )*
        ];
    };
}

statements! {
    // ---- operations ----
    ping: () = "SELECT release_version FROM system.local WHERE key = 'local'";

    // ---- accounts ----
    user_insert: (S, S, S, S, S, S, Ts) =
        "INSERT INTO users (id, username, username_key, password_hash, user_role, display_name, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)";
    user_delete: (S,) = "DELETE FROM users WHERE id = ?";
    user_get: (S,) =
        "SELECT id, username, user_role, display_name, created_at, password_hash FROM users WHERE id = ?";
    username_claim: (S, S) = "INSERT INTO users_by_username (username_key, user_id) VALUES (?, ?) IF NOT EXISTS";
    username_get: (S,) = "SELECT user_id FROM users_by_username WHERE username_key = ?";
    #[serial]
    username_get_serial: (S,) = "SELECT user_id FROM users_by_username WHERE username_key = ?";

    token_insert: (S, S, Ts, Ts, i32) =
        "INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?) USING TTL ?";
    token_get: (S,) = "SELECT user_id, expires_at, revoked_at, TTL(user_id) FROM tokens WHERE token_hash = ?";
    token_revoke: (i32, Ts, S) = "UPDATE tokens USING TTL ? SET revoked_at = ? WHERE token_hash = ?";
    // Sessions follow their tokens, lookalike usernames (0005_accounts.cql).
    token_session_get: (S,) = "SELECT user_id, created_at, expires_at, revoked_at FROM tokens WHERE token_hash = ?";
    account_state_get: (S,) = "SELECT disabled, tokens_revoked_at FROM account_state WHERE user_id = ?";
    account_disable: (bool, Ts, S) = "UPDATE account_state SET disabled = ?, tokens_revoked_at = ? WHERE user_id = ?";
    account_enable: (bool, S) = "UPDATE account_state SET disabled = ? WHERE user_id = ?";
    skeleton_claim: (S, S) = "INSERT INTO users_by_skeleton (skeleton, user_id) VALUES (?, ?) IF NOT EXISTS";
    #[serial]
    skeleton_get_serial: (S,) = "SELECT user_id FROM users_by_skeleton WHERE skeleton = ?";
    skeleton_release: (S, S) = "DELETE FROM users_by_skeleton WHERE skeleton = ? IF user_id = ?";

    caseload_insert_by_clinician: (S, S, Ts) =
        "INSERT INTO caseloads_by_clinician (clinician_id, patient_id, assigned_at) VALUES (?, ?, ?)";
    caseload_insert_by_patient: (S, S, Ts) =
        "INSERT INTO caseloads_by_patient (patient_id, clinician_id, assigned_at) VALUES (?, ?, ?)";
    team_insert_by_supervisor: (S, S, Ts) =
        "INSERT INTO teams_by_supervisor (supervisor_id, clinician_id, joined_at) VALUES (?, ?, ?)";
    team_insert_by_clinician: (S, S, Ts) =
        "INSERT INTO teams_by_clinician (clinician_id, supervisor_id, joined_at) VALUES (?, ?, ?)";
    caseload_patients: (S,) = "SELECT patient_id FROM caseloads_by_clinician WHERE clinician_id = ?";
    caseload_has: (S, S) =
        "SELECT patient_id FROM caseloads_by_clinician WHERE clinician_id = ? AND patient_id = ?";
    patient_clinicians: (S,) = "SELECT clinician_id FROM caseloads_by_patient WHERE patient_id = ?";
    team_clinicians: (S,) = "SELECT clinician_id FROM teams_by_supervisor WHERE supervisor_id = ?";
    duty_insert: (i32, S, Ts) = "INSERT INTO duty_supervisors (shard, supervisor_id, since) VALUES (?, ?, ?)";
    duty_list: (i32,) = "SELECT supervisor_id FROM duty_supervisors WHERE shard = ?";
    patient_registry_insert: (i32, Ts, S) =
        "INSERT INTO patients_by_registration (shard, registered_at, id) VALUES (?, ?, ?)";
    // Paged.
    patient_registry_list: (i32,) = "SELECT registered_at, id FROM patients_by_registration WHERE shard = ?";
    clinician_supervisors: (S,) = "SELECT supervisor_id FROM teams_by_clinician WHERE clinician_id = ?";

    // ---- conversations and messages ----
    conv_create: (S, S, Ts, Ts, i64, i32) =
        "INSERT INTO conversations (id, patient_id, started_at, last_message_at, next_seq) VALUES (?, ?, ?, ?, ?) \
         IF NOT EXISTS USING TTL ?";
    conv_get: (S,) =
        "SELECT id, patient_id, started_at, last_message_at, next_seq, chat_paused, pending_id, pending_seq, pending \
         FROM conversations WHERE id = ?";
    conv_take_seq: (i32, i64, Ts, S, Ts, S, i64, S, S, i64) =
        "UPDATE conversations USING TTL ? SET next_seq = ?, last_message_at = ?, patient_id = ?, started_at = ?, \
         pending_id = ?, pending_seq = ?, pending = ? WHERE id = ? IF next_seq = ?";
    conv_set_paused: (bool, S) = "UPDATE conversations SET chat_paused = ? WHERE id = ?";
    conv_index_insert: (S, S, Ts) =
        "INSERT INTO conversations_by_patient (patient_id, conversation_id, started_at) VALUES (?, ?, ?)";
    conv_index_list: (S,) = "SELECT conversation_id, started_at FROM conversations_by_patient WHERE patient_id = ?";
    conv_index_delete: (S, S) = "DELETE FROM conversations_by_patient WHERE patient_id = ? AND conversation_id = ?";

    msg_insert: (S, i32, i64, S, S, Un<S>, S, S, Ts, Un<S>, Un<S>, Un<S>, i32, i64) =
        "INSERT INTO messages (conversation_id, bucket, seq, id, patient_id, client_msg_id, author, body, created_at, \
         risk, finish, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?";
    msg_by_id_insert: (S, S, i64, Ts, i32, i64) =
        "INSERT INTO messages_by_id (id, conversation_id, seq, created_at) VALUES (?, ?, ?, ?) \
         USING TTL ? AND TIMESTAMP ?";
    msg_by_id_get: (S,) = "SELECT conversation_id, seq, created_at FROM messages_by_id WHERE id = ?";
    msg_get: (S, i32, i64) =
        "SELECT id, conversation_id, seq, author, body, created_at, risk, finish, meta FROM messages \
         WHERE conversation_id = ? AND bucket = ? AND seq = ?";
    msg_page: (S, i32, i64, i32) =
        "SELECT id, conversation_id, seq, author, body, created_at, risk, finish, meta FROM messages \
         WHERE conversation_id = ? AND bucket = ? AND seq <= ? LIMIT ?";
    msg_set_risk: (i32, i64, S, S, i32, i64) =
        "UPDATE messages USING TTL ? AND TIMESTAMP ? SET risk = ? WHERE conversation_id = ? AND bucket = ? AND seq = ?";
    claim_insert: (S, S, S, S, bool, Ts, i32) =
        "INSERT INTO messages_by_client_id (patient_id, client_msg_id, message_id, conversation_id, new_conversation, \
         created_at) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?";
    claim_get: (S, S) =
        "SELECT message_id, conversation_id, new_conversation FROM messages_by_client_id \
         WHERE patient_id = ? AND client_msg_id = ?";
    #[serial]
    claim_get_serial: (S, S) =
        "SELECT message_id, conversation_id, new_conversation FROM messages_by_client_id \
         WHERE patient_id = ? AND client_msg_id = ?";

    // ---- alerts and escalations ----
    alert_create: (S, S, S, S, S, f32, S, S, Ts, Un<Ts>) =
        "INSERT INTO alerts (id, patient_id, conversation_id, message_id, level, score, reasons, excerpt, status, \
         created_at, ack_deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) IF NOT EXISTS";
    alert_get: (S,) =
        "SELECT id, patient_id, conversation_id, message_id, level, score, reasons, excerpt, status, created_at, \
         ack_deadline, acknowledged_by, acknowledged_at, note, escalation_id FROM alerts WHERE id = ?";
    #[serial]
    alert_get_serial: (S,) =
        "SELECT id, patient_id, conversation_id, message_id, level, score, reasons, excerpt, status, created_at, \
         ack_deadline, acknowledged_by, acknowledged_at, note, escalation_id FROM alerts WHERE id = ?";
    alert_ack: (S, Ts, Option<S>, S, S) =
        "UPDATE alerts SET status = 'acknowledged', acknowledged_by = ?, acknowledged_at = ?, note = ? \
         WHERE id = ? IF status = ?";
    alert_escalate: (S, S) = "UPDATE alerts SET status = 'escalated', escalation_id = ? WHERE id = ? IF status = 'open'";
    alert_resolve: (S, S) = "UPDATE alerts SET status = 'resolved' WHERE id = ? IF status = ?";
    alert_index_insert: (S, Ts, S) = "INSERT INTO alerts_by_patient (patient_id, created_at, id) VALUES (?, ?, ?)";
    // Paged (see `Stmt::page`): a list reads on until it has filled its page, however many
    // closed alerts come first.
    alert_index_from: (S, Ts) =
        "SELECT created_at, id FROM alerts_by_patient WHERE patient_id = ? AND created_at <= ?";
    deadline_insert: (i32, Ts, S, i32) =
        "INSERT INTO alerts_by_deadline (bucket, deadline, id) VALUES (?, ?, ?) USING TTL ?";
    deadline_due: (i32, Ts, i32) =
        "SELECT deadline, id FROM alerts_by_deadline WHERE bucket = ? AND deadline <= ? LIMIT ?";
    deadline_delete: (i32, Ts, S) = "DELETE FROM alerts_by_deadline WHERE bucket = ? AND deadline = ? AND id = ?";

    // ---- risk episodes (see episodes.rs) ----
    #[serial]
    episode_open_get: (S,) = "SELECT alert_id FROM open_episodes WHERE patient_id = ?";
    episode_open_claim: (S, S) = "INSERT INTO open_episodes (patient_id, alert_id) VALUES (?, ?) IF NOT EXISTS";
    episode_open_move: (S, S, S) = "UPDATE open_episodes SET alert_id = ? WHERE patient_id = ? IF alert_id = ?";
    episode_get: (S,) =
        "SELECT level, score, reasons, ack_deadline, message_ids, updated_at, version FROM alert_episodes \
         WHERE alert_id = ?";
    #[serial]
    episode_get_serial: (S,) =
        "SELECT level, score, reasons, ack_deadline, message_ids, updated_at, version FROM alert_episodes \
         WHERE alert_id = ?";
    episode_create: (S, S, f32, S, Un<Ts>, S, Ts) =
        "INSERT INTO alert_episodes (alert_id, level, score, reasons, ack_deadline, message_ids, updated_at, \
         version) VALUES (?, ?, ?, ?, ?, ?, ?, 1) IF NOT EXISTS";
    episode_update: (S, f32, S, Un<Ts>, S, Ts, i32, S, i32) =
        "UPDATE alert_episodes SET level = ?, score = ?, reasons = ?, ack_deadline = ?, message_ids = ?, \
         updated_at = ?, version = ? WHERE alert_id = ? IF version = ?";
    episode_message_claim: (S, S) = "INSERT INTO alert_messages (message_id, alert_id) VALUES (?, ?) IF NOT EXISTS";
    #[serial]
    episode_message_holder: (S,) = "SELECT alert_id FROM alert_messages WHERE message_id = ?";
    // ---- the screening journal (see screening.rs) ----
    journal_insert: (i32, i32, Ts, S, S, S, i32) =
        "INSERT INTO screening_journal (minute, shard, journaled_at, message_id, conversation_id, patient_id) \
         VALUES (?, ?, ?, ?, ?, ?) USING TTL ?";
    // Paged.
    journal_window: (i32, i32, Ts, Ts) =
        "SELECT journaled_at, message_id, conversation_id, patient_id FROM screening_journal \
         WHERE minute = ? AND shard = ? AND journaled_at >= ? AND journaled_at < ?";

    pause_set: (S, bool, Ts) = "INSERT INTO patient_pauses (patient_id, paused, changed_at) VALUES (?, ?, ?)";
    pause_get: (S,) = "SELECT paused FROM patient_pauses WHERE patient_id = ?";

    esc_create: (S, S, S, S, Ts) =
        "INSERT INTO escalations (id, alert_id, patient_id, reason, status, created_at) VALUES (?, ?, ?, ?, 'open', ?) \
         IF NOT EXISTS";
    esc_get: (S,) =
        "SELECT id, alert_id, patient_id, reason, status, claimed_by, created_at, resolved_at, note FROM escalations \
         WHERE id = ?";
    #[serial]
    esc_get_serial: (S,) =
        "SELECT id, alert_id, patient_id, reason, status, claimed_by, created_at, resolved_at, note FROM escalations \
         WHERE id = ?";
    esc_claim: (S, S) = "UPDATE escalations SET status = 'claimed', claimed_by = ? WHERE id = ? IF status = 'open'";
    esc_resolve: (Ts, S, S, S, S) =
        "UPDATE escalations SET status = 'resolved', resolved_at = ?, note = ?, claimed_by = ? WHERE id = ? \
         IF status = ?";
    esc_delete: (S,) = "DELETE FROM escalations WHERE id = ? IF EXISTS";
    esc_index_insert: (S, Ts, S) = "INSERT INTO escalations_by_patient (patient_id, created_at, id) VALUES (?, ?, ?)";
    duty_esc_insert: (i32, Ts, S) = "INSERT INTO escalations_for_duty (shard, created_at, id) VALUES (?, ?, ?)";
    // Paged.
    duty_esc_from: (i32, Ts) = "SELECT created_at, id FROM escalations_for_duty WHERE shard = ? AND created_at <= ?";
    esc_index_from: (S, Ts) =
        "SELECT created_at, id FROM escalations_by_patient WHERE patient_id = ? AND created_at <= ?";
    esc_index_delete: (S, Ts, S) =
        "DELETE FROM escalations_by_patient WHERE patient_id = ? AND created_at = ? AND id = ?";

    // ---- crisis follow-up (see followups.rs) ----
    fu_create: (S, S, S, Ts, Ts) =
        "INSERT INTO followups (id, patient_id, alert_id, due_at, status, created_at) \
         VALUES (?, ?, ?, ?, 'pending', ?) IF NOT EXISTS";
    fu_get: (S,) =
        "SELECT id, patient_id, alert_id, due_at, status, done_by, done_at, note, created_at, escalation_id \
         FROM followups WHERE id = ?";
    #[serial]
    fu_get_serial: (S,) =
        "SELECT id, patient_id, alert_id, due_at, status, done_by, done_at, note, created_at, escalation_id \
         FROM followups WHERE id = ?";
    fu_done: (S, Ts, Option<S>, S) =
        "UPDATE followups SET status = 'done', done_by = ?, done_at = ?, note = ? WHERE id = ? \
         IF status = 'pending'";
    fu_miss: (S, S) = "UPDATE followups SET status = 'missed', escalation_id = ? WHERE id = ? IF status = 'pending'";
    fu_index_insert: (S, Ts, S) = "INSERT INTO followups_by_patient (patient_id, created_at, id) VALUES (?, ?, ?)";
    fu_index_list: (S,) = "SELECT created_at, id FROM followups_by_patient WHERE patient_id = ?";
    fu_due_insert: (i32, Ts, S, i32) = "INSERT INTO followups_by_due (bucket, due_at, id) VALUES (?, ?, ?) USING TTL ?";
    fu_due: (i32, Ts, i32) = "SELECT due_at, id FROM followups_by_due WHERE bucket = ? AND due_at <= ? LIMIT ?";
    fu_due_delete: (i32, Ts, S) = "DELETE FROM followups_by_due WHERE bucket = ? AND due_at = ? AND id = ?";
    fu_esc_insert: (S, S) = "INSERT INTO followup_escalations (escalation_id, followup_id) VALUES (?, ?)";
    fu_esc_get: (S,) = "SELECT followup_id FROM followup_escalations WHERE escalation_id = ?";

    // ---- audit ----
    audit_day_insert: (i32,) = "INSERT INTO audit_days (shard, day_bucket) VALUES (0, ?)";
    audit_by_day_insert: (i32, i64, S, Ts, Un<S>, Un<S>, S, S, Un<S>, Un<S>) =
        "INSERT INTO audit_by_day (day_bucket, ord, id, happened_at, actor_id, actor_role, action, target, \
         remote_addr, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    audit_by_target_insert: (S, i64, S, Ts, Un<S>, Un<S>, S, Un<S>, Un<S>) =
        "INSERT INTO audit_by_target (target, ord, id, happened_at, actor_id, actor_role, action, remote_addr, \
         detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    audit_days_list: (i32,) = "SELECT day_bucket FROM audit_days WHERE shard = 0 LIMIT ?";
    audit_by_day_list: (i32, i32) =
        "SELECT happened_at, actor_id, actor_role, action, target, remote_addr, detail FROM audit_by_day \
         WHERE day_bucket = ? LIMIT ?";
    audit_by_target_list: (S, i32) =
        "SELECT happened_at, actor_id, actor_role, action, target, remote_addr, detail FROM audit_by_target \
         WHERE target = ? LIMIT ?";

    // ---- data rights (see rights.rs and audit.rs) ----
    #[serial]
    audit_chain_head: (i32,) = "SELECT seq, hash FROM audit_chain WHERE shard = ? LIMIT 1";
    #[serial]
    audit_chain_hash: (i32, i64) = "SELECT hash FROM audit_chain WHERE shard = ? AND seq = ?";
    audit_chain_append: (i32, i64, Ts, Un<S>, Un<S>, S, S, Un<S>, Un<S>, S, S) =
        "INSERT INTO audit_chain (shard, seq, happened_at, actor_id, actor_role, action, target, remote_addr, \
         detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS";
    // Paged, oldest first.
    audit_chain_from: (i32, i64) =
        "SELECT seq, happened_at, actor_id, actor_role, action, target, remote_addr, detail, prev_hash, hash \
         FROM audit_chain WHERE shard = ? AND seq > ? ORDER BY seq ASC";
    erasure_insert: (S, S, S, Ts, Ts) =
        "INSERT INTO erasures (patient_id, id, status, requested_by, requested_at, erase_at) \
         VALUES (?, ?, 'scheduled', ?, ?, ?)";
    erasure_get: (S,) =
        "SELECT id, patient_id, status, requested_by, requested_at, erase_at FROM erasures WHERE patient_id = ?";
    #[serial]
    erasure_get_serial: (S,) =
        "SELECT id, patient_id, status, requested_by, requested_at, erase_at FROM erasures WHERE patient_id = ?";
    erasure_move: (S, S, S) = "UPDATE erasures SET status = ? WHERE patient_id = ? IF status = ?";
    erasure_due_insert: (i32, Ts, S) = "INSERT INTO erasures_due (shard, erase_at, patient_id) VALUES (?, ?, ?)";
    erasure_due_delete: (i32, Ts, S) =
        "DELETE FROM erasures_due WHERE shard = ? AND erase_at = ? AND patient_id = ?";
    erasure_due_list: (i32, Ts, i32) =
        "SELECT erase_at, patient_id FROM erasures_due WHERE shard = ? AND erase_at <= ? LIMIT ?";
    erase_msg_ids: (S, i32) = "SELECT id, client_msg_id FROM messages WHERE conversation_id = ? AND bucket = ?";
    erase_msg_bucket: (S, i32) = "DELETE FROM messages WHERE conversation_id = ? AND bucket = ?";
    erase_msg_by_id: (S,) = "DELETE FROM messages_by_id WHERE id = ?";
    erase_msg_claim: (S, S) = "DELETE FROM messages_by_client_id WHERE patient_id = ? AND client_msg_id = ?";
    erase_conversation: (S,) = "DELETE FROM conversations WHERE id = ?";
    erase_alert_text: (S, S) = "UPDATE alerts SET excerpt = '', note = null, reasons = ? WHERE id = ?";
    erase_episode_reasons: (S, S) = "UPDATE alert_episodes SET reasons = ? WHERE alert_id = ?";
    erase_esc_note: (S,) = "UPDATE escalations SET note = null WHERE id = ?";
    erase_caseload_by_clinician: (S, S) =
        "DELETE FROM caseloads_by_clinician WHERE clinician_id = ? AND patient_id = ?";
    erase_caseloads_by_patient: (S,) = "DELETE FROM caseloads_by_patient WHERE patient_id = ?";
    erase_registry: (i32, Ts, S) =
        "DELETE FROM patients_by_registration WHERE shard = ? AND registered_at = ? AND id = ?";
    erase_username: (S,) = "DELETE FROM users_by_username WHERE username_key = ?";
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::scylla::schema::{MIGRATIONS, split_statements};

    /// Table → (columns, partition key columns), parsed from the migrations.
    fn schema() -> BTreeMap<String, (BTreeSet<String>, Vec<String>)> {
        let mut tables = BTreeMap::new();
        for (_, script) in MIGRATIONS {
            for stmt in split_statements(script) {
                let Some(rest) = stmt.strip_prefix("CREATE TABLE IF NOT EXISTS ") else { continue };
                let name = rest.split_whitespace().next().unwrap().trim_end_matches('(').to_owned();
                let open = rest.find('(').unwrap();
                let mut depth = 0;
                let close = rest
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '(' => 1,
                            ')' => -1,
                            _ => 0,
                        };
                        c == ')' && depth == 0
                    })
                    .unwrap()
                    .0;
                let body = &rest[open + 1..close];
                let mut cols = BTreeSet::new();
                let mut pk: Vec<String> = Vec::new();
                // Split the body at top-level commas.
                let (mut depth, mut part, mut parts) = (0, String::new(), Vec::new());
                for c in body.chars() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        ',' if depth == 0 => {
                            parts.push(std::mem::take(&mut part));
                            continue;
                        }
                        _ => {}
                    }
                    part.push(c);
                }
                parts.push(part);
                for p in parts {
                    let p = p.trim();
                    if let Some(key) = p.strip_prefix("PRIMARY KEY") {
                        let key = key.trim().strip_prefix('(').unwrap().strip_suffix(')').unwrap().trim();
                        pk = if let Some(inner) = key.strip_prefix('(') {
                            inner[..inner.find(')').unwrap()].split(',').map(|s| s.trim().to_owned()).collect()
                        } else {
                            vec![key.split(',').next().unwrap().trim().to_owned()]
                        };
                    } else {
                        let mut it = p.split_whitespace();
                        let col = it.next().unwrap().to_owned();
                        if p.ends_with("PRIMARY KEY") {
                            pk = vec![col.clone()];
                        }
                        cols.insert(col);
                    }
                }
                assert!(!pk.is_empty(), "{name}: no primary key");
                tables.insert(name, (cols, pk));
            }
        }
        tables
    }

    const KEYWORDS: &[&str] = &[
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "LIMIT",
        "INSERT",
        "INTO",
        "VALUES",
        "IF",
        "NOT",
        "EXISTS",
        "USING",
        "TTL",
        "TIMESTAMP",
        "UPDATE",
        "SET",
        "DELETE",
        "ORDER",
        "BY",
        "ASC",
        "NULL",
    ];

    fn table_of(e: &Entry) -> String {
        let w = words(e.cql);
        let verb = w[0].to_uppercase();
        let after = match verb.as_str() {
            "SELECT" | "DELETE" => "FROM",
            "INSERT" => "INTO",
            "UPDATE" => "UPDATE",
            other => panic!("{}: unexpected verb {other}", e.name),
        };
        let i = w.iter().position(|x| x.eq_ignore_ascii_case(after)).unwrap();
        w[i + 1].clone()
    }

    #[test]
    fn schema_parser_reads_keys() {
        let t = schema();
        assert!(t.len() >= 19, "{:?}", t.keys());
        assert_eq!(t["messages"].1, vec!["conversation_id".to_owned(), "bucket".to_owned()]);
        assert_eq!(t["messages_by_client_id"].1, vec!["patient_id".to_owned(), "client_msg_id".to_owned()]);
        assert_eq!(t["users"].1, vec!["id".to_owned()]);
        assert_eq!(t["alerts_by_deadline"].1, vec!["bucket".to_owned()]);
        assert!(t["alerts"].0.contains("escalation_id"));
        assert!(!t["messages"].0.contains("text"), "a column named like a CQL type");
    }

    #[test]
    fn names_are_unique_and_verbs_known() {
        let mut seen = BTreeSet::new();
        for e in CATALOGUE {
            assert!(seen.insert(e.name), "duplicate statement {}", e.name);
            let verb = e.cql.split_whitespace().next().unwrap();
            assert!(["SELECT", "INSERT", "UPDATE", "DELETE"].contains(&verb), "{}: verb {verb}", e.name);
            assert!(!e.cql.contains(';'), "{}: contains ';'", e.name);
            assert!(!e.cql.contains("  "), "{}: double space (broken line continuation?)", e.name);
            assert!(!e.cql.to_uppercase().contains("ALLOW FILTERING"), "{}: ALLOW FILTERING", e.name);
        }
    }

    #[test]
    fn bind_markers_match_bind_types() {
        for e in CATALOGUE {
            assert_eq!(count_markers(e.cql), e.binds, "{}: markers vs bind tuple arity in {:?}", e.name, e.cql);
        }
        assert_eq!(count_markers("SELECT a FROM t WHERE k = '?' AND j = ?"), 1, "markers in literals are not binds");
    }

    #[test]
    fn insert_column_lists_match_values() {
        for e in CATALOGUE.iter().filter(|e| e.cql.starts_with("INSERT")) {
            let cols = &e.cql[e.cql.find('(').unwrap() + 1..e.cql.find(')').unwrap()];
            let vals_at = e.cql.find("VALUES").unwrap();
            let vals = &e.cql[vals_at..];
            let vals = &vals[vals.find('(').unwrap() + 1..vals.find(')').unwrap()];
            assert_eq!(cols.split(',').count(), vals.split(',').count(), "{}: columns vs VALUES", e.name);
        }
    }

    #[test]
    fn statements_use_only_schema_tables_and_columns_and_full_partition_keys() {
        let tables = schema();
        for e in CATALOGUE {
            let table = table_of(e);
            if table.contains('.') {
                continue; // system tables
            }
            let (cols, pk) = tables.get(&table).unwrap_or_else(|| panic!("{}: unknown table {table}", e.name));
            for w in words(e.cql) {
                let upper = w.to_uppercase();
                if KEYWORDS.contains(&upper.as_str()) || w == table || w.eq_ignore_ascii_case("release_version") {
                    continue;
                }
                assert!(cols.contains(&w), "{}: {w} is not a column of {table}", e.name);
            }
            if !e.cql.starts_with("INSERT") {
                let where_ = &e.cql[e.cql.find(" WHERE ").unwrap_or_else(|| panic!("{}: no WHERE", e.name))..];
                for k in pk {
                    assert!(
                        where_.contains(&format!(" {k} = ")),
                        "{}: WHERE does not fix partition key column {k} (full scan)",
                        e.name
                    );
                }
            }
        }
    }

    #[test]
    fn lwt_and_consistency_options_are_coherent() {
        for e in CATALOGUE {
            if e.opts.contains(&Opt::serial) {
                assert!(e.cql.starts_with("SELECT"), "{}: serial consistency is for reads", e.name);
            }
            if e.cql.starts_with("SELECT") {
                assert!(!is_lwt(e.cql), "{}", e.name);
            }
            if is_lwt(e.cql) {
                assert!(!e.cql.contains("TIMESTAMP ?"), "{}: LWTs cannot take USING TIMESTAMP", e.name);
            }
        }
        assert!(is_lwt("UPDATE t SET a = 1 WHERE k = ? IF a = ?"));
        assert!(is_lwt("INSERT INTO t (k) VALUES (?) IF NOT EXISTS"));
        assert!(!is_lwt("INSERT INTO t (k, s) VALUES (?, 'IF')"));
        // The LWTs the design relies on are there.
        for name in [
            "username_claim",
            "skeleton_claim",
            "conv_create",
            "conv_take_seq",
            "claim_insert",
            "alert_create",
            "alert_ack",
            "alert_escalate",
            "alert_resolve",
            "esc_create",
            "esc_claim",
            "esc_resolve",
            "fu_create",
            "fu_done",
            "fu_miss",
        ] {
            let e = CATALOGUE.iter().find(|e| e.name == name).unwrap();
            assert!(is_lwt(e.cql), "{name} must be a compare-and-set");
        }
    }

    #[test]
    fn audit_tables_are_only_inserted_into() {
        for e in CATALOGUE {
            if table_of(e).starts_with("audit") {
                assert!(
                    e.cql.starts_with("INSERT") || e.cql.starts_with("SELECT"),
                    "{}: audit log is append-only",
                    e.name
                );
            }
        }
    }
}
