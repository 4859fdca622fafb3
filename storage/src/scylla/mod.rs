//! The ScyllaDB backend (`--store scylla`). Same semantics as [`crate::sqlite`]; the conformance
//! suite (`tests/scylla_conformance.rs`) runs against it when `HEALING_TEST_SCYLLA` names a node.
//! See `docs/scylla.md` for the schema and its reasoning.
//!
//! Runtime: the driver spawns its connection tasks on the runtime that builds the `Session`, and
//! the gateway's actix workers are single-threaded runtimes. So the store owns a small
//! multi-threaded tokio runtime (threads named `scylla-io`), builds the session on it and runs
//! every operation there (`handle.spawn(fut).await`); callers on any runtime just await. The
//! runtime is shut down (in the background, without blocking) when the store is dropped.
//!
//! Consistency: LOCAL_QUORUM for reads and writes, SERIAL (not LOCAL_SERIAL: a Paxos round
//! per datacenter would let two DCs both win one seq) for LWTs and the few reads that
//! must see an LWT's outcome. LWTs are used only where several nodes may race: taking a message
//! seq, claiming a `client_msg_id` or a username, creating conversations/alerts/escalations, and
//! every alert/escalation state transition.

mod accounts;
mod alerts;
mod audit;
mod chat;
pub mod cql;
mod episodes;
mod followups;
pub mod plan;
mod rights;
pub mod rows;
pub mod schema;
mod screening;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use healing_protocol::{
    Alert, ConversationSummary, Escalation, EscalationReason, Followup, Message, Risk, Timestamp, User,
};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::deserialize::row::DeserializeRow;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::response::query_result::QueryResult;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};
use scylla::value::{CqlValue, Row};

use crate::error::{Result, StoreError};
use crate::store::*;

/// Replication of the keyspace (used only when this store creates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// One datacenter (development, single-DC test clusters).
    Simple { factor: u32 },
    /// Datacenter name → replication factor (production).
    NetworkTopology(BTreeMap<String, u32>),
}

impl Default for Replication {
    fn default() -> Self {
        Replication::Simple { factor: 1 }
    }
}

/// How to reach and lay out the ScyllaDB store.
#[derive(Debug, Clone)]
pub struct ScyllaConfig {
    /// Contact points, `host:port`.
    pub nodes: Vec<String>,
    /// Keyspace (created if missing): 1-48 ASCII letters, digits, underscores.
    pub keyspace: String,
    pub replication: Replication,
    /// Messages, their indexes and conversation rows expire this many days after their last
    /// write (`None` = keep forever). Accounts, alerts, escalations and the audit log are kept.
    pub retention_days: Option<u32>,
    /// Time to establish the session (each connection, and the whole initial handshake).
    pub connect_timeout: Duration,
    /// Client-side timeout of each request.
    pub request_timeout: Duration,
    /// On a server with tablets (ScyllaDB >= 6, detected at connect), create the keyspace with
    /// `tablets = {'enabled': false}`: LWT is not supported on tablets in some ScyllaDB releases.
    /// Servers without tablets (Cassandra, older ScyllaDB) never get the clause. Only affects
    /// keyspace creation.
    pub disable_tablets: bool,
    /// Username and password, when the cluster has authentication enabled.
    pub credentials: Option<(String, String)>,
    /// Worker threads of the store's own runtime.
    pub io_threads: usize,
}

impl Default for ScyllaConfig {
    fn default() -> Self {
        ScyllaConfig {
            nodes: vec!["127.0.0.1:9042".into()],
            keyspace: "healing_space".into(),
            replication: Replication::default(),
            retention_days: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            disable_tablets: true,
            credentials: None,
            io_threads: 2,
        }
    }
}

/// Owns the I/O runtime; shuts it down without blocking (safe inside another runtime).
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

fn io_runtime(threads: usize) -> Result<IoRuntime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("scylla-io")
        .enable_all()
        .build()
        .map(|rt| IoRuntime(Some(rt)))
        .map_err(|e| StoreError::Unavailable(format!("cannot start the scylla-io runtime: {e}")))
}

