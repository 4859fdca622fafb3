//! The reason the platform exists: a risky message reaches a person. Alerts, safety frames,
//! acknowledgement, escalation to supervisors, backlog on connect, crash survival, and audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

async fn send(ws: &mut Ws, text: &str) {
    ws.send(json!({"type": "chat.send", "client_msg_id": uuid::Uuid::new_v4().to_string(), "text": text})).await;
}

#[tokio::test]
async fn high_risk_message_alerts_clinician_fast_and_patient_sees_safety_first() {
    let s = Server::start(&[]);
    let team = care_team(&s).await;
    let stranger = staff(&s, "Dr Other", "clinician").await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut clin_tab2, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut other, _) = Ws::hello(&s, &stranger.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;

    let sent = Instant::now();
    send(&mut pat, HIGH_RISK).await;
    let alert = next_of(&mut clin, "alert").await;
    let latency = sent.elapsed();
    assert!(latency < Duration::from_secs(1), "alert took {latency:?}");
    let a = &alert["alert"];
    assert_eq!(a["level"], "high");
    assert_eq!(a["status"], "open");
    assert_eq!(a["patient_id"], team.patient.id.as_str());
    assert_eq!(a["patient_name"], "Robin");
    assert!(a["excerpt"].as_str().unwrap().contains("tablets"));
    assert!(!a["reasons"].as_array().unwrap().is_empty());
    assert!(a["ack_deadline"].is_string());
    assert_eq!(next_of(&mut clin_tab2, "alert").await["alert"]["id"], a["id"], "every session of the clinician");

    // Patient: ack, then safety before any AI text, then a crisis response, chat paused.
    let frames = pat.recv_until("ai.end").await;
    let kinds: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    let safety_at = kinds.iter().position(|k| *k == "safety").expect("no safety frame");
    let first_delta = kinds.iter().position(|k| *k == "ai.delta").unwrap();
    assert!(safety_at < first_delta, "AI text before crisis resources: {kinds:?}");
    let safety = &frames[safety_at];
    assert_eq!(safety["level"], "high");
    assert_eq!(safety["chat_paused"], true);
    assert!(safety["resources"].to_string().contains("116 123"), "{safety}");
    assert!(streamed_text(&frames).contains("care team"));

    // The unassigned clinician saw nothing and cannot read the conversation.
    assert!(other.try_recv(Duration::from_millis(300)).await.is_none(), "alert leaked to another clinician");
    let conv = a["conversation_id"].as_str().unwrap();
    assert_eq!(get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&stranger.token)).await.0, 404);
    let (status, body) = get(&s, "/api/v1/alerts?status=open", Some(&stranger.token)).await;
    assert_eq!((status, body["alerts"].as_array().unwrap().len()), (200, 0));
    other.send(json!({"type": "alert.ack", "alert_id": a["id"], "ref": 1})).await;
    assert_eq!(other.recv().await["code"], "forbidden");

    // Acknowledge: every session that saw it gets alert.updated.
    clin.send(json!({"type": "alert.ack", "alert_id": a["id"], "note": "called the patient"})).await;
    let updated = next_of(&mut clin, "alert.updated").await;
    assert_eq!(updated["alert"]["status"], "acknowledged");
    assert_eq!(updated["alert"]["acknowledged_by"], team.clinician.id.as_str());
    assert_eq!(next_of(&mut clin_tab2, "alert.updated").await["alert"]["status"], "acknowledged");
    let (_, open) = get(&s, "/api/v1/alerts?status=open", Some(&team.clinician.token)).await;
    assert_eq!(open["alerts"].as_array().unwrap().len(), 0);

    // The stored message carries its risk; the staff read is audited.
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&team.clinician.token)).await;
    assert_eq!(h["messages"][0]["risk"]["level"], "high");
    let admin = staff(&s, "Admin", "admin").await;
    let target = format!("/api/v1/admin/audit?target=patient:{}", team.patient.id);
    let (_, audit) = get(&s, &target, Some(&admin.token)).await;
    let reads: Vec<&Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "messages.read").collect();
    assert!(reads.iter().any(|e| e["actor_id"] == team.clinician.id.as_str()), "{audit}");
    let (_, all) = get(&s, "/api/v1/admin/audit?limit=500", Some(&admin.token)).await;
    assert!(all["entries"].as_array().unwrap().iter().any(|e| e["action"] == "alert.ack"));
    assert_eq!(get(&s, "/api/v1/admin/audit", Some(&team.clinician.token)).await.0, 403);
}

