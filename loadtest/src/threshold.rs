//! k6 threshold expressions: `<aggregation> <operator> <number>`, e.g. `p(95)<50`, `rate>0.99`,
//! `count>0`, `avg <= 200`. Aggregations: `avg|min|max|med|p(N)` (trends, plus `count`, an
//! extension), `count|rate` (counters), `rate` (rates), `value|min|max` (gauges).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::metrics::Kind;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agg {
    Avg,
    Min,
    Max,
    Med,
    /// `p(N)`, N in 0..=100.
    Percentile(f64),
    Count,
    Rate,
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// One parsed expression; `source` is the text as written (the key of the export).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub source: String,
    pub agg: Agg,
    pub op: Op,
    pub value: f64,
}

#[derive(Debug, Error, PartialEq)]
#[error("threshold {expr:?}: {reason}")]
pub struct ThresholdError {
    pub expr: String,
    pub reason: String,
}

impl Agg {
    /// Whether a metric of `kind` can be aggregated this way.
    pub fn applies_to(self, kind: Kind) -> bool {
        match kind {
            Kind::Trend => {
                matches!(self, Agg::Avg | Agg::Min | Agg::Max | Agg::Med | Agg::Percentile(_) | Agg::Count)
            }
            Kind::Counter => matches!(self, Agg::Count | Agg::Rate),
            Kind::Rate => matches!(self, Agg::Rate),
            Kind::Gauge => matches!(self, Agg::Value | Agg::Min | Agg::Max),
        }
    }
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Agg::Avg => f.write_str("avg"),
            Agg::Min => f.write_str("min"),
            Agg::Max => f.write_str("max"),
            Agg::Med => f.write_str("med"),
            Agg::Percentile(p) => write!(f, "p({p})"),
            Agg::Count => f.write_str("count"),
            Agg::Rate => f.write_str("rate"),
            Agg::Value => f.write_str("value"),
        }
    }
}

impl Op {
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
            Op::Eq => observed == limit,
            Op::Ne => observed != limit,
        }
    }
}

