//! Risk episodes (contract §4.2): one open alert per patient, updated by later risky messages
//! rather than repeated; a message with no risk of its own raises nothing; a high-risk message
//! pauses the AI for the patient, new conversations included, until a clinician resumes it.
//!
//! "Nothing was raised" is shown by a condition, never a sleep: clinicians' frames are pushed in
//! the order the patient's messages were screened, and each message is screened before its reply
//! ends, so every frame an ordinary message could cause arrives before the `alert.updated` of a
//! risky message sent after its reply.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// Graded moderate by the engine on its own (thoughts of a method, no plan or timing).
const MODERATE_RISK: &str = "I think about suicide every day and I have been looking up ways to do it";
/// Ordinary messages with no risk of their own.
const ORDINARY: [&str; 3] =
    ["thanks, that helps a bit", "I had pasta for dinner and watched a film", "my sister is visiting on Sunday"];

fn ack_of(frames: &[Value]) -> &Value {
    frames.iter().find(|f| f["type"] == "chat.ack").expect("no chat.ack")
}

fn kinds(frames: &[Value]) -> Vec<&str> {
    frames.iter().map(|f| f["type"].as_str().unwrap()).collect()
}

/// Clinician frames up to the first `alert.updated` (inclusive); panics on an `alert` frame.
async fn until_update_without_new_alert(clin: &mut Ws) -> Value {
    loop {
        let f = clin.recv().await;
        assert_ne!(f["type"], "alert", "a new alert was raised inside an open episode: {f}");
        if f["type"] == "alert.updated" {
            return f;
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn after_a_high_alert_ordinary_messages_raise_nothing_and_a_risky_one_updates_it() {
    let s = Server::start(&[]);
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;

    let first = chat(&mut pat, None, HIGH_RISK).await;
    let conv = ack_of(&first)["conversation_id"].as_str().unwrap().to_owned();
    let m1 = ack_of(&first)["message_id"].as_str().unwrap().to_owned();
    let alert = next_of(&mut clin, "alert").await["alert"].clone();
    assert_eq!(alert["level"], "high");
    assert_eq!(strings(&alert["message_ids"]), vec![m1.clone()]);
    assert!(alert["updated_at"].is_string(), "{alert}");

    // Three ordinary messages: no safety frame for the patient, nothing for the clinician.
    for text in ORDINARY {
        let frames = chat(&mut pat, Some(&conv), text).await;
        assert!(!kinds(&frames).contains(&"safety"), "{text}: {:?}", kinds(&frames));
    }
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&team.patient.token)).await;
    for m in h["messages"].as_array().unwrap().iter().filter(|m| m["author"] == "patient").skip(1) {
        assert_eq!(m["risk"]["level"], "none", "graded by its context: {m}");
    }

    // A second risky message, in another conversation, updates the open alert.
    let second = chat(&mut pat, None, MODERATE_RISK).await;
    let conv2 = ack_of(&second)["conversation_id"].as_str().unwrap().to_owned();
    assert_ne!(conv2, conv);
    let m2 = ack_of(&second)["message_id"].as_str().unwrap().to_owned();
    let updated = until_update_without_new_alert(&mut clin).await["alert"].clone();
    assert_eq!(updated["id"], alert["id"]);
    assert_eq!(updated["level"], "high", "an episode's level never falls");
    assert_eq!(updated["status"], "open");
    assert_eq!(strings(&updated["message_ids"]), vec![m1, m2]);
    let reasons = strings(&updated["reasons"]);
    assert!(reasons.len() > strings(&alert["reasons"]).len(), "new evidence added: {reasons:?}");
    let mut dedup = reasons.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), reasons.len());

    let (_, open) = get(&s, "/api/v1/alerts?status=open", Some(&team.clinician.token)).await;
    let open = open["alerts"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["message_ids"].as_array().unwrap().len(), 2);

    // Acknowledged, the episode is closed: the next risky message raises a new alert.
    clin.send(json!({"type": "alert.ack", "alert_id": alert["id"]})).await;
    assert_eq!(next_of(&mut clin, "alert.updated").await["alert"]["status"], "acknowledged");
    let third = chat(&mut pat, Some(&conv2), MODERATE_RISK).await;
    let m3 = ack_of(&third)["message_id"].as_str().unwrap().to_owned();
    let fresh = next_of(&mut clin, "alert").await["alert"].clone();
    assert_ne!(fresh["id"], alert["id"]);
    assert_eq!(strings(&fresh["message_ids"]), vec![m3]);
}

#[tokio::test]
async fn moderate_then_high_raises_the_level_and_restarts_the_deadline() {
    let s = Server::start(&["--ack-deadline-moderate", "15m", "--ack-deadline-high", "2m"]);
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;

    let first = chat(&mut pat, None, MODERATE_RISK).await;
    let conv = ack_of(&first)["conversation_id"].as_str().unwrap().to_owned();
    let alert = next_of(&mut clin, "alert").await["alert"].clone();
    assert_eq!(alert["level"], "moderate");
    let moderate_deadline = ts(&alert["ack_deadline"]);

    let second = chat(&mut pat, Some(&conv), HIGH_RISK).await;
    let m2 = ack_of(&second)["message_id"].as_str().unwrap().to_owned();
    let updated = until_update_without_new_alert(&mut clin).await["alert"].clone();
    assert_eq!(updated["id"], alert["id"]);
    assert_eq!(updated["level"], "high");
    assert_eq!(strings(&updated["message_ids"]).last(), Some(&m2));
    let high_deadline = ts(&updated["ack_deadline"]);
    let since_update = (high_deadline - ts(&updated["updated_at"])).num_seconds();
    assert!(high_deadline < moderate_deadline, "{high_deadline} vs {moderate_deadline}");
    assert!((115..=125).contains(&since_update), "deadline restarted from the high deadline: {since_update}s");
    assert_eq!(second.iter().find(|f| f["type"] == "safety").unwrap()["chat_paused"], true);
}

