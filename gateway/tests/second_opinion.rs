//! The LLM second opinion on every patient message the engine grades below high, against the
//! mock model's grading mode: it can raise a message (its episode's alert, the pause, the
//! patient's safety frame), never lower one, and a slow, garbled or absent model leaves the
//! engine's grade, its alert and the chat as they were — and opens the circuit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use healing_llm::{Fault, MockConfig, MockServer, ReplyMode};
use serde_json::{Value, json};

/// A message the engine grades `none`.
const ORDINARY: &str = "I had pasta for dinner and watched a film with my flatmate";
/// A message the engine grades `low` (a passive death wish).
const PASSIVE: &str = "sometimes I wish I could just not wake up";

/// The mock model in grading mode (`grade:ANSWER[:DELAY_MS]`; chat requests get the echo), and
/// a node using it, with `extra` flags.
async fn setup(grade: &str, extra: &[&str]) -> (Server, MockServer) {
    let mock = MockServer::start(MockConfig {
        ttft: Duration::from_millis(5),
        tokens_per_sec: 10_000.0,
        fault: Fault::None,
        reply: format!("grade:{grade}").parse::<ReplyMode>().unwrap(),
    })
    .await
    .unwrap();
    let mut args = vec!["--llm-base-url".to_owned(), mock.base_url()];
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::start_in(&temp_dir("second"), &args, &[("HEALING_LLM_API_KEY", "test-key")]);
    (s, mock)
}

/// Alert frames (`alert` and `alert.updated`) arriving within `wait`.
async fn alerts_within(ws: &mut Ws, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(f) = ws.try_recv(wait).await {
        if f["type"] == "alert" || f["type"] == "alert.updated" {
            out.push(f["alert"].clone());
        }
    }
    out
}

/// The next alert frame whose alert satisfies `pred`, within `wait`.
async fn alert_where(ws: &mut Ws, wait: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let f = ws.try_recv(left).await?;
        if (f["type"] == "alert" || f["type"] == "alert.updated") && pred(&f["alert"]) {
            return Some(f["alert"].clone());
        }
    }
}

/// `healing_second_opinion_total{outcome}` on the node.
async fn outcome(s: &Server, outcome: &str) -> f64 {
    let text = metrics_text(s).await;
    metric(&text, &format!("healing_second_opinion_total{{outcome=\"{outcome}\"}}")).unwrap_or(0.0)
}

async fn wait_for_outcome(s: &Server, name: &str, at_least: f64) -> bool {
    eventually(Duration::from_secs(10), || async { (outcome(s, name).await >= at_least).then_some(()) }).await.is_some()
}

#[tokio::test]
async fn a_message_the_engine_grades_none_and_the_model_high_alerts_the_clinician_and_pauses_the_ai() {
    let (s, mock) = setup("high", &[]).await;
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;

    // The engine sees nothing, so it sends no safety frame of its own.
    let frames = chat(&mut pat, None, ORDINARY).await;
    let conv = frames.iter().find(|f| f["type"] == "chat.ack").unwrap()["conversation_id"].as_str().unwrap().to_owned();

    // Then the model's grade arrives: the clinician gets a high alert for that message.
    let alert = alert_where(&mut clin, Duration::from_secs(10), |a| a["level"] == "high").await.expect("no alert");
    assert!(alert["reasons"].to_string().contains("LLM second opinion (high)"), "{alert}");
    assert_eq!(alert["conversation_id"], conv.as_str());
    assert!(mock.graded() >= 1);

    // The patient gets the safety frame of the new level, with the AI paused (it may come
    // while the ordinary reply is still streaming: that reply is then stopped).
    let safety = match frames.iter().find(|f| f["type"] == "safety") {
        Some(f) => f.clone(),
        None => next_of(&mut pat, "safety").await,
    };
    assert_eq!(safety["level"], "high");
    assert_eq!(safety["chat_paused"], true);
    // The stored message carries the raised level (written once the pause is stored).
    let path = format!("/api/v1/conversations/{conv}/messages");
    let raised = eventually(Duration::from_secs(5), || async {
        let (_, h) = get(&s, &path, Some(&team.patient.token)).await;
        let first = h["messages"].as_array()?.iter().find(|m| m["author"] == "patient")?.clone();
        (first["risk"]["level"] == "high").then_some(first)
    })
    .await;
    assert!(raised.is_some(), "the message's stored level was not raised");
    // The pause holds in every conversation, new ones included.
    let held = chat(&mut pat, None, "are you still there?").await;
    assert!(streamed_text(&held).contains("paused"), "the AI was not paused: {}", streamed_text(&held));
    assert!(outcome(&s, "raised").await >= 1.0);
}

#[tokio::test]
async fn a_higher_second_opinion_raises_the_alert_of_its_episode() {
    let (s, _mock) = setup("high", &[]).await;
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    pat.send(json!({"type": "chat.send", "client_msg_id": "1", "text": PASSIVE})).await;
    let first = alert_where(&mut clin, Duration::from_secs(10), |_| true).await.expect("no alert");
    assert_eq!(first["level"], "low", "the engine's alert comes first: {first}");
    let raised = alert_where(&mut clin, Duration::from_secs(10), |a| a["level"] == "high").await.expect("not raised");
    assert!(raised["reasons"].to_string().contains("second opinion"), "{raised}");
    assert_eq!(raised["id"], first["id"], "the episode's alert is updated, not repeated");
    assert_eq!(raised["message_ids"], json!([first["message_id"]]), "the message is listed once");
}

