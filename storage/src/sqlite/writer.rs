//! The single writer thread with group commit.
//!
//! Why: SQLite allows one writer at a time, and an fsync per message would cap throughput at a
//! few hundred messages per second. Jobs queue on a bounded channel; the writer takes everything
//! waiting (up to [`MAX_BATCH`]), runs each job inside its own savepoint in one transaction,
//! commits once, and only then answers every job. A job that fails rolls back to its savepoint
//! and does not disturb the others; if the commit itself fails, every job of the batch gets the
//! error. Nothing is answered before it is durable.
//!
//! Two lanes: clinical-safety writes (alerts, escalations, acknowledgements, the AI pause) go
//! through [`Lanes::urgent`], everything else through [`Lanes::normal`]. The writer fills each
//! batch from the urgent lane first, so an alert waits for at most the commit in progress, never
//! behind a deep queue of chat messages and audit rows.

use rusqlite::Connection;
use tokio::sync::mpsc;

use crate::error::StoreError;

/// Most jobs committed together.
pub const MAX_BATCH: usize = 512;
/// Jobs waiting for the writer before callers wait for room (back-pressure, bounded memory).
pub const QUEUE_DEPTH: usize = 8192;

/// Tells a job's caller how the batch ended: `Ok` once committed.
pub type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A unit of work run on the writer's connection inside the batch transaction.
pub type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

pub enum Command {
    Job(Job),
    /// Answered after everything queued before it has committed.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The writer's two queues.
pub struct Lanes {
    pub urgent: mpsc::Sender<Command>,
    pub normal: mpsc::Sender<Command>,
}

pub fn spawn(mut conn: Connection) -> std::io::Result<Lanes> {
    let (urgent, urgent_rx) = mpsc::channel(QUEUE_DEPTH);
    let (normal, normal_rx) = mpsc::channel(QUEUE_DEPTH);
    let waiter = tokio::runtime::Builder::new_current_thread().build()?;
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || run(&mut conn, &waiter, urgent_rx, normal_rx))?;
    Ok(Lanes { urgent, normal })
}

fn run(
    conn: &mut Connection,
    waiter: &tokio::runtime::Runtime,
    mut urgent: mpsc::Receiver<Command>,
    mut normal: mpsc::Receiver<Command>,
) {
    let mut batch: Vec<Command> = Vec::with_capacity(MAX_BATCH);
    loop {
        // Blocks until either lane has work (urgent first); ends when both are closed.
        let first = waiter.block_on(async {
            tokio::select! {
                biased;
                Some(cmd) = urgent.recv() => Some(cmd),
                Some(cmd) = normal.recv() => Some(cmd),
                else => None,
            }
        });
        let Some(first) = first else { break };
        batch.push(first);
        for lane in [&mut urgent, &mut normal] {
            while batch.len() < MAX_BATCH {
                match lane.try_recv() {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
        }
        commit_batch(conn, &mut batch);
    }
    tracing::info!("store writer stopped");
}

fn commit_batch(conn: &mut Connection, batch: &mut Vec<Command>) {
    let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
    let mut flushes = Vec::new();
    let began = conn.execute_batch("BEGIN IMMEDIATE").map_err(super::db_err);
    if let Err(e) = began {
        tracing::error!(error = %e, "store could not begin a transaction");
        for cmd in batch.drain(..) {
            match cmd {
                Command::Job(job) => drop(job),
                Command::Flush(done) => flushes.push(done),
            }
        }
        // Dropped jobs answer their callers with "unavailable" through their closed channels.
        for f in flushes {
            let _ = f.send(());
        }
        return;
    }
    for cmd in batch.drain(..) {
        match cmd {
            Command::Job(job) => {
                if let Err(e) = conn.execute_batch("SAVEPOINT job") {
                    let err = super::db_err(e);
                    completions.push(Box::new(move |_| drop(err)));
                    continue;
                }
                completions.push(job(conn));
            }
            Command::Flush(done) => flushes.push(done),
        }
    }
    let committed = conn.execute_batch("COMMIT").map_err(super::db_err);
    if let Err(e) = &committed {
        tracing::error!(error = %e, "store commit failed; rolling back the batch");
        let _ = conn.execute_batch("ROLLBACK");
    }
    for done in completions {
        done(committed.clone());
    }
    for f in flushes {
        let _ = f.send(());
    }
}

/// Runs `work` inside the current savepoint, releasing it on success and rolling back to it on
/// failure, and returns a completion that reports the result once the batch has committed.
pub fn in_savepoint<T: Send + 'static>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
) -> Completion {
    let outcome = work(conn);
    let closed = match &outcome {
        Ok(_) => conn.execute_batch("RELEASE job"),
        Err(_) => conn.execute_batch("ROLLBACK TO job; RELEASE job"),
    };
    let outcome = match closed {
        Ok(()) => outcome,
        Err(e) => Err(super::db_err(e)),
    };
    Box::new(move |committed| {
        let _ = reply.send(committed.and(outcome));
    })
}
