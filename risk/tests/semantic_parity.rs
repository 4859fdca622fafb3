//! The Rust detector computes the scores and levels the training code computed
//! (`risk/train/train_semantic.py export` writes `tests/data/semantic_parity.jsonl`: a fixed
//! sample of chat, probe and lockbox messages with the Python heads' logits and model level).
#![cfg(feature = "semantic")]
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test code")]

use healing_risk::semantic::detector;

#[test]
fn rust_detector_matches_the_training_code() {
    let det = detector().expect("detector loads");
    let rows = include_str!("data/semantic_parity.jsonl");
    let mut n = 0;
    for line in rows.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        let want: Vec<f64> = v["scores"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let (got, _) = det.predict(&healing_risk::fold_for_model(text)).expect("predict");
        for (k, (g, w)) in got.scores.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 2e-3, "{text}: head {k} {g} vs python {w}");
        }
        assert_eq!(got.level.as_str(), v["model"].as_str().unwrap(), "{text}");
        n += 1;
    }
    assert!(n >= 100, "only {n} parity rows");
}

#[test]
fn a_model_driven_grade_names_its_sentence_and_item() {
    // An attempt in progress told without risk words: the rules alone see nothing here.
    let a = healing_risk::assess(
        "Had a nice chat with mum earlier. Now I'm standing on the wrong side of the railing on the bridge and the water looks calm.",
        &[],
    );
    assert_eq!(a.level, healing_risk::Level::High, "{:?}", a.reason_strings());
    let r = &a.reasons[0];
    assert!(r.item.starts_with("Model"), "{r}");
    assert!(r.evidence.contains("railing"), "the driving sentence, not the whole message: {r}");
    assert!(!r.evidence.contains("mum"), "{r}");
}