#[tokio::test]
async fn idioms_raise_nothing_and_low_risk_alerts_without_pausing() {
    let s = Server::start(&[]);
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    for text in ["I could murder a pizza", "this commute is killing me", "I'm not suicidal, just tired of my boss"] {
        send(&mut pat, text).await;
        let frames = pat.recv_until("ai.end").await;
        assert!(frames.iter().all(|f| f["type"] != "safety"), "{text}: {frames:?}");
    }
    assert!(clin.try_recv(Duration::from_millis(500)).await.is_none(), "an idiom raised an alert");

    send(&mut pat, "sometimes I wish I could just go to sleep and not wake up").await;
    let frames = pat.recv_until("ai.end").await;
    let safety = frames.iter().find(|f| f["type"] == "safety").expect("no safety frame for passive ideation");
    assert_eq!(safety["chat_paused"], false);
    let alert = next_of(&mut clin, "alert").await;
    assert!(matches!(alert["alert"]["level"].as_str(), Some("low" | "moderate")), "{alert}");
    assert_eq!(frames.last().unwrap()["finish"], "stop");
}

#[tokio::test]
async fn unacknowledged_alert_escalates_to_the_team_only_then_claim_and_resolve() {
    let s = Server::start(&["--ack-deadline-high", "1s", "--escalation-sweep", "200ms"]);
    let team = care_team(&s).await;
    let other_sup = staff(&s, "Other Sup", "supervisor").await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut sup, _) = Ws::hello(&s, &team.supervisor.token).await;
    let (mut sup_tab2, _) = Ws::hello(&s, &team.supervisor.token).await;
    let (mut other, _) = Ws::hello(&s, &other_sup.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    send(&mut pat, HIGH_RISK).await;
    let alert = next_of(&mut clin, "alert").await;
    // Nobody acknowledges: after the deadline it escalates.
    let esc = next_of(&mut sup, "escalation").await;
    let e = &esc["escalation"];
    assert_eq!(e["reason"], "ack_timeout");
    assert_eq!(e["status"], "open");
    assert_eq!(e["alert"]["id"], alert["alert"]["id"]);
    assert_eq!(e["alert"]["status"], "escalated");
    assert_eq!(next_of(&mut sup_tab2, "escalation").await["escalation"]["id"], e["id"]);
    assert_eq!(next_of(&mut clin, "alert.updated").await["alert"]["status"], "escalated");
    assert!(other.try_recv(Duration::from_millis(300)).await.is_none(), "escalation leaked to another team");
    let (_, theirs) = get(&s, "/api/v1/escalations?status=open", Some(&other_sup.token)).await;
    assert_eq!(theirs["escalations"].as_array().unwrap().len(), 0);
    let (_, mine) = get(&s, "/api/v1/escalations?status=open", Some(&team.supervisor.token)).await;
    assert_eq!(mine["escalations"][0]["id"], e["id"]);
    assert_eq!(get(&s, "/api/v1/escalations", Some(&team.clinician.token)).await.0, 403);

    other.send(json!({"type": "escalation.claim", "escalation_id": e["id"]})).await;
    assert_eq!(other.recv().await["code"], "forbidden");
    sup.send(json!({"type": "escalation.claim", "escalation_id": e["id"]})).await;
    let claimed = next_of(&mut sup_tab2, "escalation.updated").await;
    assert_eq!(claimed["escalation"]["status"], "claimed");
    assert_eq!(claimed["escalation"]["claimed_by"], team.supervisor.id.as_str());
    assert_eq!(next_of(&mut sup, "escalation.updated").await["escalation"]["status"], "claimed");
    sup_tab2.send(json!({"type": "escalation.resolve", "escalation_id": e["id"], "note": "crisis team visited"})).await;
    let resolved = next_of(&mut sup, "escalation.updated").await;
    assert_eq!(resolved["escalation"]["status"], "resolved");
    assert_eq!(resolved["escalation"]["note"], "crisis team visited");
    assert!(resolved["escalation"]["resolved_at"].is_string());
}

