//! The scenario file as written (serde, unknown keys rejected) and its validation into the
//! [`TestPlan`] model: required keys per executor, keys that do not apply, defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{
    BehaviourSpec, ExecutorSpec, Hold, PatientChat, PatientOpen, PoolSpec, Role, ScenarioSpec, Stage, TestPlan,
    parse_duration,
};
use crate::error::LoadError;

pub(super) fn parse(text: &str) -> Result<TestPlan, LoadError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| LoadError::config(e.to_string()))?;
    raw.validate()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    options: RawOptions,
    #[serde(default)]
    pool: RawPool,
    #[serde(default)]
    scenarios: BTreeMap<String, RawScenario>,
    #[serde(default)]
    thresholds: BTreeMap<String, OneOrMany>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    target: Option<String>,
    setup_timeout: Option<String>,
    ports_per_source: Option<u32>,
    provision: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPool {
    patients: Option<usize>,
    clinicians: Option<usize>,
    supervisors: Option<usize>,
    concurrency: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    duration: String,
    target: f64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    executor: String,
    behaviour: String,
    start_time: Option<String>,
    graceful_stop: Option<String>,
    /// `[first, count]`: this scenario's VUs use pool accounts `first .. first + count` only.
    accounts: Option<[u64; 2]>,
    // executors
    vus: Option<u64>,
    duration: Option<String>,
    start_vus: Option<u64>,
    stages: Option<Vec<RawStage>>,
    graceful_ramp_down: Option<String>,
    rate: Option<f64>,
    start_rate: Option<f64>,
    time_unit: Option<String>,
    pre_allocated_vus: Option<u64>,
    max_vus: Option<u64>,
    // behaviours
    think_time: Option<String>,
    send_interval: Option<String>,
    risky_share: Option<f64>,
    messages_per_session: Option<u32>,
    reply_timeout: Option<String>,
    wait_for_reply: Option<bool>,
    corpus: Option<Vec<String>>,
    risky_corpus: Option<Vec<String>>,
    session_duration: Option<String>,
    ping_interval: Option<String>,
    acknowledge: Option<bool>,
    ack_delay: Option<String>,
    resolve: Option<bool>,
    resolve_delay: Option<String>,
}

fn dur(ctx: &str, field: &str, v: &Option<String>, default: Option<&str>) -> Result<Option<Duration>, LoadError> {
    match v.as_deref().or(default) {
        None => Ok(None),
        Some(s) => parse_duration(s).map(Some).map_err(|e| LoadError::config(format!("{ctx}.{field}: {e}"))),
    }
}

fn req<T>(ctx: &str, field: &str, v: Option<T>) -> Result<T, LoadError> {
    v.ok_or_else(|| LoadError::config(format!("{ctx}: `{field}` is required for this executor")))
}

fn stages(ctx: &str, raw: &Option<Vec<RawStage>>, whole_targets: bool) -> Result<Vec<Stage>, LoadError> {
    let raw = req(ctx, "stages", raw.as_ref())?;
    if raw.is_empty() {
        return Err(LoadError::config(format!("{ctx}: `stages` must not be empty")));
    }
    raw.iter()
        .enumerate()
        .map(|(i, s)| {
            let duration =
                parse_duration(&s.duration).map_err(|e| LoadError::config(format!("{ctx}.stages[{i}]: {e}")))?;
            if !(s.target >= 0.0 && s.target.is_finite()) || (whole_targets && s.target.fract() != 0.0) {
                return Err(LoadError::config(format!("{ctx}.stages[{i}]: bad target {}", s.target)));
            }
            Ok(Stage { duration, target: s.target })
        })
        .collect()
}

