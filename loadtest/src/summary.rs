//! The end-of-test summary, printed like k6's: a THRESHOLDS block (✓/✗ per expression with the
//! observed value), then TOTAL RESULTS — checks, then every metric that saw samples, grouped.
//! Trends show avg/min/med/max/p(90)/p(95)/p(99); counters count and rate; rates a percentage.

use std::fmt::Write;

use crate::metrics::{DEFINITIONS, Kind, Snapshot, Value};
use crate::threshold::{Agg, Outcome};

/// k6's human duration for a value in milliseconds: `850µs`, `12.34ms`, `1.52s`, `1m3s`.
pub fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "n/a".into();
    }
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.2}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else {
        let secs = (ms / 1000.0).round() as u64;
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v:.4}") }
}

/// The observed value of a threshold, formatted for its metric.
fn observed(o: &Outcome) -> String {
    let v = o.observed;
    let shown = match (o.kind, o.threshold.agg) {
        (Kind::Trend, Agg::Count) | (Kind::Counter, Agg::Count) | (Kind::Gauge, _) => fmt_num(v),
        (Kind::Trend, _) => fmt_ms(v),
        (Kind::Rate, _) => format!("{:.2}%", v * 100.0),
        (Kind::Counter, _) => format!("{v:.2}/s"),
    };
    format!("{}={shown}", o.threshold.agg)
}

fn line(name: &str, width: usize) -> String {
    let dots = width.saturating_sub(name.chars().count());
    format!("    {name}{}: ", ".".repeat(dots.max(1)))
}

pub fn render(snap: &Snapshot, outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let shown: Vec<&(&str, Value)> =
        snap.metrics.iter().filter(|(n, v)| v.has_samples() || outcomes.iter().any(|o| o.metric == *n)).collect();
    let width = shown.iter().map(|(n, _)| n.len()).chain([16]).max().unwrap_or(16) + 3;

    if !outcomes.is_empty() {
        out.push_str("\n  █ THRESHOLDS\n");
        let mut last = "";
        for o in outcomes {
            if o.metric != last {
                let _ = write!(out, "\n    {}\n", o.metric);
                last = &o.metric;
            }
            let mark = if o.passed { '✓' } else { '✗' };
            let _ = writeln!(out, "    {mark} '{}' {}", o.threshold.source, observed(o));
        }
    }

    out.push_str("\n  █ TOTAL RESULTS\n\n");
    let (passes, fails) = snap.checks.iter().fold((0, 0), |(p, f), c| (p + c.passes, f + c.fails));
    let total = passes + fails;
    let secs = snap.elapsed.as_secs_f64().max(1e-9);
    let pct = |n: u64| if total == 0 { 0.0 } else { n as f64 * 100.0 / total as f64 };
    let _ = writeln!(out, "{}{total:<8} {:.2}/s", line("checks_total", width), total as f64 / secs);
    let _ = writeln!(out, "{}{:.2}% {passes} out of {total}", line("checks_succeeded", width), pct(passes));
    let _ = writeln!(out, "{}{:.2}% {fails} out of {total}", line("checks_failed", width), pct(fails));
    if !snap.checks.is_empty() {
        out.push('\n');
        for c in &snap.checks {
            let mark = if c.fails == 0 { '✓' } else { '✗' };
            let _ = write!(out, "    {mark} {}", c.name);
            if c.fails > 0 {
                let _ = write!(
                    out,
                    "\n      ↳  {:.0}% — ✓ {} / ✗ {}",
                    c.passes as f64 * 100.0 / (c.passes + c.fails) as f64,
                    c.passes,
                    c.fails
                );
            }
            out.push('\n');
        }
    }

    let mut group = "";
    for (name, _, g) in DEFINITIONS {
        let Some((_, value)) = shown.iter().find(|(n, _)| n == name) else { continue };
        if *name == "checks" {
            continue; // shown above
        }
        if *g != group {
            let _ = write!(out, "\n    {g}\n");
            group = g;
        }
        let body = match value {
            Value::Trend(t) => format!(
                "avg={} min={} med={} max={} p(90)={} p(95)={} p(99)={} count={}",
                fmt_ms(t.avg()),
                fmt_ms(t.min()),
                fmt_ms(t.med()),
                fmt_ms(t.max()),
                fmt_ms(t.percentile(90.0)),
                fmt_ms(t.percentile(95.0)),
                fmt_ms(t.percentile(99.0)),
                t.count()
            ),
            Value::Counter { count, rate } => format!("{count:<8} {rate:.2}/s"),
            Value::Rate { passes, fails } => {
                format!("{:.2}% {passes} out of {}", value.rate_value() * 100.0, passes + fails)
            }
            Value::Gauge { value, min, max, .. } => format!("{value:<8} min={min} max={max}"),
        };
        let _ = writeln!(out, "{}{body}", line(name, width));
    }
    if !snap.error_kinds.is_empty() {
        let kinds: Vec<String> = snap.error_kinds.iter().map(|(k, n)| format!("{k}={n}")).collect();
        let _ = writeln!(out, "{}{}", line("errors by kind", width), kinds.join(" "));
    }
    let _ = writeln!(out, "\n  test duration: {}", fmt_ms(snap.elapsed.as_secs_f64() * 1000.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MetricThresholds;
    use crate::metrics::Metrics;
    use crate::threshold::evaluate;
    use std::time::{Duration, Instant};

    #[test]
    fn durations_format_like_k6() {
        assert_eq!(fmt_ms(0.85), "850µs");
        assert_eq!(fmt_ms(12.345), "12.35ms");
        assert_eq!(fmt_ms(1520.0), "1.52s");
        assert_eq!(fmt_ms(63_000.0), "1m3s");
        assert_eq!(fmt_ms(f64::NAN), "n/a");
    }

    #[test]
    fn summary_has_thresholds_checks_and_grouped_metrics() {
        let m = Metrics::default();
        m.chat_ack_latency.add(Duration::from_millis(4));
        m.ws_msgs_sent.add(3);
        m.check("chat acked", true);
        m.check("session welcomed", false);
        let snap = m.snapshot(Instant::now() - Duration::from_secs(1));
        let sets = [
            MetricThresholds {
                metric: "chat_ack_latency".into(),
                kind: Kind::Trend,
                thresholds: vec!["p(95)<50".parse().unwrap()],
            },
            MetricThresholds {
                metric: "checks".into(),
                kind: Kind::Rate,
                thresholds: vec!["rate>0.95".parse().unwrap()],
            },
        ];
        let text = render(&snap, &evaluate(&sets, &snap));
        assert!(text.contains("█ THRESHOLDS"), "{text}");
        assert!(text.contains("✓ 'p(95)<50' p(95)=4.00ms"), "{text}");
        assert!(text.contains("✗ 'rate>0.95' rate=50.00%"), "{text}");
        assert!(text.contains("checks_succeeded...: 50.00% 1 out of 2"), "{text}");
        assert!(text.contains("50.00% 1 out of 2"), "{text}");
        assert!(text.contains("✓ chat acked"), "{text}");
        assert!(text.contains("✗ session welcomed"), "{text}");
        assert!(text.contains("CHAT\n"), "{text}");
        assert!(
            text.contains("avg=4.00ms min=4.00ms med=4.00ms max=4.00ms p(90)=4.00ms p(95)=4.00ms p(99)=4.00ms"),
            "{text}"
        );
        assert!(text.contains("ws_msgs_sent"), "{text}");
        // Metrics without samples or thresholds are left out.
        assert!(!text.contains("escalation_latency"), "{text}");
    }
}