#[tokio::test]
async fn high_alert_with_no_clinician_online_escalates_at_once() {
    let s = Server::start(&[]);
    let team = care_team(&s).await;
    let (mut sup, _) = Ws::hello(&s, &team.supervisor.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    send(&mut pat, HIGH_RISK).await;
    let esc = next_of(&mut sup, "escalation").await;
    assert_eq!(esc["escalation"]["reason"], "no_clinician_online");
    // The clinician connects later and still receives the alert.
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let alert = next_of(&mut clin, "alert").await;
    assert_eq!(alert["alert"]["id"], esc["escalation"]["alert"]["id"]);
}

#[tokio::test]
async fn offline_clinician_receives_open_alerts_on_connect() {
    let s = Server::start(&[]);
    let team = care_team(&s).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    send(&mut pat, "I keep thinking about which bridge I would jump from").await;
    pat.recv_until("ai.end").await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let alert = next_of(&mut clin, "alert").await;
    assert_eq!(alert["alert"]["patient_id"], team.patient.id.as_str());
    assert!(matches!(alert["alert"]["level"].as_str(), Some("moderate" | "high")));
}

#[tokio::test]
async fn kill_9_after_an_alert_still_escalates_after_restart() {
    let dir = temp_dir("alert-crash");
    let args = ["--ack-deadline-high", "2s", "--escalation-sweep", "200ms"];
    let mut s = Server::start_in(&dir, &args, &[]);
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await; // online: no immediate escalation
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    send(&mut pat, HIGH_RISK).await;
    let alert = next_of(&mut clin, "alert").await;
    s.kill9();

    let s = Server::start_in(&dir, &args, &[]);
    let (mut sup, _) = Ws::hello(&s, &team.supervisor.token).await;
    let esc = next_of(&mut sup, "escalation").await;
    assert_eq!(esc["escalation"]["alert"]["id"], alert["alert"]["id"]);
    assert_eq!(esc["escalation"]["reason"], "ack_timeout");
}

#[tokio::test]
async fn paused_chat_holds_until_a_clinician_resumes_it() {
    let s = Server::start(&[]);
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    send(&mut pat, HIGH_RISK).await;
    let first = pat.recv_until("ai.end").await;
    let conv = first[0]["conversation_id"].as_str().unwrap().to_owned();
    next_of(&mut clin, "alert").await;

    let held = chat(&mut pat, Some(&conv), "ok").await;
    assert!(streamed_text(&held).contains("paused"), "{}", streamed_text(&held));
    let (status, _) =
        post(&s, &format!("/api/v1/conversations/{conv}/resume"), Some(&team.patient.token), json!({})).await;
    assert_eq!(status, 403, "a patient resumed their own paused chat");
    let (status, _) =
        post(&s, &format!("/api/v1/conversations/{conv}/resume"), Some(&team.clinician.token), json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(next_of(&mut pat, "conversation.resumed").await["conversation_id"], conv.as_str());
    let normal = chat(&mut pat, Some(&conv), "thanks, I talked to Dr Lee and feel a bit calmer").await;
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&team.patient.token)).await;
    let last = h["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["meta"]["kind"], "model", "{last}");
    assert_eq!(normal.last().unwrap()["finish"], "stop");
}

/// A care team on a node that then died after acknowledging the patient's high-risk message and
/// before screening it: the message is stored, its risk unset, no alert raised. Written with the
/// server stopped, straight into its store. Returns the data directory to restart from.
async fn crashed_after_acknowledging(args: &[&str]) -> (std::path::PathBuf, CareTeam, healing_protocol::Message) {
    let dir = temp_dir("alert-crash");
    let mut s = Server::start_in(&dir, args, &[]);
    let team = care_team(&s).await;
    s.terminate();
    let message = leave_unscreened(&dir, &team.patient, HIGH_RISK).await;
    (dir, team, message)
}

async fn leave_unscreened(dir: &std::path::Path, patient: &Account, text: &str) -> healing_protocol::Message {
    let store = healing_storage::SqliteStore::open(dir).unwrap();
    let appended = healing_storage::Store::append_message(
        &store,
        healing_storage::NewMessage {
            id: None,
            patient_id: patient.id.clone(),
            conversation_id: None,
            client_msg_id: Some("acked-then-crashed".into()),
            author: healing_protocol::Author::Patient,
            text: text.into(),
            risk: None,
            finish: None,
            meta: None,
        },
    )
    .await
    .unwrap();
    appended.message
}

async fn stored_risk(s: &Server, token: &str, message: &healing_protocol::Message) -> Value {
    let path = format!("/api/v1/conversations/{}/messages?limit=50", message.conversation_id);
    let (status, h) = get(s, &path, Some(token)).await;
    assert_eq!(status, 200, "{h}");
    let m = h["messages"].as_array().unwrap().iter().find(|m| m["id"] == message.id.as_str()).unwrap().clone();
    m["risk"].clone()
}

#[tokio::test]
async fn a_message_left_unscreened_by_a_crash_is_screened_and_alerted_after_restart() {
    let args = ["--rescreen-after", "1s"];
    let (dir, team, message) = crashed_after_acknowledging(&args).await;

    let s = Server::start_in(&dir, &args, &[]);
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let alert = tokio::time::timeout(Duration::from_secs(15), next_of(&mut clin, "alert"))
        .await
        .expect("no alert for the message the crashed node never screened");
    assert_eq!(alert["alert"]["message_id"], message.id.as_str());
    assert_eq!(alert["alert"]["level"], "high");
    // Screened means recorded: the risk is written just after the alert is pushed, so wait for it.
    let risk = eventually(Duration::from_secs(10), || async {
        let risk = stored_risk(&s, &team.patient.token, &message).await;
        (risk["level"] == "high").then_some(risk)
    })
    .await
    .expect("the screened message's risk was never recorded");
    assert_eq!(risk["level"], "high", "{risk}");
    let text = metrics_text(&s).await;
    assert!(text.contains("healing_rescreened_messages_total 1"), "{text}");
    // Its delivery latency counts the time since it was stored, crash and restart included.
    let delivery_sum: f64 = metric(&text, "healing_alert_delivery_seconds_sum").unwrap();
    assert!(
        delivery_sum >= 1.0,
        "alert delivery of a re-screened message counted from the re-screening: {delivery_sum}"
    );
    // Recorded means found no more: two further sweeps of the store complete without screening
    // it again or raising a second alert.
    let sweeps = metric(&text, "healing_rescreen_sweeps_total").unwrap();
    eventually(Duration::from_secs(15), || async {
        let now = metric(&metrics_text(&s).await, "healing_rescreen_sweeps_total").unwrap();
        (now >= sweeps + 2.0).then_some(())
    })
    .await
    .expect("the re-screening sweep stopped running");
    let text = metrics_text(&s).await;
    assert!(text.contains("healing_rescreened_messages_total 1"), "screened again after it was recorded: {text}");
    let (_, open) = get(&s, "/api/v1/alerts", Some(&team.clinician.token)).await;
    let same: Vec<&Value> =
        open["alerts"].as_array().unwrap().iter().filter(|a| a["message_id"] == message.id.as_str()).collect();
    assert_eq!(same.len(), 1, "alerted more than once: {open}");
}

#[tokio::test]
async fn an_unscreened_earlier_message_is_screened_when_the_patient_writes_again() {
    // The path that needs no sweep (the only one after a cluster-wide outage longer than the
    // ScyllaDB journal's horizon): the next message's screening reads the earlier ones as
    // context and notices the one never screened.
    let args = ["--rescreen-after", "1h"]; // the periodic sweep will not run during this test
    let (dir, team, message) = crashed_after_acknowledging(&args).await;
    let db = rusqlite::Connection::open(dir.join(healing_storage::sqlite::DB_FILE)).unwrap();
    // Two hours old: no screening of it can still be under way.
    db.execute("UPDATE messages SET created_at = created_at - 7200000 WHERE id = ?1", [&message.id]).unwrap();
    drop(db);

    let s = Server::start_in(&dir, &args, &[]);
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    while let Some(f) = clin.try_recv(Duration::from_millis(500)).await {
        assert_ne!(f["type"], "alert", "alerted before anything could notice: {f}");
    }
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    pat.send(json!({"type": "chat.send", "client_msg_id": "later", "conversation_id": message.conversation_id,
                    "text": "sorry I went quiet, the app stopped working"}))
        .await;
    // The new message may raise its own alert too (the engine reads the earlier one as context).
    let alert = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let a = next_of(&mut clin, "alert").await;
            if a["alert"]["message_id"] == message.id.as_str() {
                return a;
            }
        }
    })
    .await
    .expect("the unscreened earlier message raised no alert");
    assert_eq!(alert["alert"]["level"], "high");
    // The patient is given the crisis resources the earlier message called for.
    tokio::time::timeout(Duration::from_secs(10), async {
        while next_of(&mut pat, "safety").await["level"] != "high" {}
    })
    .await
    .expect("no high-level safety frame for the earlier message");
}