#[tokio::test]
async fn a_new_conversation_after_a_high_risk_message_stays_paused_across_a_restart() {
    let dir = temp_dir("episode-pause");
    let mut s = Server::start_in(&dir, &[], &[]);
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    let first = chat(&mut pat, None, HIGH_RISK).await;
    let conv = ack_of(&first)["conversation_id"].as_str().unwrap().to_owned();
    next_of(&mut clin, "alert").await;

    let held = chat(&mut pat, None, "can we talk about something else?").await;
    let conv2 = ack_of(&held)["conversation_id"].as_str().unwrap().to_owned();
    assert_ne!(conv2, conv);
    assert!(streamed_text(&held).contains("paused"), "a new conversation bypassed the pause: {}", streamed_text(&held));
    let (_, list) = get(&s, "/api/v1/conversations", Some(&team.patient.token)).await;
    assert!(list.to_string().contains("\"chat_paused\":true"), "{list}");

    // The pause is stored: a restarted node still holds the patient's new conversations.
    drop((clin, pat));
    s.terminate();
    let s = Server::start_in(&dir, &[], &[]);
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    let held = chat(&mut pat, None, "hello again").await;
    assert!(streamed_text(&held).contains("paused"), "after a restart: {}", streamed_text(&held));

    // A clinician resumes the patient: every paused conversation is told, chat works again.
    let (status, _) =
        post(&s, &format!("/api/v1/conversations/{conv}/resume"), Some(&team.clinician.token), json!({})).await;
    assert_eq!(status, 204);
    let mut resumed = Vec::new();
    while resumed.len() < 3 {
        resumed.push(next_of(&mut pat, "conversation.resumed").await["conversation_id"].as_str().unwrap().to_owned());
    }
    assert!(resumed.contains(&conv) && resumed.contains(&conv2), "{resumed:?}");
    let normal = chat(&mut pat, None, "thanks, I talked to Dr Lee and feel a bit calmer").await;
    assert!(!streamed_text(&normal).contains("Our chat is paused"), "{}", streamed_text(&normal));
    assert_eq!(normal.last().unwrap()["finish"], "stop");
}

/// A `redis-server` on a free port for the two-node case (as in `two_nodes.rs`).
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is required for the two-node tests (apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Redis { child, port }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn two_nodes_screening_one_patient_at_once_keep_one_episode_and_one_pause() {
    let redis = Redis::start();
    let dir = temp_dir("episode-nodes");
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let a = Server::start_in(&dir, &["--redis-url", &url], &[]);
    let b = Server::start_in(&dir, &["--redis-url", &url], &[]);
    let team = care_team(&a).await;
    let (mut clin, _) = Ws::hello(&a, &team.clinician.token).await;
    let (mut on_a, _) = Ws::hello(&a, &team.patient.token).await;
    let (mut on_b, _) = Ws::hello(&b, &team.patient.token).await;

    // Two risky messages of one patient, in two conversations, screened on two nodes at once.
    on_a.send(json!({"type": "chat.send", "client_msg_id": "nodes-1", "text": HIGH_RISK})).await;
    on_b.send(json!({"type": "chat.send", "client_msg_id": "nodes-2", "text": MODERATE_RISK})).await;
    let mut ids = Vec::new();
    for ws in [&mut on_a, &mut on_b] {
        let ack = next_of(ws, "chat.ack").await;
        ids.push(ack["message_id"].as_str().unwrap().to_owned());
    }
    // Every frame either node pushes to the clinician, until the episode holds both messages.
    let mut raised = Vec::new();
    let mut latest = Value::Null;
    while raised.is_empty() || latest["message_ids"].as_array().is_none_or(|m| m.len() < 2) {
        let f = clin.recv().await;
        match f["type"].as_str() {
            Some("alert") => raised.push(f["alert"].clone()),
            Some("alert.updated") => latest = f["alert"].clone(),
            _ => {}
        }
        if latest.is_null() && raised.last().is_some_and(|r| r["message_ids"].as_array().unwrap().len() == 2) {
            latest = raised.last().unwrap().clone();
        }
    }
    assert!(raised.iter().all(|r| r["id"] == raised[0]["id"]), "two alerts for one episode: {raised:?}");
    let mut got = strings(&latest["message_ids"]);
    got.sort();
    ids.sort();
    assert_eq!(got, ids, "a message id was lost or repeated");
    assert_eq!(latest["level"], "high");
    let (_, open) = get(&b, "/api/v1/alerts?status=open", Some(&team.clinician.token)).await;
    assert_eq!(open["alerts"].as_array().unwrap().len(), 1, "{open}");

    // The high-risk message on node A paused the patient on node B too, new conversations included.
    // (Both replies stream to every session of the patient: wait for both to end.)
    on_b.recv_until("ai.end").await;
    on_b.recv_until("ai.end").await;
    let held = chat(&mut on_b, None, "can we talk about my week?").await;
    assert!(streamed_text(&held).contains("paused"), "node B ignored the pause: {}", streamed_text(&held));
}

fn ts(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().unwrap().parse().unwrap()
}