impl RawScenario {
    /// What a patient behaviour sends: the risky share (default `share`) and both corpora,
    /// checked.
    fn messages(&self, c: &str, share: f64) -> Result<(f64, Vec<String>, Vec<String>), LoadError> {
        let risky_share = self.risky_share.unwrap_or(share);
        if !(0.0..=1.0).contains(&risky_share) {
            return Err(LoadError::config(format!("{c}.risky_share must be between 0 and 1")));
        }
        let corpus = self.corpus.clone().unwrap_or_else(crate::behaviour::corpus::everyday);
        let risky_corpus = self.risky_corpus.clone().unwrap_or_else(crate::behaviour::corpus::risky);
        if corpus.is_empty() || risky_corpus.is_empty() {
            return Err(LoadError::config(format!("{c}: corpus and risky_corpus must not be empty")));
        }
        Ok((risky_share, corpus, risky_corpus))
    }

    /// Fields set that the chosen executor/behaviour does not use are mistakes: say so.
    fn reject_unused(&self, ctx: &str, allowed: &[&str]) -> Result<(), LoadError> {
        let set: [(&str, bool); 26] = [
            ("vus", self.vus.is_some()),
            ("duration", self.duration.is_some()),
            ("start_vus", self.start_vus.is_some()),
            ("stages", self.stages.is_some()),
            ("graceful_ramp_down", self.graceful_ramp_down.is_some()),
            ("rate", self.rate.is_some()),
            ("start_rate", self.start_rate.is_some()),
            ("time_unit", self.time_unit.is_some()),
            ("pre_allocated_vus", self.pre_allocated_vus.is_some()),
            ("max_vus", self.max_vus.is_some()),
            ("think_time", self.think_time.is_some()),
            ("send_interval", self.send_interval.is_some()),
            ("risky_share", self.risky_share.is_some()),
            ("messages_per_session", self.messages_per_session.is_some()),
            ("reply_timeout", self.reply_timeout.is_some()),
            ("wait_for_reply", self.wait_for_reply.is_some()),
            ("corpus", self.corpus.is_some()),
            ("risky_corpus", self.risky_corpus.is_some()),
            ("session_duration", self.session_duration.is_some()),
            ("ping_interval", self.ping_interval.is_some()),
            ("acknowledge", self.acknowledge.is_some()),
            ("ack_delay", self.ack_delay.is_some()),
            ("resolve", self.resolve.is_some()),
            ("resolve_delay", self.resolve_delay.is_some()),
            ("start_time", false),
            ("graceful_stop", false),
        ];
        match set.iter().find(|(name, on)| *on && !allowed.contains(name)) {
            Some((name, _)) => Err(LoadError::config(format!(
                "{ctx}: `{name}` does not apply to executor {:?} with behaviour {:?}",
                self.executor, self.behaviour
            ))),
            None => Ok(()),
        }
    }