#[tokio::test]
async fn an_alert_stored_but_never_acted_on_before_a_crash_is_acted_on_after_restart() {
    // The node stored the alert, then died before pushing it or escalating it (and before
    // recording the message's risk). Re-screening finds the same alert id: it is not stored
    // twice, but what the dead node never did is done now — here, escalating a high alert at
    // once because no clinician is online, instead of waiting out its 2-minute deadline.
    let args = ["--rescreen-after", "1s"];
    let (dir, team, message) = crashed_after_acknowledging(&args).await;
    let store = healing_storage::SqliteStore::open(&dir).unwrap();
    let now = chrono::Utc::now();
    let stored = healing_storage::Store::raise_alert(
        &store,
        healing_protocol::Alert {
            id: healing_actors::alerts::alert_id(&message.id, healing_protocol::RiskLevel::High),
            patient_id: team.patient.id.clone(),
            patient_name: String::new(),
            conversation_id: message.conversation_id.clone(),
            message_id: message.id.clone(),
            level: healing_protocol::RiskLevel::High,
            score: 0.9,
            reasons: vec!["stored before the crash".into()],
            excerpt: "stored before the crash".into(),
            status: healing_protocol::AlertStatus::Open,
            created_at: now,
            ack_deadline: Some(now + chrono::Duration::minutes(2)),
            acknowledged_by: None,
            acknowledged_at: None,
            note: None,
            message_ids: vec![message.id.clone()],
            updated_at: Some(now),
        },
    )
    .await
    .unwrap();
    drop(store);

    let s = Server::start_in(&dir, &args, &[]);
    let (mut sup, _) = Ws::hello(&s, &team.supervisor.token).await;
    let esc = tokio::time::timeout(Duration::from_secs(15), next_of(&mut sup, "escalation"))
        .await
        .expect("the stored high alert was not escalated although no clinician is online");
    assert_eq!(esc["escalation"]["alert"]["id"], stored.alert.id.as_str());
    assert_eq!(esc["escalation"]["reason"], "no_clinician_online");
    let (_, all) = get(&s, "/api/v1/alerts", Some(&team.supervisor.token)).await;
    let same = all["alerts"].as_array().unwrap().iter().filter(|a| a["message_id"] == message.id.as_str()).count();
    assert_eq!(same, 1, "{all}");
}

