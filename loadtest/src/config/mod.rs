//! The scenario file: k6-shaped TOML, deserialised strictly (unknown keys are errors) and then
//! validated into a [`TestPlan`]. Every problem is a [`LoadError::Config`] (exit code 104).
//!
//! ```toml
//! [options]                      # all optional
//! target = "http://127.0.0.1:8080"
//! [pool]                         # optional: accounts to create (defaults follow the scenarios)
//! patients = 10
//! [scenarios.chat]
//! executor = "ramping-vus"       # constant-vus | ramping-vus | constant-arrival-rate | ramping-arrival-rate
//! behaviour = "patient-chat"     # patient-chat | patient-open | idle-patient | clinician | supervisor
//! stages = [{ duration = "5s", target = 10 }]
//! [thresholds]
//! chat_ack_latency = ["p(95)<50"]
//! ```

use std::path::Path;
use std::time::Duration;

mod duration;
mod raw;

pub use duration::parse_duration;

use crate::error::LoadError;
use crate::metrics::{self, Kind};
use crate::threshold::Threshold;

/// Which account a behaviour signs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Patient,
    Clinician,
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Clinician => "clinician",
            Role::Supervisor => "supervisor",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorSpec {
    ConstantVus {
        vus: u64,
        duration: Duration,
    },
    RampingVus {
        start_vus: u64,
        stages: Vec<Stage>,
        graceful_ramp_down: Duration,
    },
    ConstantArrivalRate {
        rate: f64,
        time_unit: Duration,
        duration: Duration,
        pre_allocated_vus: u64,
        max_vus: u64,
    },
    RampingArrivalRate {
        start_rate: f64,
        time_unit: Duration,
        stages: Vec<Stage>,
        pre_allocated_vus: u64,
        max_vus: u64,
    },
}

impl ExecutorSpec {
    /// How long new work is started (graceful stop comes on top).
    pub fn duration(&self) -> Duration {
        match self {
            ExecutorSpec::ConstantVus { duration, .. } | ExecutorSpec::ConstantArrivalRate { duration, .. } => {
                *duration
            }
            ExecutorSpec::RampingVus { stages, .. } | ExecutorSpec::RampingArrivalRate { stages, .. } => {
                stages.iter().map(|s| s.duration).sum()
            }
        }
    }