    fn validate(&self, name: &str) -> Result<ScenarioSpec, LoadError> {
        let ctx = format!("scenarios.{name}");
        let c = ctx.as_str();
        let (executor, mut allowed): (ExecutorSpec, Vec<&str>) = match self.executor.as_str() {
            "constant-vus" => (
                ExecutorSpec::ConstantVus {
                    vus: req(c, "vus", self.vus)?,
                    duration: req(c, "duration", dur(c, "duration", &self.duration, None)?)?,
                },
                vec!["vus", "duration"],
            ),
            "ramping-vus" => (
                ExecutorSpec::RampingVus {
                    start_vus: self.start_vus.unwrap_or(1),
                    stages: stages(c, &self.stages, true)?,
                    graceful_ramp_down: dur(c, "graceful_ramp_down", &self.graceful_ramp_down, Some("5s"))?
                        .unwrap_or_default(),
                },
                vec!["start_vus", "stages", "graceful_ramp_down"],
            ),
            "constant-arrival-rate" | "ramping-arrival-rate" => {
                let time_unit = dur(c, "time_unit", &self.time_unit, Some("1s"))?.unwrap_or_default();
                if time_unit.is_zero() {
                    return Err(LoadError::config(format!("{c}: time_unit must be positive")));
                }
                let pre = req(c, "pre_allocated_vus", self.pre_allocated_vus)?;
                let max_vus = self.max_vus.unwrap_or(pre);
                if max_vus < pre || max_vus == 0 {
                    return Err(LoadError::config(format!("{c}: max_vus must be ≥ pre_allocated_vus and > 0")));
                }
                if self.executor == "constant-arrival-rate" {
                    let rate = req(c, "rate", self.rate)?;
                    if !(rate > 0.0 && rate.is_finite()) {
                        return Err(LoadError::config(format!("{c}: rate must be positive")));
                    }
                    (
                        ExecutorSpec::ConstantArrivalRate {
                            rate,
                            time_unit,
                            duration: req(c, "duration", dur(c, "duration", &self.duration, None)?)?,
                            pre_allocated_vus: pre,
                            max_vus,
                        },
                        vec!["rate", "time_unit", "duration", "pre_allocated_vus", "max_vus"],
                    )
                } else {
                    let start_rate = self.start_rate.unwrap_or(0.0);
                    if !(start_rate >= 0.0 && start_rate.is_finite()) {
                        return Err(LoadError::config(format!("{c}: start_rate must be ≥ 0")));
                    }
                    (
                        ExecutorSpec::RampingArrivalRate {
                            start_rate,
                            time_unit,
                            stages: stages(c, &self.stages, false)?,
                            pre_allocated_vus: pre,
                            max_vus,
                        },
                        vec!["start_rate", "time_unit", "stages", "pre_allocated_vus", "max_vus"],
                    )
                }
            }
            other => {
                return Err(LoadError::config(format!(
                    "{c}: unknown executor {other:?} (constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate)"
                )));
            }
        };
        if executor.duration().is_zero() {
            return Err(LoadError::config(format!("{c}: the executor's duration must be positive")));
        }
        let hold = |c: &str| -> Result<Hold, LoadError> {
            Ok(Hold {
                session_duration: dur(c, "session_duration", &self.session_duration, None)?,
                ping_interval: dur(c, "ping_interval", &self.ping_interval, Some("20s"))?.unwrap_or_default(),
            })
        };
        let hold_fields = ["session_duration", "ping_interval"];
        let behaviour = match self.behaviour.as_str() {
            "patient-chat" => {
                allowed.extend([
                    "think_time",
                    "risky_share",
                    "messages_per_session",
                    "reply_timeout",
                    "wait_for_reply",
                    "corpus",
                    "risky_corpus",
                ]);
                let (risky_share, corpus, risky_corpus) = self.messages(c, 0.1)?;
                let think_time = dur(c, "think_time", &self.think_time, Some("1s"))?.unwrap_or_default();
                BehaviourSpec::PatientChat(PatientChat {
                    think_time,
                    risky_share,
                    messages_per_session: self.messages_per_session.unwrap_or(5).max(1),
                    reply_timeout: dur(c, "reply_timeout", &self.reply_timeout, Some("30s"))?.unwrap_or_default(),
                    wait_for_reply: self.wait_for_reply.unwrap_or(true),
                    corpus,
                    risky_corpus,
                })
            }
            "patient-open" => {
                allowed.extend(hold_fields);
                allowed.extend(["send_interval", "risky_share", "reply_timeout", "corpus", "risky_corpus"]);
                let (risky_share, corpus, risky_corpus) = self.messages(c, 0.05)?;
                let send_interval = dur(c, "send_interval", &self.send_interval, Some("1s"))?.unwrap_or_default();
                if send_interval.is_zero() {
                    return Err(LoadError::config(format!("{c}.send_interval must be positive")));
                }
                BehaviourSpec::PatientOpen(PatientOpen {
                    send_interval,
                    risky_share,
                    reply_timeout: dur(c, "reply_timeout", &self.reply_timeout, Some("30s"))?.unwrap_or_default(),
                    hold: hold(c)?,
                    corpus,
                    risky_corpus,
                })
            }
            "idle-patient" => {
                allowed.extend(hold_fields);
                BehaviourSpec::IdlePatient(hold(c)?)
            }
            "clinician" => {
                allowed.extend(hold_fields);
                allowed.extend(["acknowledge", "ack_delay"]);
                let ack_delay = dur(c, "ack_delay", &self.ack_delay, Some("1s"))?;
                BehaviourSpec::Clinician {
                    hold: hold(c)?,
                    ack_delay: if self.acknowledge.unwrap_or(true) { ack_delay } else { None },
                }
            }
            "supervisor" => {
                allowed.extend(hold_fields);
                allowed.extend(["resolve", "resolve_delay"]);
                let resolve_delay = dur(c, "resolve_delay", &self.resolve_delay, Some("1s"))?;
                BehaviourSpec::Supervisor {
                    hold: hold(c)?,
                    resolve_delay: if self.resolve.unwrap_or(true) { resolve_delay } else { None },
                }
            }
            other => {
                return Err(LoadError::config(format!(
                    "{c}: unknown behaviour {other:?} (patient-chat, patient-open, idle-patient, clinician, supervisor)"
                )));
            }
        };
        self.reject_unused(c, &allowed)?;
        if let Some([_, 0]) = self.accounts {
            return Err(LoadError::config(format!("{c}.accounts: the count must be at least 1")));
        }
        Ok(ScenarioSpec {
            accounts: self.accounts.map(|[first, count]| (first, count)),
            name: name.to_owned(),
            start_time: dur(c, "start_time", &self.start_time, Some("0s"))?.unwrap_or_default(),
            graceful_stop: dur(c, "graceful_stop", &self.graceful_stop, Some("10s"))?.unwrap_or_default(),
            executor,
            behaviour,
        })
    }
}