/// Stores alerts for the patient straight into a stopped node's store (the fast path: thousands
/// of socket round trips would only slow the test): `acknowledged` alerts newer than one open
/// alert raised an hour earlier. Returns the open alert's id.
async fn open_alert_behind_acknowledged(dir: &std::path::Path, team: &CareTeam, acknowledged: usize) -> String {
    use healing_protocol::{Alert, AlertStatus, RiskLevel};
    use healing_storage::Store;
    let message = leave_unscreened(dir, &team.patient, "an old message").await;
    let store = std::sync::Arc::new(healing_storage::SqliteStore::open(dir).unwrap());
    let alert = |age: chrono::Duration| {
        let created_at = chrono::Utc::now() - age;
        Alert {
            id: uuid::Uuid::new_v4().to_string(),
            patient_id: team.patient.id.clone(),
            patient_name: String::new(),
            conversation_id: message.conversation_id.clone(),
            message_id: message.id.clone(),
            level: RiskLevel::High,
            score: 0.9,
            reasons: vec!["stored by the test".into()],
            excerpt: "an old message".into(),
            status: AlertStatus::Open,
            created_at,
            // Far off, so the sweep leaves it open (escalated would be as unacknowledged).
            ack_deadline: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
            acknowledged_by: None,
            acknowledged_at: None,
            note: None,
            message_ids: vec![message.id.clone()],
            updated_at: Some(created_at),
        }
    };
    let open = store.raise_alert(alert(chrono::Duration::hours(1))).await.unwrap().alert.id;
    // Concurrent writes share the store writer's commits.
    for batch in 0..acknowledged.div_ceil(250) {
        let n = 250.min(acknowledged - batch * 250);
        let writes = (0..n).map(|i| {
            let (store, a) =
                (store.clone(), alert(chrono::Duration::minutes(30) - chrono::Duration::milliseconds(i as i64)));
            let by = team.clinician.id.clone();
            async move {
                let id = store.raise_alert(a).await.unwrap().alert.id;
                store.ack_alert(&id, &by, Some("seen"), chrono::Utc::now()).await.unwrap().unwrap();
            }
        });
        futures_util::future::join_all(writes).await;
    }
    store.flush().await.unwrap();
    open
}

