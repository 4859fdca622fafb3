//! The harness's metrics, k6-style: trends (milliseconds), counters, rates and gauges, plus named
//! checks that feed the `checks` rate. Recording is lock-free for counters and a short mutex for
//! trends; [`Metrics::snapshot`] freezes everything for thresholds, summary and export.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::threshold::Agg;

/// The four k6 metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Trend,
    Counter,
    Rate,
    Gauge,
}

/// Every metric the harness knows: name, type and summary group. Thresholds may name only these.
pub const DEFINITIONS: &[(&str, Kind, &str)] = &[
    ("alert_delivery_latency", Kind::Trend, "CLINICAL SAFETY"),
    ("escalation_latency", Kind::Trend, "CLINICAL SAFETY"),
    ("alerts_missing", Kind::Counter, "CLINICAL SAFETY"),
    ("chat_ack_latency", Kind::Trend, "CHAT"),
    ("ai_first_token_latency", Kind::Trend, "CHAT"),
    ("ai_stream_duration", Kind::Trend, "CHAT"),
    ("ws_connecting", Kind::Trend, "WEBSOCKET"),
    ("ws_session_duration", Kind::Trend, "WEBSOCKET"),
    ("ws_sessions", Kind::Counter, "WEBSOCKET"),
    ("ws_msgs_sent", Kind::Counter, "WEBSOCKET"),
    ("ws_msgs_received", Kind::Counter, "WEBSOCKET"),
    ("checks", Kind::Rate, "CHECKS"),
    ("errors", Kind::Counter, "EXECUTION"),
    ("iterations", Kind::Counter, "EXECUTION"),
    ("iteration_duration", Kind::Trend, "EXECUTION"),
    ("dropped_iterations", Kind::Counter, "EXECUTION"),
    ("vus", Kind::Gauge, "EXECUTION"),
    ("vus_max", Kind::Gauge, "EXECUTION"),
];

/// The type of a known metric.
pub fn kind_of(name: &str) -> Option<Kind> {
    DEFINITIONS.iter().find(|(n, _, _)| *n == name).map(|(_, k, _)| *k)
}

/// Samples in milliseconds.
#[derive(Default)]
pub struct Trend(Mutex<Vec<f64>>);

impl Trend {
    pub fn add(&self, d: Duration) {
        self.add_ms(d.as_secs_f64() * 1000.0);
    }

    pub fn add_ms(&self, ms: f64) {
        self.0.lock().push(ms);
    }

    fn stats(&self) -> TrendStats {
        let mut sorted = self.0.lock().clone();
        sorted.sort_by(f64::total_cmp);
        TrendStats { sorted }
    }
}

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge that remembers its extremes.
#[derive(Default)]
pub struct Gauge {
    value: AtomicI64,
    min: AtomicI64,
    max: AtomicI64,
    seen: AtomicBool,
}

impl Gauge {
    pub fn add(&self, delta: i64) {
        let v = self.value.fetch_add(delta, Ordering::Relaxed) + delta;
        self.observe(v);
    }

    pub fn set(&self, v: i64) {
        self.value.store(v, Ordering::Relaxed);
        self.observe(v);
    }

    fn observe(&self, v: i64) {
        if !self.seen.swap(true, Ordering::Relaxed) {
            self.min.store(v, Ordering::Relaxed);
            self.max.store(v, Ordering::Relaxed);
        }
        self.min.fetch_min(v, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }
}

/// Every metric of one test run.
#[derive(Default)]
pub struct Metrics {
    pub ws_connecting: Trend,
    pub ws_session_duration: Trend,
    pub ws_sessions: Counter,
    pub ws_msgs_sent: Counter,
    pub ws_msgs_received: Counter,
    pub chat_ack_latency: Trend,
    pub ai_first_token_latency: Trend,
    pub ai_stream_duration: Trend,
    pub alert_delivery_latency: Trend,
    pub escalation_latency: Trend,
    /// Risky messages (open-loop patients) whose alert reached no clinician VU by the end.
    pub alerts_missing: Counter,
    pub errors: Counter,
    pub iterations: Counter,
    pub iteration_duration: Trend,
    pub dropped_iterations: Counter,
    pub vus: Gauge,
    pub vus_max: Gauge,
    checks: Mutex<BTreeMap<String, (u64, u64)>>,
    error_kinds: Mutex<BTreeMap<String, u64>>,
}

/// Passes and fails of one named check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckCount {
    pub name: String,
    pub passes: u64,
    pub fails: u64,
}