#[tokio::test]
async fn a_lower_second_opinion_changes_nothing() {
    let (s, mock) = setup("none", &[]).await;
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    let frames = chat(&mut pat, None, PASSIVE).await;
    assert!(wait_for_outcome(&s, "lower", 1.0).await, "the model was not asked");
    assert!(mock.graded() >= 1);
    let alerts = alerts_within(&mut clin, Duration::from_millis(500)).await;
    assert!(!alerts.is_empty());
    assert!(alerts.iter().all(|a| a["id"] == alerts[0]["id"] && a["level"] == "low"), "{alerts:?}");
    let conv = frames.iter().find(|f| f["type"] == "chat.ack").unwrap()["conversation_id"].as_str().unwrap().to_owned();
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&team.patient.token)).await;
    assert_eq!(h["messages"][0]["risk"]["level"], "low", "the stored level was lowered");
}

/// A failing model (slow beyond the timeout, garbage, wrong schema, outage): the engine's alert
/// stands at its level, chat keeps answering, each failure is counted, and after
/// `--llm-second-opinion-breaker-failures` of them the circuit opens and the model is not asked.
async fn failing_model_leaves_the_engine_in_charge(grade: &str, counted_as: &str) {
    let (s, mock) = setup(
        grade,
        &[
            "--llm-second-opinion-timeout",
            "300ms",
            "--llm-second-opinion-breaker-failures",
            "2",
            "--llm-second-opinion-breaker-cooldown",
            "1h",
        ],
    )
    .await;
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;

    let frames = chat(&mut pat, None, PASSIVE).await;
    assert!(streamed_text(&frames).contains("not wake up"), "{grade}: chat stopped working: {frames:?}");
    assert!(wait_for_outcome(&s, counted_as, 1.0).await, "{grade}: not counted as {counted_as}");
    let alerts = alerts_within(&mut clin, Duration::from_millis(300)).await;
    assert!(!alerts.is_empty() && alerts.iter().all(|a| a["level"] == "low"), "{grade}: {alerts:?}");

    // A second failure opens the circuit; the next message is not sent to the model at all.
    let frames = chat(&mut pat, None, "I feel so tired of everything, I wish I could disappear").await;
    assert!(frames.iter().any(|f| f["type"] == "ai.end"), "{grade}");
    assert!(wait_for_outcome(&s, counted_as, 2.0).await, "{grade}: second failure not counted");
    let open = metric(&metrics_text(&s).await, "healing_second_opinion_circuit_open");
    assert_eq!(open, Some(1.0), "{grade}: the circuit did not open");
    let asked = mock.graded();
    let frames = chat(&mut pat, None, "honestly I'd rather not wake up tomorrow").await;
    assert!(frames.iter().any(|f| f["type"] == "ai.end"), "{grade}");
    assert!(wait_for_outcome(&s, "circuit_open", 1.0).await, "{grade}: circuit_open not counted");
    assert_eq!(mock.graded(), asked, "{grade}: an open circuit still called the model");
    // Nothing was raised by the failing model.
    assert_eq!(outcome(&s, "raised").await, 0.0);
    let later = alerts_within(&mut clin, Duration::from_millis(200)).await;
    assert!(later.iter().all(|a| !a["reasons"].to_string().contains("second opinion")), "{grade}: {later:?}");
}

#[tokio::test]
async fn a_model_slower_than_the_timeout_leaves_the_engine_in_charge() {
    failing_model_leaves_the_engine_in_charge("high:3000", "timeout").await;
}

#[tokio::test]
async fn a_garbage_answer_leaves_the_engine_in_charge() {
    failing_model_leaves_the_engine_in_charge("garbage", "failed").await;
}

#[tokio::test]
async fn a_wrong_schema_leaves_the_engine_in_charge() {
    failing_model_leaves_the_engine_in_charge("schema", "failed").await;
}

#[tokio::test]
async fn a_model_outage_leaves_the_engine_in_charge() {
    failing_model_leaves_the_engine_in_charge("500", "failed").await;
}

#[tokio::test]
async fn an_unreachable_model_server_leaves_the_engine_alert_and_a_calm_chat() {
    // Connection refused: a port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let s = Server::start_in(&temp_dir("second-down"), &["--llm-base-url", &url], &[("HEALING_LLM_API_KEY", "k")]);
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    let frames = chat(&mut pat, None, PASSIVE).await;
    assert!(frames.iter().any(|f| f["type"] == "ai.end"), "{frames:?}");
    assert!(wait_for_outcome(&s, "failed", 1.0).await);
    let alert = alert_where(&mut clin, Duration::from_secs(5), |_| true).await.expect("the engine's alert is gone");
    assert_eq!(alert["level"], "low");
}

#[tokio::test]
async fn a_message_the_engine_grades_high_gets_no_second_opinion_call() {
    let (s, mock) = setup("keywords", &[]).await;
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    let frames = chat(&mut pat, None, HIGH_RISK).await;
    assert_eq!(frames.iter().find(|f| f["type"] == "safety").unwrap()["level"], "high");
    let alert = alert_where(&mut clin, Duration::from_secs(5), |a| a["level"] == "high").await.expect("no alert");
    assert!(!alert["reasons"].to_string().contains("second opinion"), "{alert}");
    // A later ordinary message is asked about (so the pipeline runs), and only it.
    let _ = chat(&mut pat, None, ORDINARY).await;
    assert!(
        eventually(Duration::from_secs(10), || async { (mock.graded() >= 1).then_some(()) }).await.is_some(),
        "the ordinary message got no second opinion"
    );
    assert!(wait_for_outcome(&s, "same", 1.0).await, "the keyword grader calls it none, as the engine did");
    assert_eq!(mock.graded(), 1, "the high message was sent to the model");
}