#[tokio::test]
async fn an_old_open_alert_behind_thousands_of_acknowledged_ones_is_shown_on_connect_and_in_the_caseload() {
    let dir = temp_dir("alert-backlog");
    let mut s = Server::start_in(&dir, &[], &[]);
    let team = care_team(&s).await;
    s.terminate();
    let acknowledged = 2_000;
    let open = open_alert_behind_acknowledged(&dir, &team, acknowledged).await;

    let s = Server::start_in(&dir, &[], &[]);
    // On connect, the clinician is handed the open alert, and no acknowledged one.
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let alert = next_of(&mut clin, "alert").await;
    assert_eq!(alert["alert"]["id"], open.as_str(), "{alert}");
    assert_eq!(alert["alert"]["status"], "open");
    // The caseload counts it.
    let (status, caseload) = get(&s, "/api/v1/caseload", Some(&team.clinician.token)).await;
    assert_eq!(status, 200, "{caseload}");
    let row = caseload["patients"].as_array().unwrap().iter().find(|p| p["id"] == team.patient.id.as_str()).unwrap();
    assert_eq!(row["open_alerts"], 1, "{row}");
    assert_eq!(row["latest_risk"], "high", "{row}");
    // The open list has it; the full list reaches it by paging, every alert once.
    let (_, listed) = get(&s, "/api/v1/alerts?status=open", Some(&team.clinician.token)).await;
    assert_eq!(listed["alerts"][0]["id"], open.as_str(), "{listed}");
    let mut seen = std::collections::HashSet::new();
    let mut path = "/api/v1/alerts?limit=1000".to_owned();
    loop {
        let (status, page) = get(&s, &path, Some(&team.clinician.token)).await;
        assert_eq!(status, 200, "{page}");
        for a in page["alerts"].as_array().unwrap() {
            assert!(seen.insert(a["id"].as_str().unwrap().to_owned()), "listed twice: {a}");
        }
        let Some(next) = page["next_before"].as_str() else { break };
        path = format!("/api/v1/alerts?limit=1000&before={next}");
    }
    assert_eq!(seen.len(), acknowledged + 1);
    assert!(seen.contains(&open));
    assert_eq!(get(&s, "/api/v1/alerts?before=nonsense", Some(&team.clinician.token)).await.0, 400);
    assert_eq!(get(&s, "/api/v1/alerts?limit=0", Some(&team.clinician.token)).await.0, 400);
}