/// The ScyllaDB store.
pub struct ScyllaStore {
    inner: Arc<Inner>,
    handle: tokio::runtime::Handle,
    _runtime: IoRuntime,
}

/// Session, statements and settings; lives on the I/O runtime.
pub(crate) struct Inner {
    session: Session,
    st: cql::Statements,
    keyspace: String,
    /// Retention TTL in seconds, `0` = none.
    retention_ttl: i32,
    last_full_sweep: parking_lot::Mutex<Option<Instant>>,
    /// The same for the follow-up deadline index.
    last_full_followup_sweep: parking_lot::Mutex<Option<Instant>>,
    /// Where the next screening-journal sweep starts (ms; see screening.rs).
    journal_mark: parking_lot::Mutex<Option<i64>>,
    /// Faults injected by tests ([`ScyllaStore::inject_fault`]), as a bit set of [`Fault`]s.
    faults: std::sync::atomic::AtomicU32,
    /// The audit chain's head as this node last wrote it (see audit.rs).
    chain_head_cache: audit::ChainHead,
}

/// A failure the tests can inject where no real node can be made to fail on cue.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Writing a message's rows fails right after its seq compare-and-set applied.
    RowWrites = 1,
    /// The alert's open → escalated CAS reports "unknown" at once and reaches the replicas
    /// 300 ms later (a coordinator that kept trying after the client timed out).
    LateEscalation = 2,
}

pub(crate) fn injected() -> StoreError {
    StoreError::Unavailable("injected fault".into())
}

impl Inner {
    pub(crate) fn fault(&self, f: Fault) -> bool {
        self.faults.load(std::sync::atomic::Ordering::Relaxed) & (f as u32) != 0
    }
}

impl ScyllaStore {
    /// Connects, creates the keyspace if needed, applies migrations and prepares every statement.
    /// Blocking (it runs the handshake on the store's own runtime from a helper thread), so it is
    /// safe to call from `main` before actix starts, or from any thread; inside async code prefer
    /// [`ScyllaStore::connect_async`].
    pub fn connect(cfg: ScyllaConfig) -> Result<ScyllaStore> {
        let runtime = io_runtime(cfg.io_threads)?;
        let handle = runtime.0.as_ref().map(|rt| rt.handle().clone()).ok_or_else(shut_down)?;
        let h = handle.clone();
        let inner = std::thread::scope(|s| s.spawn(move || h.block_on(Inner::connect(cfg))).join())
            .map_err(|_| StoreError::Internal("scylla connect panicked".into()))??;
        Ok(ScyllaStore { inner: Arc::new(inner), handle, _runtime: runtime })
    }

    /// [`ScyllaStore::connect`] for async callers (any runtime).
    pub async fn connect_async(cfg: ScyllaConfig) -> Result<ScyllaStore> {
        let runtime = io_runtime(cfg.io_threads)?;
        let handle = runtime.0.as_ref().map(|rt| rt.handle().clone()).ok_or_else(shut_down)?;
        let inner = handle.spawn(Inner::connect(cfg)).await.map_err(join_err)??;
        Ok(ScyllaStore { inner: Arc::new(inner), handle, _runtime: runtime })
    }

    /// Turns an injected failure on or off. For tests only.
    #[doc(hidden)]
    pub fn inject_fault(&self, fault: Fault, on: bool) {
        use std::sync::atomic::Ordering;
        if on {
            self.inner.faults.fetch_or(fault as u32, Ordering::Relaxed);
        } else {
            self.inner.faults.fetch_and(!(fault as u32), Ordering::Relaxed);
        }
    }

    /// The keyspace this store uses.
    pub fn keyspace(&self) -> &str {
        &self.inner.keyspace
    }