impl RawFile {
    fn validate(self) -> Result<TestPlan, LoadError> {
        if self.scenarios.is_empty() {
            return Err(LoadError::config("at least one [scenarios.NAME] is required"));
        }
        let scenarios = self.scenarios.iter().map(|(n, s)| s.validate(n)).collect::<Result<Vec<_>, _>>()?;
        let mut plan = TestPlan {
            target: self.options.target,
            setup_timeout: dur("options", "setup_timeout", &self.options.setup_timeout, Some("120s"))?
                .unwrap_or_default(),
            ports_per_source: self.options.ports_per_source.unwrap_or(20_000).max(1),
            provision: self.options.provision.unwrap_or(true),
            pool: PoolSpec { patients: 0, clinicians: 0, supervisors: 0, concurrency: 0 },
            scenarios,
            thresholds: Vec::new(),
        };
        let peak = |r| plan.peak_vus(r) as usize;
        let (p, c, s) = (peak(Role::Patient), peak(Role::Clinician), peak(Role::Supervisor));
        plan.pool = PoolSpec {
            patients: self.pool.patients.unwrap_or(p.min(200)),
            // One clinician even without clinician VUs, so patients have a caseload (offline
            // clinicians make high alerts escalate `no_clinician_online`).
            clinicians: self.pool.clinicians.unwrap_or(c.clamp(1, 50)),
            supervisors: self.pool.supervisors.unwrap_or(s.min(20)),
            concurrency: self.pool.concurrency.unwrap_or(4).max(1),
        };
        for (role, have, need) in [
            (Role::Patient, plan.pool.patients, p),
            (Role::Clinician, plan.pool.clinicians, c),
            (Role::Supervisor, plan.pool.supervisors, s),
        ] {
            if need > 0 && have == 0 {
                return Err(LoadError::config(format!("pool.{}s is 0 but a scenario needs them", role.as_str())));
            }
        }
        for (metric, exprs) in self.thresholds {
            let exprs = match exprs {
                OneOrMany::One(e) => vec![e],
                OneOrMany::Many(v) => v,
            };
            for e in exprs {
                plan.add_threshold(&metric, &e)?;
            }
        }
        Ok(plan)
    }
}