#[tokio::test]
async fn a_self_registered_patients_high_alert_reaches_the_duty_supervisor_at_once() {
    let s = Server::start(&[]);
    let admin = staff(&s, "Ada Admin", "admin").await;
    let duty = staff(&s, "Dee Duty", "supervisor").await;
    let off_duty = staff(&s, "Otto Off", "supervisor").await;
    // One supervisor on duty from the command line, the other stays off duty.
    let out = s.cli(&["team", "--duty", "--supervisor", &duty.username], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (mut duty_ws, _) = Ws::hello(&s, &duty.token).await;
    let (mut off_ws, _) = Ws::hello(&s, &off_duty.token).await;

    // Registered by themself: on nobody's caseload.
    let lone = patient(&s, "Lone").await;
    let (status, unassigned) = get(&s, "/api/v1/admin/unassigned-patients", Some(&admin.token)).await;
    assert_eq!(status, 200, "{unassigned}");
    let listed = unassigned["patients"].as_array().unwrap().iter().find(|p| p["id"] == lone.id.as_str()).cloned();
    let listed = listed.expect("the self-registered patient is not listed as unassigned");
    assert_eq!(listed["display_name"], "Lone");
    assert!(listed["registered_at"].is_string(), "{listed}");
    assert_eq!(get(&s, "/api/v1/admin/unassigned-patients", Some(&duty.token)).await.0, 403);

    let (mut pat, _) = Ws::hello(&s, &lone.token).await;
    send(&mut pat, HIGH_RISK).await;
    let esc = next_of(&mut duty_ws, "escalation").await;
    let e = &esc["escalation"];
    assert_eq!(e["reason"], "no_care_team", "{esc}");
    assert_eq!(e["alert"]["patient_id"], lone.id.as_str());
    assert_eq!(e["alert"]["level"], "high");
    // The patient still sees crisis resources first.
    let frames = pat.recv_until("ai.end").await;
    assert!(frames.iter().any(|f| f["type"] == "safety" && f["level"] == "high"), "{frames:?}");
    assert!(off_ws.try_recv(Duration::from_millis(300)).await.is_none(), "escalation reached a supervisor off duty");

    // The duty supervisor can read the patient's conversation, work the escalation, and finds
    // it again on reconnect.
    let conv = e["alert"]["conversation_id"].as_str().unwrap();
    assert_eq!(get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&duty.token)).await.0, 200);
    assert_eq!(get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&off_duty.token)).await.0, 404);
    let (mut again, _) = Ws::hello(&s, &duty.token).await;
    assert_eq!(next_of(&mut again, "escalation").await["escalation"]["id"], e["id"]);
    duty_ws.send(json!({"type": "escalation.claim", "escalation_id": e["id"]})).await;
    let claimed = next_of(&mut duty_ws, "escalation.updated").await;
    assert_eq!(claimed["escalation"]["status"], "claimed");
    assert_eq!(claimed["escalation"]["claimed_by"], duty.id.as_str());
}

#[tokio::test]
async fn a_clinician_on_no_team_still_gets_the_alert_and_the_duty_supervisor_the_escalation() {
    let s = Server::start(&[]);
    let admin = staff(&s, "Ada Admin", "admin").await;
    let duty = staff(&s, "Dee Duty", "supervisor").await;
    let clinician = staff(&s, "Dr Solo", "clinician").await;
    let pat = patient(&s, "Robin").await;
    // Both through the admin API this time.
    let (status, _) = post(&s, "/api/v1/admin/duty", Some(&admin.token), json!({"supervisor_id": duty.id})).await;
    assert_eq!(status, 204);
    let (status, _) = post(&s, "/api/v1/admin/duty", Some(&admin.token), json!({"supervisor_id": clinician.id})).await;
    assert_eq!(status, 400, "a clinician was put on duty");
    let (status, _) = post(&s, "/api/v1/admin/duty", Some(&duty.token), json!({"supervisor_id": duty.id})).await;
    assert_eq!(status, 403);
    let body = json!({"clinician_id": clinician.id, "patient_id": pat.id});
    assert_eq!(post(&s, "/api/v1/admin/assignments", Some(&admin.token), body).await.0, 204);

    let (mut clin, _) = Ws::hello(&s, &clinician.token).await;
    let (mut duty_ws, _) = Ws::hello(&s, &duty.token).await;
    let (mut pat_ws, _) = Ws::hello(&s, &pat.token).await;
    send(&mut pat_ws, HIGH_RISK).await;
    let alert = next_of(&mut clin, "alert").await;
    let esc = next_of(&mut duty_ws, "escalation").await;
    assert_eq!(esc["escalation"]["reason"], "no_care_team");
    assert_eq!(esc["escalation"]["alert"]["id"], alert["alert"]["id"]);
}
