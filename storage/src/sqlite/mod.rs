//! The embedded SQLite backend.
//!
//! Writes go to the writer thread ([`writer`]) and resolve after their group commit; reads run on
//! tokio's blocking pool with pooled read connections (WAL lets them proceed while the writer
//! commits). Nothing here blocks an async runtime thread.

mod accounts;
mod alerts;
mod audit;
mod chat;
mod followups;
pub mod migrations;
mod rights;
mod rows;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use healing_protocol::{
    Alert, ConversationSummary, Escalation, EscalationReason, Followup, Message, Risk, Timestamp, User,
};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Result, StoreError};
use crate::store::*;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "healing-space.db";
/// How long a connection waits for another process holding the write lock (several gateway
/// processes may share one embedded store).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Read connections: at most this many exist and run at once. Without the bound, a burst of
/// concurrent reads (a wave of `hello`s) opens one connection — with its own page cache — per
/// concurrent read, on as many blocking threads.
const READ_POOL: usize = 8;

/// The embedded store. Cheap to clone through `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    writer: writer::Lanes,
    readers: Mutex<Vec<Connection>>,
    read_slots: tokio::sync::Semaphore,
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::CannotOpen) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    // WAL: readers never block the writer. synchronous=FULL: a commit is on disk before it is
    // acknowledged (group commit keeps the fsync cost per message small). secure_delete: deleted
    // rows (erasure, retention) are overwritten with zeros, not left in free pages.
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
    )
    .map_err(db_err)
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, applies migrations and starts the
    /// writer thread. Blocking: call before serving, or from a blocking context.
    pub fn open(data_dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", data_dir.display())))?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path).map_err(db_err)?;
        configure(&conn)?;
        migrations::apply(&mut conn)?;
        // The writer thread ends by itself once every sender (this store) is dropped.
        let writer =
            writer::spawn(conn).map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            path,
            writer,
            readers: Mutex::new(Vec::new()),
            read_slots: tokio::sync::Semaphore::new(READ_POOL),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` in the next group commit and resolves once it is durable.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write_in(&self.writer.normal, work).await
    }

    /// [`Self::write`] in the writer's urgent lane: alerts, escalations, acknowledgements and the
    /// AI pause never wait behind queued chat messages.
    async fn write_urgent<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.write_in(&self.writer.urgent, work).await
    }

    async fn write_in<T: Send + 'static>(
        &self,
        lane: &mpsc::Sender<writer::Command>,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: writer::Job = Box::new(move |conn| writer::in_savepoint(conn, work, reply));
        lane.send(writer::Command::Job(job)).await.map_err(|_| StoreError::Unavailable("store is shut down".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("store writer failed".into()))?
    }

    /// Copies the WAL into the database and truncates it to zero bytes, so text deleted with
    /// `secure_delete` leaves no older page images behind in the `-wal` file. Best effort: a
    /// reader holding an old snapshot (another process) makes it a partial checkpoint, and the
    /// next one finishes the job.
    async fn truncate_wal(&self) {
        let path = self.path.clone();
        let done = tokio::task::spawn_blocking(move || {
            let c = Connection::open(&path).map_err(db_err)?;
            c.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)).map_err(db_err)
        })
        .await;
        match done {
            Ok(Ok(0)) => {}
            Ok(Ok(_)) => tracing::warn!("wal checkpoint was blocked by a reader; the next one completes it"),
            Ok(Err(e)) => tracing::warn!(error = %e, "wal checkpoint failed"),
            Err(e) => tracing::warn!(error = %e, "wal checkpoint task failed"),
        }
    }

    /// Runs `work` on a pooled read connection on the blocking pool.
    async fn read<T: Send + 'static>(&self, work: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let _slot =
            self.read_slots.acquire().await.map_err(|_| StoreError::Unavailable("store is shut down".into()))?;
        let pooled = self.readers.lock().pop();
        let path = self.path.clone();
        let (conn, out) = tokio::task::spawn_blocking(move || {
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(db_err)?;
                    c.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
                    c
                }
            };
            let out = work(&conn);
            Ok::<_, StoreError>((conn, out))
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))??;
        let mut pool = self.readers.lock();
        if pool.len() < READ_POOL {
            pool.push(conn);
        }
        out
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.write(move |c| accounts::create_user(c, &user)).await
    }
    async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let username = username.to_owned();
        self.read(move |c| accounts::credentials(c, &username)).await
    }
    async fn user(&self, id: &str) -> Result<Option<User>> {
        let id = id.to_owned();
        self.read(move |c| accounts::user(c, &id)).await
    }
    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let username = username.to_owned();
        self.read(move |c| Ok(accounts::credentials(c, &username)?.map(|cr| cr.user))).await
    }
    async fn insert_token(&self, token_hash: &str, user_id: &str, expires_at: Timestamp) -> Result<()> {
        let (h, u) = (token_hash.to_owned(), user_id.to_owned());
        self.write(move |c| accounts::insert_token(c, &h, &u, expires_at)).await
    }
    async fn revoke_token(&self, token_hash: &str, now: Timestamp) -> Result<()> {
        let h = token_hash.to_owned();
        self.write(move |c| accounts::revoke_token(c, &h, now)).await
    }
    async fn token_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<TokenSession>> {
        let h = token_hash.to_owned();
        self.read(move |c| accounts::token_session(c, &h, now)).await
    }
    async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<()> {
        let u = user_id.to_owned();
        self.write(move |c| accounts::set_user_disabled(c, &u, disabled, chrono::Utc::now())).await
    }
    async fn user_disabled(&self, user_id: &str) -> Result<bool> {
        let u = user_id.to_owned();
        self.read(move |c| accounts::user_disabled(c, &u)).await
    }
    async fn assign(&self, clinician_id: &str, patient_id: &str) -> Result<()> {
        let (cl, p) = (clinician_id.to_owned(), patient_id.to_owned());
        self.write(move |c| accounts::assign(c, &cl, &p)).await
    }
    async fn add_to_team(&self, supervisor_id: &str, clinician_id: &str) -> Result<()> {
        let (s, cl) = (supervisor_id.to_owned(), clinician_id.to_owned());
        self.write(move |c| accounts::add_to_team(c, &s, &cl)).await
    }
    async fn clinicians_of(&self, patient_id: &str) -> Result<Vec<String>> {
        let p = patient_id.to_owned();
        self.read(move |c| accounts::clinicians_of(c, &p)).await
    }
    async fn supervisors_of(&self, patient_id: &str) -> Result<Vec<String>> {
        let p = patient_id.to_owned();
        self.read(move |c| accounts::supervisors_of(c, &p)).await
    }
    async fn caseload(&self, clinician_id: &str) -> Result<Vec<User>> {
        let cl = clinician_id.to_owned();
        self.read(move |c| accounts::caseload(c, &cl)).await
    }
    async fn can_view_patient(&self, viewer: &User, patient_id: &str) -> Result<bool> {
        let (v, p) = (viewer.clone(), patient_id.to_owned());
        self.read(move |c| accounts::can_view_patient(c, &v, &p)).await
    }
    async fn add_duty_supervisor(&self, supervisor_id: &str) -> Result<()> {
        let s = supervisor_id.to_owned();
        self.write(move |c| accounts::add_duty_supervisor(c, &s)).await
    }
    async fn duty_supervisors(&self) -> Result<Vec<String>> {
        self.read(accounts::duty_supervisors).await
    }
    async fn unassigned_patients(&self, limit: u32) -> Result<Vec<User>> {
        self.read(move |c| accounts::unassigned_patients(c, limit)).await
    }
    async fn append_message_within(&self, message: NewMessage, max_conversations: Option<u32>) -> Result<Appended> {
        self.write(move |c| chat::append_message(c, &message, max_conversations)).await
    }
    async fn conversation(&self, id: &str) -> Result<Option<Conversation>> {
        let id = id.to_owned();
        self.read(move |c| chat::conversation(c, &id)).await
    }
    async fn conversations_of(&self, patient_id: &str) -> Result<Vec<ConversationSummary>> {
        let p = patient_id.to_owned();
        self.read(move |c| chat::conversations_of(c, &p)).await
    }
    async fn messages(&self, conversation_id: &str, before_seq: Option<i64>, limit: u32) -> Result<Vec<Message>> {
        let id = conversation_id.to_owned();
        self.read(move |c| chat::messages(c, &id, before_seq, limit)).await
    }
    async fn message(&self, id: &str) -> Result<Option<Message>> {
        let id = id.to_owned();
        self.read(move |c| chat::message(c, &id)).await
    }
    async fn set_message_risk(&self, message_id: &str, risk: &Risk) -> Result<()> {
        let (id, risk) = (message_id.to_owned(), risk.clone());
        self.write(move |c| chat::set_message_risk(c, &id, &risk)).await
    }
    async fn set_chat_paused(&self, conversation_id: &str, paused: bool) -> Result<()> {
        let id = conversation_id.to_owned();
        self.write_urgent(move |c| chat::set_chat_paused(c, &id, paused)).await
    }
    async fn set_patient_paused(&self, patient_id: &str, paused: bool) -> Result<Vec<String>> {
        let p = patient_id.to_owned();
        let now = chrono::Utc::now();
        self.write_urgent(move |c| alerts::set_patient_paused(c, &p, paused, now)).await
    }
    async fn patient_paused(&self, patient_id: &str) -> Result<bool> {
        let p = patient_id.to_owned();
        self.read(move |c| alerts::patient_paused(c, &p)).await
    }
    async fn record_risk(&self, evidence: Alert, message_at: Timestamp) -> Result<Recorded> {
        self.write_urgent(move |c| alerts::record_risk(c, &evidence, message_at)).await
    }
    async fn unscreened_messages(&self, created_before: Timestamp, limit: u32) -> Result<Vec<Unscreened>> {
        self.read(move |c| chat::unscreened_messages(c, created_before, limit)).await
    }
    async fn raise_alert(&self, alert: Alert) -> Result<Raised> {
        self.write_urgent(move |c| alerts::raise_alert(c, &alert)).await
    }
    async fn alert(&self, id: &str) -> Result<Option<Alert>> {
        let id = id.to_owned();
        self.read(move |c| alerts::alert(c, &id)).await
    }
    async fn alerts(&self, query: AlertQuery) -> Result<Vec<Alert>> {
        self.read(move |c| alerts::alerts(c, &query)).await
    }
    async fn ack_alert(&self, id: &str, by: &str, note: Option<&str>, now: Timestamp) -> Result<Option<Alert>> {
        let (id, by, note) = (id.to_owned(), by.to_owned(), note.map(str::to_owned));
        self.write_urgent(move |c| alerts::ack_alert(c, &id, &by, note.as_deref(), now)).await
    }
    async fn escalate_alert(
        &self,
        alert_id: &str,
        escalation_id: &str,
        reason: EscalationReason,
        now: Timestamp,
    ) -> Result<Option<Escalation>> {
        let (a, e) = (alert_id.to_owned(), escalation_id.to_owned());
        self.write_urgent(move |c| alerts::escalate_alert(c, &a, &e, reason, now)).await
    }
    async fn due_alerts(&self, now: Timestamp, limit: u32) -> Result<Vec<Alert>> {
        self.read(move |c| alerts::due_alerts(c, now, limit)).await
    }
    async fn escalation(&self, id: &str) -> Result<Option<Escalation>> {
        let id = id.to_owned();
        self.read(move |c| alerts::escalation(c, &id)).await
    }
    async fn escalations(&self, query: EscalationQuery) -> Result<Vec<Escalation>> {
        self.read(move |c| alerts::escalations(c, &query)).await
    }
    async fn claim_escalation(&self, id: &str, by: &str, now: Timestamp) -> Result<Option<Escalation>> {
        let (id, by) = (id.to_owned(), by.to_owned());
        self.write_urgent(move |c| alerts::claim_escalation(c, &id, &by, now)).await
    }
    async fn resolve_escalation(&self, id: &str, by: &str, note: &str, now: Timestamp) -> Result<Option<Escalation>> {
        let (id, by, note) = (id.to_owned(), by.to_owned(), note.to_owned());
        self.write_urgent(move |c| alerts::resolve_escalation(c, &id, &by, &note, now)).await
    }
    async fn schedule_followup(&self, followup: Followup) -> Result<(Followup, bool)> {
        self.write_urgent(move |c| followups::schedule(c, &followup)).await
    }
    async fn followup(&self, id: &str) -> Result<Option<Followup>> {
        let id = id.to_owned();
        self.read(move |c| followups::followup(c, &id)).await
    }
    async fn followups(&self, query: FollowupQuery) -> Result<Vec<Followup>> {
        self.read(move |c| followups::followups(c, &query)).await
    }
    async fn complete_followup(
        &self,
        id: &str,
        by: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Followup>> {
        let (id, by, note) = (id.to_owned(), by.to_owned(), note.map(str::to_owned));
        self.write_urgent(move |c| followups::complete(c, &id, &by, note.as_deref(), now)).await
    }
    async fn due_followups(&self, now: Timestamp, limit: u32) -> Result<Vec<Followup>> {
        self.read(move |c| followups::due(c, now, limit)).await
    }
    async fn miss_followup(&self, id: &str, escalation_id: &str, now: Timestamp) -> Result<Option<Missed>> {
        let (id, e) = (id.to_owned(), escalation_id.to_owned());
        self.write_urgent(move |c| followups::miss(c, &id, &e, now)).await
    }
    async fn audit(&self, entry: AuditEntry) -> Result<()> {
        self.write(move |c| audit::append(c, &entry)).await
    }
    async fn audit_log(&self, target: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        let t = target.map(str::to_owned);
        self.read(move |c| audit::latest(c, t.as_deref(), limit)).await
    }
    async fn audit_chain(&self, query: ChainQuery) -> Result<Vec<ChainedEntry>> {
        self.read(move |c| audit::chain(c, &query)).await
    }
    async fn schedule_erasure(&self, erasure: Erasure) -> Result<Erasure> {
        self.write(move |c| rights::schedule_erasure(c, &erasure)).await
    }
    async fn cancel_erasure(&self, patient_id: &str) -> Result<Option<Erasure>> {
        let p = patient_id.to_owned();
        self.write(move |c| rights::cancel_erasure(c, &p)).await
    }
    async fn erasure(&self, patient_id: &str) -> Result<Option<Erasure>> {
        let p = patient_id.to_owned();
        self.read(move |c| rights::erasure(c, &p)).await
    }
    async fn due_erasures(&self, now: Timestamp, limit: u32) -> Result<Vec<Erasure>> {
        self.read(move |c| rights::due_erasures(c, now, limit)).await
    }
    async fn erase_patient(&self, patient_id: &str, now: Timestamp) -> Result<Option<Erased>> {
        let p = patient_id.to_owned();
        let erased = self.write(move |c| rights::erase_patient(c, &p, now)).await?;
        if erased.is_some() {
            self.truncate_wal().await;
        }
        Ok(erased)
    }
    async fn purge_messages_before(&self, before: Timestamp) -> Result<u64> {
        let n = self.write(move |c| rights::purge_messages_before(c, before)).await?;
        if n > 0 {
            self.truncate_wal().await;
        }
        Ok(n)
    }
    async fn ping(&self) -> Result<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err)).await
    }
    async fn flush(&self) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.writer
            .normal
            .send(writer::Command::Flush(done))
            .await
            .map_err(|_| StoreError::Unavailable("store is shut down".into()))?;
        wait.await.map_err(|_| StoreError::Unavailable("store writer failed".into()))
    }
}

/// Shared handle used by callers that need `Arc<dyn Store>`.
pub fn open_shared(data_dir: &Path) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqliteStore::open(data_dir)?))
}
