//! One whole test: load the plan, provision the pool (untimed), run every scenario concurrently
//! from its `start_time`, then freeze the metrics and evaluate thresholds.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::behaviour::Shared;
use crate::config::{ExecutorSpec, TestPlan};
use crate::correlate::Correlator;
use crate::error::{EXIT_OK, EXIT_THRESHOLDS_FAILED, LoadError};
use crate::executor::run_scenario;
use crate::http::Api;
use crate::metrics::{Metrics, Snapshot};
use crate::net::{Connector, Target};
use crate::progress::Progress;
use crate::provision::{Pool, provision};
use crate::summary::fmt_ms;
use crate::threshold::{Outcome, evaluate};

/// The server when neither `--target` nor `options.target` names one.
pub const DEFAULT_TARGET: &str = "http://127.0.0.1:8080";

pub struct RunArgs {
    pub scenario: PathBuf,
    pub target: Option<String>,
    /// `METRIC=EXPR` additions to the file's thresholds.
    pub thresholds: Vec<String>,
    pub admin_user: Option<String>,
    pub admin_password: Option<String>,
    pub quiet: bool,
}

pub struct Report {
    pub snapshot: Snapshot,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        if self.outcomes.iter().all(|o| o.passed) { EXIT_OK } else { EXIT_THRESHOLDS_FAILED }
    }
}

/// Loads the scenario file and applies `--threshold` overrides.
pub fn load_plan(args: &RunArgs) -> Result<TestPlan, LoadError> {
    let mut plan = TestPlan::load(&args.scenario)?;
    for t in &args.thresholds {
        let (metric, expr) =
            t.split_once('=').ok_or_else(|| LoadError::config(format!("--threshold {t:?}: expected METRIC=EXPR")))?;
        plan.add_threshold(metric.trim(), expr)?;
    }
    Ok(plan)
}

fn describe(plan: &TestPlan, target: &Target, sources: usize) {
    let max_vus: u64 = plan.scenarios.iter().map(|s| s.executor.max_vus()).sum();
    let longest = plan.scenarios.iter().map(|s| s.start_time + s.executor.duration() + s.graceful_stop).max();
    eprintln!(
        "  scenarios: {} scenarios, {max_vus} max VUs, {} max duration (incl. graceful stop)",
        plan.scenarios.len(),
        fmt_ms(longest.unwrap_or_default().as_secs_f64() * 1000.0)
    );
    eprintln!(
        "     target: {} ({} source address{})",
        target.ws_url,
        sources.max(1),
        if sources > 1 { "es" } else { "" }
    );
    for s in &plan.scenarios {
        let what = match &s.executor {
            ExecutorSpec::ConstantVus { vus, duration } => {
                format!("{vus} looping VUs for {}", fmt_ms(duration.as_secs_f64() * 1e3))
            }
            ExecutorSpec::RampingVus { stages, .. } => {
                format!("up to {} looping VUs over {} stages", s.executor.max_vus(), stages.len())
            }
            ExecutorSpec::ConstantArrivalRate { rate, time_unit, duration, max_vus, .. } => format!(
                "{rate} iterations per {} for {} (max {max_vus} VUs)",
                fmt_ms(time_unit.as_secs_f64() * 1e3),
                fmt_ms(duration.as_secs_f64() * 1e3)
            ),
            ExecutorSpec::RampingArrivalRate { stages, max_vus, .. } => {
                format!("ramping iteration rate over {} stages (max {max_vus} VUs)", stages.len())
            }
        };
        eprintln!(
            "     * {}: {what} (behaviour: {}, start_time: {}, graceful_stop: {})",
            s.name,
            s.behaviour.name(),
            fmt_ms(s.start_time.as_secs_f64() * 1e3),
            fmt_ms(s.graceful_stop.as_secs_f64() * 1e3)
        );
    }
}

pub async fn run(plan: TestPlan, args: &RunArgs) -> Result<Report, LoadError> {
    let target = Target::parse(args.target.as_deref().or(plan.target.as_deref()).unwrap_or(DEFAULT_TARGET))?;
    let credentials = (args.admin_user.as_deref(), args.admin_password.as_deref());
    if plan.provision && (credentials.0.is_none() || credentials.1.is_none()) {
        return Err(LoadError::config("set HEALING_ADMIN_USER and HEALING_ADMIN_PASSWORD (an admin account)"));
    }
    let peak: u64 = plan.scenarios.iter().map(|s| s.executor.max_vus()).sum();
    let connector = Connector::new(&target, peak, plan.ports_per_source).await?;
    describe(&plan, &target, connector.sources().len());

    let api = Api::new(&target.http_base)?;
    let pool = match credentials {
        (Some(user), Some(password)) if plan.provision => {
            tokio::time::timeout(plan.setup_timeout, provision(&api, &plan.pool, user, password))
                .await
                .map_err(|_| LoadError::setup(format!("provisioning took longer than {:?}", plan.setup_timeout)))??
        }
        _ => Pool::anonymous(plan.pool.patients.max(1)),
    };

    let metrics = Arc::new(Metrics::default());
    metrics.vus.set(0);
    metrics.vus_max.set(0);
    let shared = Arc::new(Shared { metrics: metrics.clone(), correlator: Correlator::default(), connector, pool });
    let (abort_tx, abort_rx) = watch::channel(false);
    let interrupt = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: stopping scenarios gracefully…");
            let _ = abort_tx.send(true);
        }
    });

    let started = Instant::now();
    let progress = Progress::start(metrics.clone(), plan.total_duration(), args.quiet);
    let tasks: Vec<_> = plan
        .scenarios
        .iter()
        .map(|s| tokio::spawn(run_scenario(Arc::new(s.clone()), shared.clone(), abort_rx.clone())))
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    progress.finish();
    interrupt.abort();
    metrics.alerts_missing.add(shared.correlator.missing_alerts());

    let snapshot = metrics.snapshot(started.into_std());
    let outcomes = evaluate(&plan.thresholds, &snapshot);
    Ok(Report { snapshot, outcomes })
}
