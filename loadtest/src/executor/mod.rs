//! The k6 executors. [`run_scenario`] waits for the scenario's `start_time`, then hands over to
//! the closed-model ([`vus`]: constant-vus, ramping-vus) or open-model ([`arrival`]:
//! constant-arrival-rate, ramping-arrival-rate) executor. Every executor ends the same way: VUs are
//! told to stop, get `graceful_stop` to finish their iteration, and are then aborted.

pub mod arrival;
pub mod schedule;
pub mod vus;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::behaviour::{self, Shared, Vu};
use crate::config::{ExecutorSpec, ScenarioSpec};
use crate::metrics::Metrics;

/// Pause after a failed iteration so a dead server does not become a busy loop.
const ERROR_BACKOFF: Duration = Duration::from_millis(250);

/// Runs one scenario to its end. `abort` is the whole test's stop signal (Ctrl-C).
pub async fn run_scenario(spec: Arc<ScenarioSpec>, shared: Arc<Shared>, mut abort: watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(spec.start_time) => {}
        _ = wait_true(&mut abort) => return,
    }
    let behaviour = Arc::new(spec.behaviour.clone());
    let ctx = ScenarioCtx { shared, behaviour, graceful_stop: spec.graceful_stop, abort, accounts: spec.accounts };
    match &spec.executor {
        ExecutorSpec::ConstantVus { vus, duration } => vus::constant(ctx, *vus, *duration).await,
        ExecutorSpec::RampingVus { start_vus, stages, graceful_ramp_down } => {
            vus::ramping(ctx, *start_vus, stages, *graceful_ramp_down).await
        }
        ExecutorSpec::ConstantArrivalRate { rate, time_unit, duration, pre_allocated_vus, max_vus } => {
            let s = schedule::RateSchedule::constant(*rate, *time_unit, *duration);
            arrival::run(ctx, s, *pre_allocated_vus, *max_vus).await
        }
        ExecutorSpec::RampingArrivalRate { start_rate, time_unit, stages, pre_allocated_vus, max_vus } => {
            let s = schedule::RateSchedule::ramping(*start_rate, stages, *time_unit);
            arrival::run(ctx, s, *pre_allocated_vus, *max_vus).await
        }
    }
}

/// What every executor of one scenario needs.
pub struct ScenarioCtx {
    pub shared: Arc<Shared>,
    pub behaviour: Arc<crate::config::BehaviourSpec>,
    pub graceful_stop: Duration,
    pub abort: watch::Receiver<bool>,
    pub accounts: Option<(u64, u64)>,
}

impl ScenarioCtx {
    pub fn vu(&self, id: u64, stop: watch::Receiver<bool>) -> Vu {
        let account = match self.accounts {
            Some((first, count)) => first + id % count,
            None => id,
        };
        Vu { shared: self.shared.clone(), id, account, behaviour: self.behaviour.clone(), stop }
    }

    /// Sleeps until `deadline` unless the test is aborted first; returns whether it was aborted.
    pub async fn sleep_until(&mut self, deadline: Instant) -> bool {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => false,
            _ = wait_true(&mut self.abort) => true,
        }
    }

    /// After VUs were told to stop: waits `graceful_stop` for running iterations, aborts the rest.
    pub async fn wind_down(&self, set: &mut JoinSet<()>) {
        let drained = tokio::time::timeout(self.graceful_stop, async { while set.join_next().await.is_some() {} });
        if drained.await.is_err() {
            set.abort_all();
            while set.join_next().await.is_some() {}
        }
    }
}

/// Resolves when the flag turns true (never if its sender is dropped without doing so).
pub async fn wait_true(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Counts a VU in the `vus` gauge for as long as it lives (also when aborted).
pub struct ActiveVu(Arc<Metrics>);

impl ActiveVu {
    pub fn new(metrics: &Arc<Metrics>) -> ActiveVu {
        metrics.vus.add(1);
        ActiveVu(metrics.clone())
    }
}

impl Drop for ActiveVu {
    fn drop(&mut self) {
        self.0.vus.add(-1);
    }
}

/// One iteration with its bookkeeping: `iterations`, `iteration_duration`, `errors`.
pub async fn iterate(vu: &mut Vu) {
    let t0 = Instant::now();
    let result = behaviour::iteration(vu).await;
    let m = &vu.shared.metrics;
    m.iterations.inc();
    m.iteration_duration.add(t0.elapsed());
    if let Err(e) = result {
        m.error(&e.kind());
        if !vu.stopped() {
            vu.sleep(ERROR_BACKOFF).await;
        }
    }
}

/// A closed-model VU: iterations back to back until told to stop.
pub async fn vu_loop(mut vu: Vu) {
    let _active = ActiveVu::new(&vu.shared.metrics);
    while !vu.stopped() {
        iterate(&mut vu).await;
    }
}
