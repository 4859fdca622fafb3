//! The optional LLM second opinion: it can raise an ambiguous message's level (its episode's alert),
//! and it can never lower one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use healing_llm::{Fault, MockConfig, MockServer, ReplyMode};
use serde_json::{Value, json};

async fn setup(answer: &str) -> (Server, MockServer, Account, Account) {
    let mock = MockServer::start(MockConfig {
        ttft: Duration::from_millis(10),
        tokens_per_sec: 10_000.0,
        fault: Fault::None,
        reply: ReplyMode::Fixed(answer.into()),
    })
    .await
    .unwrap();
    let s = Server::start_in(
        &temp_dir("second"),
        &["--llm-base-url", &mock.base_url()],
        &[("HEALING_LLM_API_KEY", "test-key")],
    );
    let p = patient(&s, "Pat").await;
    let c = staff(&s, "Clin", "clinician").await;
    assert!(s.cli(&["assign", "--clinician", &c.username, "--patient", &p.username], "").status.success());
    (s, mock, p, c)
}

async fn alerts_within(ws: &mut Ws, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(f) = ws.try_recv(wait).await {
        // A raise updates the message's episode (contract §4.2): `alert.updated`, same id.
        if f["type"] == "alert" || f["type"] == "alert.updated" {
            out.push(f["alert"].clone());
        }
    }
    out
}

#[tokio::test]
async fn a_higher_second_opinion_raises_the_alert_of_its_episode() {
    let (s, _mock, p, c) = setup(r#"{"level":"high","reason":"intent is implied"}"#).await;
    let (mut clin, _) = Ws::hello(&s, &c.token).await;
    let (mut pat, _) = Ws::hello(&s, &p.token).await;
    pat.send(json!({"type": "chat.send", "client_msg_id": "1", "text": "sometimes I wish I could just not wake up"}))
        .await;
    let alerts = alerts_within(&mut clin, Duration::from_secs(3)).await;
    let levels: Vec<&str> = alerts.iter().map(|a| a["level"].as_str().unwrap()).collect();
    assert_eq!(levels.first(), Some(&"low"), "{alerts:?}");
    let raised = alerts.iter().find(|a| a["level"] == "high").expect("no raised alert");
    assert!(raised["reasons"].to_string().contains("second opinion"), "{raised}");
    assert_eq!(raised["id"], alerts[0]["id"], "the episode's alert is updated, not repeated");
    assert_eq!(raised["message_ids"], json!([alerts[0]["message_id"]]), "the message is listed once");
}

#[tokio::test]
async fn a_lower_second_opinion_changes_nothing() {
    let (s, _mock, p, c) = setup(r#"{"level":"none","reason":"sounds fine"}"#).await;
    let (mut clin, _) = Ws::hello(&s, &c.token).await;
    let (mut pat, _) = Ws::hello(&s, &p.token).await;
    pat.send(json!({"type": "chat.send", "client_msg_id": "1", "text": "I keep thinking about which bridge I would jump from"}))
        .await;
    let alerts = alerts_within(&mut clin, Duration::from_secs(3)).await;
    // One alert; any update of it (its escalation: this patient has no care team) keeps its level.
    assert!(alerts.iter().all(|a| a["id"] == alerts[0]["id"] && a["level"] == alerts[0]["level"]), "{alerts:?}");
    assert!(matches!(alerts[0]["level"].as_str(), Some("moderate" | "high")));
    let conv = alerts[0]["conversation_id"].as_str().unwrap();
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    assert_eq!(h["messages"][0]["risk"]["level"], alerts[0]["level"], "the stored level was lowered");
}
