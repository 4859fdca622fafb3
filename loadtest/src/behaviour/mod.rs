//! What a VU does in one iteration. Every behaviour opens a [`session::Session`] as one account
//! of the shared pool; they differ in what they send and what they measure.

pub mod clinician;
pub mod corpus;
pub mod idle;
pub mod patient;
pub mod patient_open;
pub mod session;
pub mod supervisor;

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{BehaviourSpec, Hold};
use crate::correlate::Correlator;
use crate::metrics::Metrics;
use crate::net::Connector;
use crate::provision::Pool;

/// Everything VUs share for the whole run.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    pub correlator: Correlator,
    pub connector: Connector,
    pub pool: Pool,
}

/// Why an iteration ended early. Counted in `errors` by [`VuError::kind`].
#[derive(Debug, Error)]
pub enum VuError {
    #[error("no {0} account in the pool")]
    NoAccount(&'static str),
    #[error("connect: {0}")]
    Connect(String),
    #[error("socket closed by the server (code {0:?})")]
    Closed(Option<u16>),
    #[error("websocket: {0}")]
    Socket(String),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("unexpected reply: {0}")]
    Protocol(String),
}

impl VuError {
    /// A short, bounded label (for the `errors` breakdown).
    pub fn kind(&self) -> String {
        match self {
            VuError::NoAccount(_) => "no_account".into(),
            VuError::Connect(_) => "ws_connect".into(),
            VuError::Closed(Some(code)) => format!("ws_closed_{code}"),
            VuError::Closed(None) => "ws_dropped".into(),
            VuError::Socket(_) => "ws_io".into(),
            VuError::Timeout(what) => format!("timeout_{what}"),
            VuError::Protocol(_) => "protocol".into(),
        }
    }
}

/// One VU: its number within the scenario (which picks its account), what it does, and the
/// scenario's stop signal.
pub struct Vu {
    pub shared: Arc<Shared>,
    pub id: u64,
    /// Which pool account of its role this VU signs in as.
    pub account: u64,
    pub behaviour: Arc<BehaviourSpec>,
    pub stop: watch::Receiver<bool>,
}

impl Vu {
    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once the scenario asks VUs to stop (never, if the sender is gone without asking).
    pub async fn stop_requested(&mut self) {
        if self.stop.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Sleeps unless stopped first; returns whether the full time passed.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => !self.stopped(),
            _ = self.stop_requested() => false,
        }
    }

    /// When a held session should end (`None`: at the scenario's stop).
    pub fn hold_until(hold: &Hold) -> Option<Instant> {
        hold.session_duration.map(|d| Instant::now() + d)
    }
}

/// Runs one iteration of the VU's behaviour.
pub async fn iteration(vu: &mut Vu) -> Result<(), VuError> {
    let behaviour = vu.behaviour.clone();
    match &*behaviour {
        BehaviourSpec::PatientChat(p) => patient::run(vu, p).await,
        BehaviourSpec::PatientOpen(p) => patient_open::run(vu, p).await,
        BehaviourSpec::IdlePatient(hold) => idle::run(vu, hold).await,
        BehaviourSpec::Clinician { hold, ack_delay } => clinician::run(vu, hold, *ack_delay).await,
        BehaviourSpec::Supervisor { hold, resolve_delay } => supervisor::run(vu, hold, *resolve_delay).await,
    }
}

/// `sleep_until` that never fires for `None`.
pub async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
