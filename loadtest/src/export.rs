//! `--summary-export`: k6's legacy JSON layout. Trends export `avg,min,med,max,p(90),p(95),p(99)`
//! (plus `count`, an addition), counters `count,rate`, rates `passes,fails,value`, gauges
//! `value,min,max`; a metric with thresholds carries `"thresholds":{expr: failed}` — `true` means
//! the threshold FAILED, as in k6. Metrics with neither samples nor thresholds are left out.

use std::path::Path;

use serde_json::{Map, Value as Json, json};

use crate::error::LoadError;
use crate::metrics::{Snapshot, Value};
use crate::threshold::Outcome;

/// Non-finite numbers (no samples) become 0, as JSON has no NaN.
fn num(v: f64) -> Json {
    json!(if v.is_finite() { v } else { 0.0 })
}

pub fn to_json(snap: &Snapshot, outcomes: &[Outcome]) -> Json {
    let mut metrics = Map::new();
    for (name, value) in &snap.metrics {
        let mine: Vec<&Outcome> = outcomes.iter().filter(|o| o.metric == *name).collect();
        if !value.has_samples() && mine.is_empty() {
            continue;
        }
        let mut m = match value {
            Value::Trend(t) => json!({
                "avg": num(t.avg()), "min": num(t.min()), "med": num(t.med()), "max": num(t.max()),
                "p(90)": num(t.percentile(90.0)), "p(95)": num(t.percentile(95.0)), "p(99)": num(t.percentile(99.0)),
                "count": t.count(),
            }),
            Value::Counter { count, rate } => json!({"count": count, "rate": num(*rate)}),
            Value::Rate { passes, fails } => {
                json!({"passes": passes, "fails": fails, "value": num(value.rate_value())})
            }
            Value::Gauge { value, min, max, .. } => json!({"value": value, "min": min, "max": max}),
        };
        if !mine.is_empty() {
            let th: Map<String, Json> = mine.iter().map(|o| (o.threshold.source.clone(), json!(!o.passed))).collect();
            m["thresholds"] = Json::Object(th);
        }
        metrics.insert((*name).to_owned(), m);
    }
    let checks: Vec<Json> = snap
        .checks
        .iter()
        .map(|c| json!({"name": c.name, "path": format!("::{}", c.name), "passes": c.passes, "fails": c.fails}))
        .collect();
    json!({
        "root_group": {"name": "", "path": "", "groups": [], "checks": checks},
        "metrics": metrics,
        "state": {"testRunDurationMs": snap.elapsed.as_secs_f64() * 1000.0},
    })
}

pub fn write(path: &Path, snap: &Snapshot, outcomes: &[Outcome]) -> Result<(), LoadError> {
    let mut text = serde_json::to_string_pretty(&to_json(snap, outcomes)).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MetricThresholds;
    use crate::metrics::{Kind, Metrics};
    use crate::threshold::evaluate;
    use std::time::{Duration, Instant};

    #[test]
    fn export_has_k6_legacy_shape_and_failed_means_true() {
        let m = Metrics::default();
        m.chat_ack_latency.add(Duration::from_millis(2));
        m.chat_ack_latency.add(Duration::from_millis(4));
        m.ws_msgs_sent.add(5);
        m.check("chat acked", true);
        m.vus.set(3);
        let snap = m.snapshot(Instant::now() - Duration::from_secs(1));
        let sets = [MetricThresholds {
            metric: "chat_ack_latency".into(),
            kind: Kind::Trend,
            thresholds: vec!["p(95)<50".parse().unwrap(), "max<0".parse().unwrap()],
        }];
        let j = to_json(&snap, &evaluate(&sets, &snap));
        let ack = &j["metrics"]["chat_ack_latency"];
        assert_eq!(ack["avg"], 3.0);
        assert_eq!(ack["min"], 2.0);
        assert_eq!(ack["max"], 4.0);
        assert_eq!(ack["med"], 3.0);
        for k in ["p(90)", "p(95)", "p(99)"] {
            assert!(ack[k].is_f64(), "{k}");
        }
        assert_eq!(ack["thresholds"]["p(95)<50"], false);
        assert_eq!(ack["thresholds"]["max<0"], true);
        assert_eq!(j["metrics"]["ws_msgs_sent"]["count"], 5);
        assert!(j["metrics"]["ws_msgs_sent"]["rate"].as_f64().unwrap() > 0.0);
        assert_eq!(j["metrics"]["checks"], json!({"passes": 1, "fails": 0, "value": 1.0}));
        assert_eq!(j["metrics"]["vus"], json!({"value": 3, "min": 3, "max": 3}));
        assert!(j["metrics"].get("escalation_latency").is_none());
        assert_eq!(j["root_group"]["checks"][0]["name"], "chat acked");
    }
}