    /// Drops this store's keyspace and everything in it. For tests and tooling only.
    pub async fn drop_keyspace(&self) -> Result<()> {
        self.run(|i| async move {
            let cql = format!("DROP KEYSPACE IF EXISTS {}", i.keyspace);
            let mut st = scylla::statement::unprepared::Statement::new(cql);
            st.set_request_timeout(Some(Duration::from_secs(60)));
            i.session.query_unpaged(st, ()).await.map_err(|e| exec_err("drop keyspace", e))?;
            Ok(())
        })
        .await
    }

    /// Runs `f` on the I/O runtime.
    async fn run<T, Fut>(&self, f: impl FnOnce(Arc<Inner>) -> Fut) -> Result<T>
    where
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn(f(self.inner.clone())).await.map_err(join_err)?
    }
}

fn shut_down() -> StoreError {
    StoreError::Unavailable("scylla store is shut down".into())
}

fn join_err(e: tokio::task::JoinError) -> StoreError {
    if e.is_cancelled() { shut_down() } else { StoreError::Internal(format!("scylla task panicked: {e}")) }
}

impl Inner {
    async fn connect(cfg: ScyllaConfig) -> Result<Inner> {
        if cfg.nodes.is_empty() {
            return Err(StoreError::Invalid("no ScyllaDB nodes configured".into()));
        }
        schema::keyspace_ddl(&cfg, &schema::Server::Cassandra { release: String::new() })?; // validate before connecting
        let profile = ExecutionProfile::builder()
            .consistency(Consistency::LocalQuorum)
            .serial_consistency(Some(SerialConsistency::Serial))
            .request_timeout(Some(cfg.request_timeout))
            .build();
        let mut builder = SessionBuilder::new()
            .known_nodes(&cfg.nodes)
            .connection_timeout(cfg.connect_timeout)
            .default_execution_profile_handle(profile.into_handle());
        if let Some((user, password)) = &cfg.credentials {
            builder = builder.user(user, password);
        }
        let session = tokio::time::timeout(cfg.connect_timeout, builder.build())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "no ScyllaDB node answered within {:?} ({:?})",
                    cfg.connect_timeout, cfg.nodes
                ))
            })?
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to ScyllaDB {:?}: {e}", cfg.nodes)))?;
        let node_id = uuid::Uuid::new_v4().to_string();
        let server = schema::detect_server(&session).await?;
        schema::migrate(&session, &cfg, &server, &node_id).await?;
        let st = cql::Statements::prepare(&session).await?;
        tracing::info!(keyspace = %cfg.keyspace, nodes = ?cfg.nodes, %server, "connected to the CQL store");
        Ok(Inner {
            session,
            st,
            keyspace: cfg.keyspace,
            retention_ttl: plan::retention_ttl(cfg.retention_days),
            last_full_sweep: parking_lot::Mutex::new(None),
            last_full_followup_sweep: parking_lot::Mutex::new(None),
            journal_mark: parking_lot::Mutex::new(None),
            faults: std::sync::atomic::AtomicU32::new(0),
            chain_head_cache: tokio::sync::Mutex::new(None),
        })
    }
}

impl Inner {
    /// A logged batch (eventually all or nothing, across partitions) of plain idempotent writes.
    pub(crate) fn logged_batch(&self, stmts: &[&PreparedStatement]) -> Batch {
        let mut b = Batch::new(BatchType::Logged);
        for s in stmts {
            b.append_statement((*s).clone());
        }
        b.set_is_idempotent(true);
        b
    }
}

/// Maps a driver error: malformed statements and values are bugs, everything else (timeouts,
/// unavailable replicas, broken connections, overload) means the store cannot serve right now.
pub(crate) fn exec_err(what: &str, e: ExecutionError) -> StoreError {
    let bug = match &e {
        ExecutionError::BadQuery(_) | ExecutionError::PrepareError(_) => true,
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => {
            matches!(db, DbError::SyntaxError | DbError::Invalid | DbError::ConfigError | DbError::AlreadyExists { .. })
        }
        _ => false,
    };
    if bug { StoreError::Internal(format!("{what}: {e}")) } else { StoreError::Unavailable(format!("{what}: {e}")) }
}

