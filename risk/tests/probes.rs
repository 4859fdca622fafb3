//! Asserts the engine's level on the project's own chat probes (`tests/data/probes_extra.jsonl`,
//! written for this project; not used in training). Each probe names the failure case it covers.
//!
//! The clinical policy is over-triage rather than under-triage: no risky probe may be graded
//! below its level. The `none` probes here are nearly all hard negatives (idioms, "last week at
//! this company", "won't be here tomorrow, I'm on holiday"), harder than everyday chat. Since
//! 2026-12-03 the thresholds are chosen with at most 10 % of everyday chat messages, 25 % of distress
//! and denials, 30 % of hard negatives flagged and 10 % of all `none` chat messages graded high
//! (out-of-fold; `risk/train/train_semantic.py`), and the model's level is ordinal. That
//! operating point raised any-risk recall on the three lockboxes to 0.948–0.969 and costs false
//! alarms on exactly these probes: it flags 16 of these 41 (39 %; 10 before, 7 before that —
//! docs/risk-engine.md). The test fails if that grows past 40 %.
#![allow(clippy::expect_used, reason = "test code")]

use healing_risk::{Level, assess};

#[test]
fn extra_probes() {
    let data = include_str!("data/probes_extra.jsonl");
    let mut failures = Vec::new();
    let mut false_alarms = Vec::new();
    let mut n = 0;
    let mut negatives = 0;
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("probe line is JSON");
        let text = v["text"].as_str().expect("probe has text");
        let want = Level::parse(v["level"].as_str().expect("probe has level")).expect("valid level");
        let context: Vec<&str> =
            v["context"].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
        let got = assess(text, &context);
        n += 1;
        negatives += usize::from(want == Level::None);
        let line = format!(
            "{} [{}] {:?}: want {want}, got {} {:?}",
            v["id"],
            v["case"],
            text,
            got.level,
            got.reason_strings()
        );
        if want == Level::None && got.level > want {
            false_alarms.push(line);
        } else if got.level < want {
            failures.push(line);
        }
    }
    assert!(n >= 50, "expected at least 50 probes, found {n}");
    assert!(failures.is_empty(), "{} probe(s) under-triaged:\n{}", failures.len(), failures.join("\n"));
    assert!(
        false_alarms.len() * 10 <= negatives * 4,
        "{} of {negatives} everyday probes flagged:\n{}",
        false_alarms.len(),
        false_alarms.join("\n")
    );
}

#[test]
fn reasons_explain_high_levels() {
    let a = assess("I've decided. I'm going to kill myself on Friday.", &[]);
    assert_eq!(a.level, Level::High);
    assert!(a.score >= 0.75 && a.score <= 1.0);
    assert!(a.reason_strings().iter().any(|r| r.starts_with("C-SSRS 4 (suicidal intent)")));
    let none = assess("What are some good grounding techniques?", &[]);
    assert_eq!(none.level, Level::None);
    assert!(none.reasons.is_empty());
    assert!(none.score < 0.25);
}
