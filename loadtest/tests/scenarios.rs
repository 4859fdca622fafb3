//! Every bundled scenario file is valid, and the smoke scenario stays CI-sized and measures what
//! the smoke script asserts on.

use std::path::Path;
use std::time::Duration;

use healing_load::config::{BehaviourSpec, Role, TestPlan};

fn load(name: &str) -> TestPlan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name);
    TestPlan::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn bundled_scenarios_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert_eq!(names, ["chat-mix.toml", "compare.toml", "connections.toml", "crisis-storm.toml", "smoke.toml"]);
    for n in &names {
        let plan = load(n);
        assert!(!plan.thresholds.is_empty(), "{n} has no thresholds");
    }
}

#[test]
fn smoke_is_small_and_measures_alerts() {
    let plan = load("smoke.toml");
    assert!(plan.total_duration() <= Duration::from_secs(15), "{:?}", plan.total_duration());
    let accounts = plan.pool.patients + plan.pool.clinicians + plan.pool.supervisors;
    assert!(accounts <= 16, "provisioning must stay cheap: {accounts} accounts");
    assert!(plan.peak_vus(Role::Clinician) >= plan.pool.clinicians as u64, "every clinician must be online");
    let risky =
        plan.scenarios.iter().any(|s| matches!(&s.behaviour, BehaviourSpec::PatientChat(p) if p.risky_share > 0.0));
    assert!(risky, "smoke must send risky messages");
    for metric in ["checks", "ws_msgs_sent", "alert_delivery_latency"] {
        assert!(plan.thresholds.iter().any(|t| t.metric == metric), "no threshold on {metric}");
    }
}