fn decode_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("unexpected result from ScyllaDB: {e}"))
}

/// All rows of a result.
pub(crate) fn all_rows<R>(res: QueryResult) -> Result<Vec<R>>
where
    R: for<'f> DeserializeRow<'f, 'f>,
{
    let rows = res.into_rows_result().map_err(decode_err)?;
    rows.rows::<R>().map_err(decode_err)?.map(|r| r.map_err(decode_err)).collect()
}

/// The first row of a result, if any.
pub(crate) fn first_row<R>(res: QueryResult) -> Result<Option<R>>
where
    R: for<'f> DeserializeRow<'f, 'f>,
{
    let rows = res.into_rows_result().map_err(decode_err)?;
    rows.maybe_first_row::<R>().map_err(decode_err)
}

/// Whether an LWT applied: the `[applied]` column, which comes first whatever other columns the
/// server adds (ScyllaDB returns the old row either way; Cassandra only when not applied), so the
/// row is read untyped.
pub(crate) fn lwt_applied(res: QueryResult) -> Result<bool> {
    let rows = res.into_rows_result().map_err(decode_err)?;
    let name = rows.column_specs().get_by_index(0).map(|c| c.name().to_owned());
    if name.as_deref() != Some("[applied]") {
        return Err(StoreError::Internal(format!("LWT result without [applied] column (first column {name:?})")));
    }
    let row: Option<Row> = rows.maybe_first_row::<Row>().map_err(decode_err)?;
    match row.and_then(|r| r.columns.into_iter().next().flatten()) {
        Some(CqlValue::Boolean(b)) => Ok(b),
        other => Err(StoreError::Internal(format!("LWT [applied] is {other:?}"))),
    }
}

/// Outcome of a compare-and-set whose result may be unknown.
pub(crate) enum Cas {
    Applied,
    NotApplied,
    /// The request failed in a way that leaves its outcome unknown (timeout, lost connection):
    /// the caller must re-read to find out.
    Unknown(StoreError),
}

/// Runs an LWT and classifies the outcome.
pub(crate) fn cas_outcome(what: &str, res: std::result::Result<QueryResult, ExecutionError>) -> Result<Cas> {
    match res {
        Ok(r) => Ok(if lwt_applied(r)? { Cas::Applied } else { Cas::NotApplied }),
        Err(e) => match exec_err(what, e) {
            StoreError::Unavailable(m) => Ok(Cas::Unknown(StoreError::Unavailable(m))),
            other => Err(other),
        },
    }
}

/// A pseudo-random number for jitter (no RNG dependency needed).
pub(crate) fn jitter() -> u64 {
    let v = uuid::Uuid::new_v4().as_u128();
    (v as u64) ^ ((v >> 64) as u64)
}