    /// The most VUs this executor can run at once.
    pub fn max_vus(&self) -> u64 {
        match self {
            ExecutorSpec::ConstantVus { vus, .. } => *vus,
            ExecutorSpec::RampingVus { start_vus, stages, .. } => {
                stages.iter().map(|s| s.target as u64).fold(*start_vus, u64::max)
            }
            ExecutorSpec::ConstantArrivalRate { max_vus, .. } | ExecutorSpec::RampingArrivalRate { max_vus, .. } => {
                *max_vus
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ExecutorSpec::ConstantVus { .. } => "constant-vus",
            ExecutorSpec::RampingVus { .. } => "ramping-vus",
            ExecutorSpec::ConstantArrivalRate { .. } => "constant-arrival-rate",
            ExecutorSpec::RampingArrivalRate { .. } => "ramping-arrival-rate",
        }
    }
}

/// How long a held session stays open, and how it keeps itself alive.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    /// `None`: until the scenario stops.
    pub session_duration: Option<Duration>,
    /// Application `ping` frames (the server closes silent sockets).
    pub ping_interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatientChat {
    pub think_time: Duration,
    /// Share (0..=1) of messages drawn from the risky corpus.
    pub risky_share: f64,
    pub messages_per_session: u32,
    /// Longest wait for a whole reply (`ai.end`).
    pub reply_timeout: Duration,
    /// `false`: the next message follows the ack, not the reply (throughput tests; the server
    /// answers a burst with one reply).
    pub wait_for_reply: bool,
    pub corpus: Vec<String>,
    pub risky_corpus: Vec<String>,
}

/// The open-loop patient (`patient-open`): one held session, a message every `send_interval`
/// whatever the server answers.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientOpen {
    pub send_interval: Duration,
    pub risky_share: f64,
    /// A send older than this (or five intervals) still unacked at the end counts as a failed ack.
    pub reply_timeout: Duration,
    pub hold: Hold,
    pub corpus: Vec<String>,
    pub risky_corpus: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BehaviourSpec {
    PatientChat(PatientChat),
    PatientOpen(PatientOpen),
    IdlePatient(Hold),
    /// `ack_delay: None` never acknowledges.
    Clinician {
        hold: Hold,
        ack_delay: Option<Duration>,
    },
    /// `resolve_delay: None` never claims or resolves.
    Supervisor {
        hold: Hold,
        resolve_delay: Option<Duration>,
    },
}

impl BehaviourSpec {
    pub fn role(&self) -> Role {
        match self {
            BehaviourSpec::PatientChat(_) | BehaviourSpec::PatientOpen(_) | BehaviourSpec::IdlePatient(_) => {
                Role::Patient
            }
            BehaviourSpec::Clinician { .. } => Role::Clinician,
            BehaviourSpec::Supervisor { .. } => Role::Supervisor,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            BehaviourSpec::PatientChat(_) => "patient-chat",
            BehaviourSpec::PatientOpen(_) => "patient-open",
            BehaviourSpec::IdlePatient(_) => "idle-patient",
            BehaviourSpec::Clinician { .. } => "clinician",
            BehaviourSpec::Supervisor { .. } => "supervisor",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSpec {
    pub name: String,
    /// `(first, count)`: VUs use only these pool accounts (e.g. keep idle sessions off the
    /// accounts that chat, so AI replies are not fanned out to thousands of idle tabs).
    pub accounts: Option<(u64, u64)>,
    pub start_time: Duration,
    pub graceful_stop: Duration,
    pub executor: ExecutorSpec,
    pub behaviour: BehaviourSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    pub patients: usize,
    pub clinicians: usize,
    pub supervisors: usize,
    /// Parallel provisioning requests (each costs the server a password hash).
    pub concurrency: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricThresholds {
    pub metric: String,
    pub kind: Kind,
    pub thresholds: Vec<Threshold>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestPlan {
    pub target: Option<String>,
    pub setup_timeout: Duration,
    pub ports_per_source: u32,
    /// Create accounts through the admin API (default). `false` is for comparison peers that
    /// implement only the chat subset: every VU says `hello` with an unchecked token.
    pub provision: bool,
    pub pool: PoolSpec,
    pub scenarios: Vec<ScenarioSpec>,
    pub thresholds: Vec<MetricThresholds>,
}

impl TestPlan {
    pub fn load(path: &Path) -> Result<TestPlan, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::config(format!("cannot read {}: {e}", path.display())))?;
        TestPlan::parse(&text)
    }

    pub fn parse(text: &str) -> Result<TestPlan, LoadError> {
        raw::parse(text)
    }

    /// Adds `metric: expr` (from `--threshold metric=expr` or the file).
    pub fn add_threshold(&mut self, metric: &str, expr: &str) -> Result<(), LoadError> {
        if metric.contains('{') {
            return Err(LoadError::config(format!("{metric}: tagged sub-metrics are not supported")));
        }
        let kind = metrics::kind_of(metric).ok_or_else(|| {
            let known: Vec<&str> = metrics::DEFINITIONS.iter().map(|(n, _, _)| *n).collect();
            LoadError::config(format!("threshold on unknown metric {metric:?} (known: {})", known.join(", ")))
        })?;
        let t: Threshold =
            expr.parse().map_err(|e: crate::threshold::ThresholdError| LoadError::config(e.to_string()))?;
        if !t.agg.applies_to(kind) {
            return Err(LoadError::config(format!(
                "threshold {expr:?}: {} does not apply to {metric} ({kind:?})",
                t.agg
            )));
        }
        match self.thresholds.iter_mut().find(|m| m.metric == metric) {
            Some(m) => {
                m.thresholds.retain(|x| x.source != t.source);
                m.thresholds.push(t);
            }
            None => self.thresholds.push(MetricThresholds { metric: metric.to_owned(), kind, thresholds: vec![t] }),
        }
        Ok(())
    }

    /// Peak VUs per role, over all scenarios (they may overlap in time).
    pub fn peak_vus(&self, role: Role) -> u64 {
        self.scenarios.iter().filter(|s| s.behaviour.role() == role).map(|s| s.executor.max_vus()).sum()
    }

    /// When the last scenario stops starting work (graceful stops excluded).
    pub fn total_duration(&self) -> Duration {
        self.scenarios.iter().map(|s| s.start_time + s.executor.duration()).max().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
        [scenarios.docs]
        executor = "constant-vus"
        behaviour = "clinician"
        vus = 2
        duration = "10s"
        ack_delay = "200ms"

        [scenarios.chat]
        executor = "ramping-vus"
        behaviour = "patient-chat"
        start_time = "1s"
        start_vus = 0
        stages = [{ duration = "2s", target = 4 }, { duration = "3s", target = 0 }]
        risky_share = 0.5

        [scenarios.storm]
        executor = "ramping-arrival-rate"
        behaviour = "idle-patient"
        stages = [{ duration = "5s", target = 10 }]
        pre_allocated_vus = 3
        max_vus = 6
        session_duration = "2s"

        [thresholds]
        checks = "rate>0.95"
        chat_ack_latency = ["p(95)<50", "count>0"]
    "#;

    #[test]
    fn a_full_file_validates() {
        let plan = TestPlan::parse(SAMPLE).unwrap();
        assert_eq!(plan.scenarios.len(), 3);
        let chat = plan.scenarios.iter().find(|s| s.name == "chat").unwrap();
        assert_eq!(chat.start_time, Duration::from_secs(1));
        assert_eq!(chat.executor.max_vus(), 4);
        assert_eq!(chat.executor.duration(), Duration::from_secs(5));
        let BehaviourSpec::PatientChat(p) = &chat.behaviour else { panic!() };
        assert_eq!(p.risky_share, 0.5);
        assert_eq!(plan.peak_vus(Role::Patient), 10);
        assert_eq!(plan.pool.patients, 10);
        assert_eq!(plan.pool.clinicians, 2);
        assert_eq!(plan.pool.supervisors, 0);
        assert_eq!(plan.total_duration(), Duration::from_secs(10));
        assert_eq!(plan.thresholds.len(), 2);
        let docs = plan.scenarios.iter().find(|s| s.name == "docs").unwrap();
        assert_eq!(
            docs.behaviour,
            BehaviourSpec::Clinician {
                hold: Hold { session_duration: None, ping_interval: Duration::from_secs(20) },
                ack_delay: Some(Duration::from_millis(200))
            }
        );
    }

    #[test]
    fn mistakes_are_config_errors() {
        let base = "[scenarios.a]\nbehaviour = \"idle-patient\"\n";
        for bad in [
            format!("{base}executor = \"constant-vus\"\nvus = 1\n"), // no duration
            format!("{base}executor = \"constant-vus\"\nvus = 1\nduration = \"1s\"\nrate = 3.0\n"), // unused field
            format!("{base}executor = \"warp-speed\"\n"),
            format!("{base}executor = \"constant-vus\"\nvus = 1\nduration = \"1s\"\ntypo = 1\n"),
            format!("{base}executor = \"constant-vus\"\nvus = 1\nduration = \"1s\"\nthink_time = \"1s\"\n"),
            format!("{base}executor = \"ramping-vus\"\nstages = []\n"),
            format!("{base}executor = \"ramping-vus\"\nstages = [{{ duration = \"1s\", target = 1.5 }}]\n"),
            format!(
                "{base}executor = \"constant-arrival-rate\"\nrate = 1.0\nduration = \"1s\"\npre_allocated_vus = 2\nmax_vus = 1\n"
            ),
            format!(
                "{base}executor = \"constant-vus\"\nvus = 1\nduration = \"1s\"\n[thresholds]\nnope = \"count>0\"\n"
            ),
            format!(
                "{base}executor = \"constant-vus\"\nvus = 1\nduration = \"1s\"\n[thresholds]\nchecks = \"p(95)<1\"\n"
            ),
            format!(
                "{base}executor = \"constant-vus\"\nvus = 1\nduration = \"1s\"\n[thresholds]\nchecks = \"rate>>1\"\n"
            ),
            "[options]\n".to_owned(),
        ] {
            let err = TestPlan::parse(&bad).unwrap_err();
            assert_eq!(err.exit_code(), 104, "{bad}: {err}");
        }
    }

    #[test]
    fn flag_thresholds_add_or_replace() {
        let mut plan = TestPlan::parse(SAMPLE).unwrap();
        plan.add_threshold("chat_ack_latency", "max<0").unwrap();
        plan.add_threshold("chat_ack_latency", "count>0").unwrap();
        let m = plan.thresholds.iter().find(|m| m.metric == "chat_ack_latency").unwrap();
        let exprs: Vec<&str> = m.thresholds.iter().map(|t| t.source.as_str()).collect();
        assert_eq!(exprs, ["p(95)<50", "max<0", "count>0"]);
        assert!(plan.add_threshold("ws_sessions{scenario:a}", "count>0").is_err());
    }
}