/// A frozen metric value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Trend(TrendStats),
    Counter { count: u64, rate: f64 },
    Rate { passes: u64, fails: u64 },
    Gauge { value: i64, min: i64, max: i64, seen: bool },
}

/// Sorted samples of a trend, in milliseconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrendStats {
    pub sorted: Vec<f64>,
}

impl TrendStats {
    pub fn from_samples(mut samples: Vec<f64>) -> TrendStats {
        samples.sort_by(f64::total_cmp);
        TrendStats { sorted: samples }
    }

    pub fn count(&self) -> usize {
        self.sorted.len()
    }

    pub fn min(&self) -> f64 {
        self.sorted.first().copied().unwrap_or(0.0)
    }

    pub fn max(&self) -> f64 {
        self.sorted.last().copied().unwrap_or(0.0)
    }

    pub fn avg(&self) -> f64 {
        if self.sorted.is_empty() { 0.0 } else { self.sorted.iter().sum::<f64>() / self.sorted.len() as f64 }
    }

    pub fn med(&self) -> f64 {
        self.percentile(50.0)
    }

    /// Linear interpolation between the closest ranks (as k6 does); 0 without samples.
    pub fn percentile(&self, p: f64) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return 0.0;
        }
        let rank = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
        let lo = rank.floor() as usize;
        let hi = rank.ceil() as usize;
        let frac = rank - lo as f64;
        self.sorted[lo] + (self.sorted[hi] - self.sorted[lo]) * frac
    }
}

impl Value {
    /// The aggregate a threshold compares; `None` if it does not apply to this type.
    pub fn aggregate(&self, agg: Agg) -> Option<f64> {
        Some(match (self, agg) {
            (Value::Trend(t), Agg::Avg) => t.avg(),
            (Value::Trend(t), Agg::Min) => t.min(),
            (Value::Trend(t), Agg::Max) => t.max(),
            (Value::Trend(t), Agg::Med) => t.med(),
            (Value::Trend(t), Agg::Percentile(p)) => t.percentile(p),
            (Value::Trend(t), Agg::Count) => t.count() as f64,
            (Value::Counter { count, .. }, Agg::Count) => *count as f64,
            (Value::Counter { rate, .. }, Agg::Rate) => *rate,
            (Value::Rate { .. }, Agg::Rate) => self.rate_value(),
            (Value::Gauge { value, .. }, Agg::Value) => *value as f64,
            (Value::Gauge { min, .. }, Agg::Min) => *min as f64,
            (Value::Gauge { max, .. }, Agg::Max) => *max as f64,
            _ => return None,
        })
    }

    /// Share of passes for a rate, 0 without samples.
    pub fn rate_value(&self) -> f64 {
        match self {
            Value::Rate { passes, fails } if passes + fails > 0 => *passes as f64 / (passes + fails) as f64,
            _ => 0.0,
        }
    }

    pub fn has_samples(&self) -> bool {
        match self {
            Value::Trend(t) => t.count() > 0,
            Value::Counter { count, .. } => *count > 0,
            Value::Rate { passes, fails } => passes + fails > 0,
            Value::Gauge { seen, .. } => *seen,
        }
    }
}

/// Everything at the end of a run.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The timed part of the test (provisioning excluded); counter rates are per second of it.
    pub elapsed: Duration,
    /// In [`DEFINITIONS`] order.
    pub metrics: Vec<(&'static str, Value)>,
    pub checks: Vec<CheckCount>,
    pub error_kinds: Vec<(String, u64)>,
}