impl Threshold {
    /// Whether the observed aggregate passes.
    pub fn passes(&self, observed: f64) -> bool {
        self.op.holds(observed, self.value)
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Threshold, ThresholdError> {
        let err = |reason: &str| ThresholdError { expr: s.to_owned(), reason: reason.to_owned() };
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        // The operator is the first of <, >, =, ! (two-character forms first).
        let at = compact.find(['<', '>', '=', '!']).ok_or_else(|| err("no comparison operator"))?;
        let (lhs, rest) = compact.split_at(at);
        let (op, rhs) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("===", Op::Eq),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find_map(|(tok, op)| rest.strip_prefix(tok).map(|r| (*op, r)))
        .ok_or_else(|| err("unknown operator"))?;
        let agg = match lhs {
            "avg" => Agg::Avg,
            "min" => Agg::Min,
            "max" => Agg::Max,
            "med" => Agg::Med,
            "count" => Agg::Count,
            "rate" => Agg::Rate,
            "value" => Agg::Value,
            p if p.starts_with("p(") && p.ends_with(')') => {
                let n: f64 = p[2..p.len() - 1].parse().map_err(|_| err("p(N) needs a number"))?;
                if !(0.0..=100.0).contains(&n) {
                    return Err(err("p(N) needs N between 0 and 100"));
                }
                Agg::Percentile(n)
            }
            "" => return Err(err("missing aggregation")),
            _ => return Err(err("unknown aggregation (avg, min, max, med, p(N), count, rate, value)")),
        };
        let value: f64 = rhs.parse().map_err(|_| err("the right-hand side must be a number"))?;
        if !value.is_finite() {
            return Err(err("the right-hand side must be finite"));
        }
        Ok(Threshold { source: s.trim().to_owned(), agg, op, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Threshold {
        s.parse().unwrap()
    }

    #[test]
    fn parses_k6_expressions() {
        assert_eq!(
            t("p(95)<50"),
            Threshold { source: "p(95)<50".into(), agg: Agg::Percentile(95.0), op: Op::Lt, value: 50.0 }
        );
        assert_eq!(t("rate>0.99").agg, Agg::Rate);
        assert_eq!(t("count>0").op, Op::Gt);
        let spaced = t(" avg <= 200.5 ");
        assert_eq!((spaced.agg, spaced.op, spaced.value), (Agg::Avg, Op::Le, 200.5));
        assert_eq!(spaced.source, "avg <= 200.5");
        assert_eq!(t("p(99.9)>=1").agg, Agg::Percentile(99.9));
        assert_eq!(t("med==3").op, Op::Eq);
        assert_eq!(t("med===3").op, Op::Eq);
        assert_eq!(t("max!=3").op, Op::Ne);
        assert_eq!(t("value>-1").value, -1.0);
    }

    #[test]
    fn rejects_malformed_expressions() {
        for bad in ["p(95)", "<50", "p95<50", "p(101)<1", "p(x)<1", "avg<fast", "mean<3", "avg=>3", "avg<inf", ""] {
            assert!(bad.parse::<Threshold>().is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn evaluates_each_operator() {
        assert!(t("p(95)<50").passes(49.9));
        assert!(!t("p(95)<50").passes(50.0));
        assert!(t("p(95)<=50").passes(50.0));
        assert!(t("rate>0.99").passes(1.0));
        assert!(!t("rate>0.99").passes(0.99));
        assert!(t("count>=1").passes(1.0));
        assert!(t("count!=0").passes(2.0));
        assert!(t("count==0").passes(0.0));
    }

    #[test]
    fn aggregations_are_checked_against_metric_kinds() {
        assert!(Agg::Percentile(95.0).applies_to(Kind::Trend));
        assert!(Agg::Count.applies_to(Kind::Trend));
        assert!(!Agg::Rate.applies_to(Kind::Trend));
        assert!(Agg::Rate.applies_to(Kind::Counter));
        assert!(!Agg::Avg.applies_to(Kind::Counter));
        assert!(Agg::Rate.applies_to(Kind::Rate));
        assert!(!Agg::Count.applies_to(Kind::Rate));
        assert!(Agg::Value.applies_to(Kind::Gauge));
        assert_eq!(Agg::Percentile(99.9).to_string(), "p(99.9)");
    }
}

/// One evaluated threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub metric: String,
    pub kind: Kind,
    pub threshold: Threshold,
    pub observed: f64,
    pub passed: bool,
}

/// Evaluates every threshold against the end-of-test snapshot, in file order.
pub fn evaluate(sets: &[crate::config::MetricThresholds], snap: &crate::metrics::Snapshot) -> Vec<Outcome> {
    sets.iter()
        .flat_map(|set| {
            set.thresholds.iter().map(|t| {
                let observed = snap.get(&set.metric).and_then(|v| v.aggregate(t.agg)).unwrap_or(f64::NAN);
                Outcome {
                    metric: set.metric.clone(),
                    kind: set.kind,
                    threshold: t.clone(),
                    observed,
                    passed: t.passes(observed),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod evaluate_tests {
    use super::*;
    use crate::config::MetricThresholds;
    use crate::metrics::Metrics;
    use std::time::{Duration, Instant};

    #[test]
    fn thresholds_are_evaluated_against_the_snapshot() {
        let m = Metrics::default();
        for ms in [10, 20, 30, 40, 100] {
            m.chat_ack_latency.add(Duration::from_millis(ms));
        }
        m.check("ok", true);
        let snap = m.snapshot(Instant::now());
        let set = |metric: &str, kind, exprs: &[&str]| MetricThresholds {
            metric: metric.into(),
            kind,
            thresholds: exprs.iter().map(|e| e.parse().unwrap()).collect(),
        };
        let out = evaluate(
            &[
                set("chat_ack_latency", Kind::Trend, &["p(95)<50", "avg<50", "count>0"]),
                set("checks", Kind::Rate, &["rate>0.99"]),
                set("alert_delivery_latency", Kind::Trend, &["count>0"]),
            ],
            &snap,
        );
        let verdicts: Vec<(&str, bool)> = out.iter().map(|o| (o.threshold.source.as_str(), o.passed)).collect();
        assert_eq!(
            verdicts,
            [("p(95)<50", false), ("avg<50", true), ("count>0", true), ("rate>0.99", true), ("count>0", false)]
        );
        assert!((out[0].observed - 88.0).abs() < 1e-6);
    }
}