#[async_trait::async_trait]
impl Store for ScyllaStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.run(move |i| async move { i.create_user(user).await }).await
    }
    async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let u = username.to_owned();
        self.run(move |i| async move { i.credentials(&u).await }).await
    }
    async fn user(&self, id: &str) -> Result<Option<User>> {
        let id = id.to_owned();
        self.run(move |i| async move { i.user(&id).await }).await
    }
    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let u = username.to_owned();
        self.run(move |i| async move { Ok(i.credentials(&u).await?.map(|c| c.user)) }).await
    }
    async fn insert_token(&self, token_hash: &str, user_id: &str, expires_at: Timestamp) -> Result<()> {
        let (h, u) = (token_hash.to_owned(), user_id.to_owned());
        self.run(move |i| async move { i.insert_token(h, u, expires_at).await }).await
    }
    async fn revoke_token(&self, token_hash: &str, now: Timestamp) -> Result<()> {
        let h = token_hash.to_owned();
        self.run(move |i| async move { i.revoke_token(h, now).await }).await
    }
    async fn token_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<TokenSession>> {
        let h = token_hash.to_owned();
        self.run(move |i| async move { i.token_session(h, now).await }).await
    }
    async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<()> {
        let u = user_id.to_owned();
        self.run(move |i| async move { i.set_user_disabled(u, disabled).await }).await
    }
    async fn user_disabled(&self, user_id: &str) -> Result<bool> {
        let u = user_id.to_owned();
        self.run(move |i| async move { i.user_disabled(u).await }).await
    }
    async fn assign(&self, clinician_id: &str, patient_id: &str) -> Result<()> {
        let (c, p) = (clinician_id.to_owned(), patient_id.to_owned());
        self.run(move |i| async move { i.assign(c, p).await }).await
    }
    async fn add_to_team(&self, supervisor_id: &str, clinician_id: &str) -> Result<()> {
        let (s, c) = (supervisor_id.to_owned(), clinician_id.to_owned());
        self.run(move |i| async move { i.add_to_team(s, c).await }).await
    }
    async fn clinicians_of(&self, patient_id: &str) -> Result<Vec<String>> {
        let p = patient_id.to_owned();
        self.run(move |i| async move { i.clinicians_of(p).await }).await
    }
    async fn supervisors_of(&self, patient_id: &str) -> Result<Vec<String>> {
        let p = patient_id.to_owned();
        self.run(move |i| async move { i.supervisors_of(p).await }).await
    }
    async fn caseload(&self, clinician_id: &str) -> Result<Vec<User>> {
        let c = clinician_id.to_owned();
        self.run(move |i| async move { i.caseload(c).await }).await
    }
    async fn can_view_patient(&self, viewer: &User, patient_id: &str) -> Result<bool> {
        let (v, p) = (viewer.clone(), patient_id.to_owned());
        self.run(move |i| async move { i.can_view_patient(v, p).await }).await
    }
    async fn add_duty_supervisor(&self, supervisor_id: &str) -> Result<()> {
        let s = supervisor_id.to_owned();
        self.run(move |i| async move { i.add_duty_supervisor(s).await }).await
    }
    async fn duty_supervisors(&self) -> Result<Vec<String>> {
        self.run(move |i| async move { i.duty_supervisors().await }).await
    }
    async fn unassigned_patients(&self, limit: u32) -> Result<Vec<User>> {
        self.run(move |i| async move { i.unassigned_patients(limit).await }).await
    }
    async fn append_message_within(&self, message: NewMessage, max_conversations: Option<u32>) -> Result<Appended> {
        self.run(move |i| async move { i.append_message(message, max_conversations).await }).await
    }
    async fn conversation(&self, id: &str) -> Result<Option<Conversation>> {
        let id = id.to_owned();
        self.run(move |i| async move { Ok(i.conversation_state(&id).await?.map(|s| s.conversation)) }).await
    }
    async fn conversations_of(&self, patient_id: &str) -> Result<Vec<ConversationSummary>> {
        let p = patient_id.to_owned();
        self.run(move |i| async move { i.conversations_of(p).await }).await
    }
    async fn messages(&self, conversation_id: &str, before_seq: Option<i64>, limit: u32) -> Result<Vec<Message>> {
        let c = conversation_id.to_owned();
        self.run(move |i| async move { i.messages(c, before_seq, limit).await }).await
    }
    async fn message(&self, id: &str) -> Result<Option<Message>> {
        let id = id.to_owned();
        self.run(move |i| async move { i.message(&id).await }).await
    }
    async fn set_message_risk(&self, message_id: &str, risk: &Risk) -> Result<()> {
        let (id, risk) = (message_id.to_owned(), risk.clone());
        self.run(move |i| async move { i.set_message_risk(id, risk).await }).await
    }
    async fn set_chat_paused(&self, conversation_id: &str, paused: bool) -> Result<()> {
        let c = conversation_id.to_owned();
        self.run(move |i| async move { i.set_chat_paused(c, paused).await }).await
    }
    async fn set_patient_paused(&self, patient_id: &str, paused: bool) -> Result<Vec<String>> {
        let p = patient_id.to_owned();
        self.run(move |i| async move { i.set_patient_paused(p, paused).await }).await
    }
    async fn patient_paused(&self, patient_id: &str) -> Result<bool> {
        let p = patient_id.to_owned();
        self.run(move |i| async move { i.patient_paused(&p).await }).await
    }
    async fn record_risk(&self, evidence: Alert, message_at: Timestamp) -> Result<Recorded> {
        self.run(move |i| async move { i.record_risk(evidence, message_at).await }).await
    }
    async fn unscreened_messages(&self, created_before: Timestamp, limit: u32) -> Result<Vec<Unscreened>> {
        self.run(move |i| async move { i.unscreened_messages(created_before, limit).await }).await
    }
    async fn raise_alert(&self, alert: Alert) -> Result<Raised> {
        self.run(move |i| async move { i.raise_alert(alert).await }).await
    }
    async fn alert(&self, id: &str) -> Result<Option<Alert>> {
        let id = id.to_owned();
        self.run(move |i| async move { Ok(i.alert_named(&id, false).await?.map(|a| a.alert)) }).await
    }
    async fn alerts(&self, query: AlertQuery) -> Result<Vec<Alert>> {
        self.run(move |i| async move { i.alerts(query).await }).await
    }
    async fn ack_alert(&self, id: &str, by: &str, note: Option<&str>, now: Timestamp) -> Result<Option<Alert>> {
        let (id, by, note) = (id.to_owned(), by.to_owned(), note.map(str::to_owned));
        self.run(move |i| async move { i.ack_alert(id, by, note, now).await }).await
    }
    async fn escalate_alert(
        &self,
        alert_id: &str,
        escalation_id: &str,
        reason: EscalationReason,
        now: Timestamp,
    ) -> Result<Option<Escalation>> {
        let (a, e) = (alert_id.to_owned(), escalation_id.to_owned());
        self.run(move |i| async move { i.escalate_alert(a, e, reason, now).await }).await
    }
    async fn due_alerts(&self, now: Timestamp, limit: u32) -> Result<Vec<Alert>> {
        self.run(move |i| async move { i.due_alerts(now, limit).await }).await
    }
    async fn escalation(&self, id: &str) -> Result<Option<Escalation>> {
        let id = id.to_owned();
        self.run(move |i| async move { i.escalation(&id).await }).await
    }
    async fn escalations(&self, query: EscalationQuery) -> Result<Vec<Escalation>> {
        self.run(move |i| async move { i.escalations(query).await }).await
    }
    async fn claim_escalation(&self, id: &str, by: &str, now: Timestamp) -> Result<Option<Escalation>> {
        let (id, by) = (id.to_owned(), by.to_owned());
        self.run(move |i| async move { i.claim_escalation(id, by, now).await }).await
    }
    async fn resolve_escalation(&self, id: &str, by: &str, note: &str, now: Timestamp) -> Result<Option<Escalation>> {
        let (id, by, note) = (id.to_owned(), by.to_owned(), note.to_owned());
        self.run(move |i| async move { i.resolve_escalation(id, by, note, now).await }).await
    }
    async fn schedule_followup(&self, followup: Followup) -> Result<(Followup, bool)> {
        self.run(move |i| async move { i.schedule_followup(followup).await }).await
    }
    async fn followup(&self, id: &str) -> Result<Option<Followup>> {
        let id = id.to_owned();
        self.run(move |i| async move { i.followup(&id).await }).await
    }
    async fn followups(&self, query: FollowupQuery) -> Result<Vec<Followup>> {
        self.run(move |i| async move { i.followups(query).await }).await
    }
    async fn complete_followup(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Followup>> {
        let (id, by, note) = (id.to_owned(), by.to_owned(), note.map(str::to_owned));
        self.run(move |i| async move { i.complete_followup(id, by, note, now).await }).await
    }
    async fn due_followups(&self, now: Timestamp, limit: u32) -> Result<Vec<Followup>> {
        self.run(move |i| async move { i.due_followups(now, limit).await }).await
    }
    async fn miss_followup(&self, id: &str, escalation_id: &str, now: Timestamp) -> Result<Option<Missed>> {
        let (id, e) = (id.to_owned(), escalation_id.to_owned());
        self.run(move |i| async move { i.miss_followup(id, e, now).await }).await
    }
    async fn audit(&self, entry: AuditEntry) -> Result<()> {
        self.run(move |i| async move { i.audit(entry).await }).await
    }
    async fn audit_log(&self, target: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        let t = target.map(str::to_owned);
        self.run(move |i| async move { i.audit_log(t, limit).await }).await
    }
    async fn audit_chain(&self, query: ChainQuery) -> Result<Vec<ChainedEntry>> {
        self.run(move |i| async move { i.audit_chain(query).await }).await
    }
    async fn schedule_erasure(&self, erasure: Erasure) -> Result<Erasure> {
        self.run(move |i| async move { i.schedule_erasure(erasure).await }).await
    }
    async fn cancel_erasure(&self, patient_id: &str) -> Result<Option<Erasure>> {
        let p = patient_id.to_owned();
        self.run(move |i| async move { i.cancel_erasure(p).await }).await
    }
    async fn erasure(&self, patient_id: &str) -> Result<Option<Erasure>> {
        let p = patient_id.to_owned();
        self.run(move |i| async move { i.erasure(p).await }).await
    }
    async fn due_erasures(&self, now: Timestamp, limit: u32) -> Result<Vec<Erasure>> {
        self.run(move |i| async move { i.due_erasures(now, limit).await }).await
    }
    async fn erase_patient(&self, patient_id: &str, now: Timestamp) -> Result<Option<Erased>> {
        let p = patient_id.to_owned();
        self.run(move |i| async move { i.erase_patient(p, now).await }).await
    }
    async fn purge_messages_before(&self, _before: Timestamp) -> Result<u64> {
        // Messages expire by their TTL (`--retention-days`).
        Ok(0)
    }
    async fn ping(&self) -> Result<()> {
        self.run(|i| async move {
            i.st.ping.run(&i.session, ()).await.map_err(|e| exec_err("ping", e))?;
            Ok(())
        })
        .await
    }
    /// Every acknowledged write is already replicated at LOCAL_QUORUM: nothing is buffered here.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_for_development() {
        let c = ScyllaConfig::default();
        assert_eq!(c.replication, Replication::Simple { factor: 1 });
        assert!(c.disable_tablets);
        assert_eq!(c.retention_days, None);
        assert!(schema::keyspace_ddl(&c, &schema::Server::Cassandra { release: "5.0.9".into() }).is_ok());
    }

    #[test]
    fn connect_refuses_bad_config_without_touching_the_network() {
        let cfg = ScyllaConfig { keyspace: "bad-name".into(), ..ScyllaConfig::default() };
        assert!(matches!(ScyllaStore::connect(cfg), Err(StoreError::Invalid(_))));
        let cfg = ScyllaConfig { nodes: vec![], ..ScyllaConfig::default() };
        assert!(matches!(ScyllaStore::connect(cfg), Err(StoreError::Invalid(_))));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn connect_fails_cleanly_inside_a_current_thread_runtime() {
        // Nothing listens on port 1: the error must come back (not hang, not panic), and dropping
        // the store's runtime inside this runtime must not panic either.
        let cfg = ScyllaConfig {
            nodes: vec!["127.0.0.1:1".into()],
            connect_timeout: Duration::from_secs(2),
            ..ScyllaConfig::default()
        };
        let r = ScyllaStore::connect_async(cfg.clone()).await;
        assert!(matches!(r, Err(StoreError::Unavailable(_))), "{:?}", r.err());
        let r = ScyllaStore::connect(cfg);
        assert!(matches!(r, Err(StoreError::Unavailable(_))), "{:?}", r.err());
    }
}