impl Snapshot {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.metrics.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl Metrics {
    /// Records a named check; returns `ok` so it can be used inline.
    pub fn check(&self, name: &str, ok: bool) -> bool {
        let mut checks = self.checks.lock();
        let entry = checks.entry(name.to_owned()).or_default();
        if ok {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        ok
    }

    /// Counts an error, with a short kind for the summary (no ids, no message text).
    pub fn error(&self, kind: &str) {
        self.errors.inc();
        *self.error_kinds.lock().entry(kind.to_owned()).or_default() += 1;
    }

    /// Sent plus received frames so far (for the progress line).
    pub fn frames(&self) -> u64 {
        self.ws_msgs_sent.get() + self.ws_msgs_received.get()
    }

    pub fn snapshot(&self, started: Instant) -> Snapshot {
        let elapsed = started.elapsed();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let counter = |c: &Counter| Value::Counter { count: c.get(), rate: c.get() as f64 / secs };
        let gauge = |g: &Gauge| Value::Gauge {
            value: g.get(),
            min: g.min.load(Ordering::Relaxed),
            max: g.max.load(Ordering::Relaxed),
            seen: g.seen.load(Ordering::Relaxed),
        };
        let checks: Vec<CheckCount> = self
            .checks
            .lock()
            .iter()
            .map(|(name, (passes, fails))| CheckCount { name: name.clone(), passes: *passes, fails: *fails })
            .collect();
        let (passes, fails) = checks.iter().fold((0, 0), |(p, f), c| (p + c.passes, f + c.fails));
        let metrics = DEFINITIONS
            .iter()
            .map(|(name, _, _)| {
                let v = match *name {
                    "alert_delivery_latency" => Value::Trend(self.alert_delivery_latency.stats()),
                    "escalation_latency" => Value::Trend(self.escalation_latency.stats()),
                    "alerts_missing" => counter(&self.alerts_missing),
                    "chat_ack_latency" => Value::Trend(self.chat_ack_latency.stats()),
                    "ai_first_token_latency" => Value::Trend(self.ai_first_token_latency.stats()),
                    "ai_stream_duration" => Value::Trend(self.ai_stream_duration.stats()),
                    "ws_connecting" => Value::Trend(self.ws_connecting.stats()),
                    "ws_session_duration" => Value::Trend(self.ws_session_duration.stats()),
                    "ws_sessions" => counter(&self.ws_sessions),
                    "ws_msgs_sent" => counter(&self.ws_msgs_sent),
                    "ws_msgs_received" => counter(&self.ws_msgs_received),
                    "checks" => Value::Rate { passes, fails },
                    "errors" => counter(&self.errors),
                    "iterations" => counter(&self.iterations),
                    "iteration_duration" => Value::Trend(self.iteration_duration.stats()),
                    "dropped_iterations" => counter(&self.dropped_iterations),
                    "vus" => gauge(&self.vus),
                    _ => gauge(&self.vus_max),
                };
                (*name, v)
            })
            .collect();
        let error_kinds = self.error_kinds.lock().iter().map(|(k, n)| (k.clone(), *n)).collect();
        Snapshot { elapsed, metrics, checks, error_kinds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let t = TrendStats::from_samples((1..=100).rev().map(f64::from).collect());
        assert_eq!(t.min(), 1.0);
        assert_eq!(t.max(), 100.0);
        assert_eq!(t.avg(), 50.5);
        assert_eq!(t.med(), 50.5);
        assert!((t.percentile(95.0) - 95.05).abs() < 1e-9);
        assert!((t.percentile(99.0) - 99.01).abs() < 1e-9);
        assert_eq!(TrendStats::default().percentile(95.0), 0.0);
        assert_eq!(TrendStats::from_samples(vec![7.0]).percentile(90.0), 7.0);
    }

    #[test]
    fn snapshot_covers_every_definition_and_derives_checks() {
        let m = Metrics::default();
        m.check("a", true);
        m.check("a", true);
        m.check("b", false);
        m.ws_msgs_sent.add(10);
        m.chat_ack_latency.add(Duration::from_millis(3));
        m.vus.add(3);
        m.vus.add(-2);
        m.error("ws_connect");
        let s = m.snapshot(Instant::now());
        assert_eq!(s.metrics.len(), DEFINITIONS.len());
        assert_eq!(s.get("checks"), Some(&Value::Rate { passes: 2, fails: 1 }));
        assert!((s.get("checks").unwrap().rate_value() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.get("ws_msgs_sent").unwrap().aggregate(Agg::Count), Some(10.0));
        assert_eq!(s.get("chat_ack_latency").unwrap().aggregate(Agg::Max), Some(3.0));
        assert_eq!(s.get("chat_ack_latency").unwrap().aggregate(Agg::Rate), None);
        assert_eq!(s.get("vus"), Some(&Value::Gauge { value: 1, min: 1, max: 3, seen: true }));
        assert!(!s.get("escalation_latency").unwrap().has_samples());
        assert_eq!(s.error_kinds, vec![("ws_connect".to_owned(), 1)]);
        assert_eq!(s.checks[1], CheckCount { name: "b".into(), passes: 0, fails: 1 });
    }

    #[test]
    fn every_definition_has_a_known_kind() {
        assert_eq!(kind_of("checks"), Some(Kind::Rate));
        assert_eq!(kind_of("ws_msgs_sent"), Some(Kind::Counter));
        assert_eq!(kind_of("nope"), None);
    }
}
