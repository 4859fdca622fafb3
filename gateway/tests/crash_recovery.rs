//! `kill -9` loses no acknowledged message and no account; SIGTERM stops cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn kill_9_then_restart_loses_nothing_acknowledged() {
    let dir = temp_dir("crash");
    let mut s = Server::start_in(&dir, &[], &[]);
    let p = patient(&s, "Durable").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    let mut acked = Vec::new();
    let mut conv: Option<String> = None;
    for i in 0..20 {
        let mut frame = json!({"type": "chat.send", "client_msg_id": format!("k-{i}"), "text": format!("message {i}")});
        if let Some(c) = &conv {
            frame["conversation_id"] = json!(c);
        }
        ws.send(frame).await;
        let ack = loop {
            let f = ws.recv().await;
            if f["type"] == "chat.ack" {
                break f;
            }
        };
        conv = Some(ack["conversation_id"].as_str().unwrap().to_owned());
        acked.push(ack["message_id"].as_str().unwrap().to_owned());
    }
    s.kill9();

    let s = Server::start_in(&dir, &[], &[]);
    let p2 = login(&s, &p.username).await; // the account survived
    assert_eq!(p2.id, p.id);
    let (status, _) = get(&s, "/api/v1/me", Some(&p.token)).await;
    assert_eq!(status, 200, "a token issued before the crash still works");
    let conv = conv.unwrap();
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages?limit=200"), Some(&p2.token)).await;
    let stored: Vec<&str> = h["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    for id in &acked {
        assert!(stored.contains(&id.as_str()), "acknowledged message {id} was lost");
    }
    let seqs: Vec<i64> = h["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "seqs have gaps or duplicates");
}

#[tokio::test]
async fn sigterm_cancels_streams_stores_partial_and_exits_cleanly() {
    let dir = temp_dir("term");
    let mut s = Server::start_in(&dir, &["--offline-word-delay", "200ms"], &[]);
    let p = patient(&s, "Term").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    ws.send(json!({"type": "chat.send", "client_msg_id": "t", "text": "tell me something calming"})).await;
    let ack = ws.recv().await;
    assert_eq!(ws.recv().await["type"], "ai.start");
    assert_eq!(ws.recv().await["type"], "ai.delta");
    let status = s.terminate();
    assert!(status.success(), "exit status {status:?}");
    let s = Server::start_in(&dir, &[], &[]);
    let conv = ack["conversation_id"].as_str().unwrap();
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    let msgs = h["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{h}");
    assert_eq!(msgs[1]["finish"], "cancelled");
    assert!(!msgs[1]["text"].as_str().unwrap().is_empty());
}

/// On the CQL backend: a gateway killed with SIGKILL in the middle of a burst loses no
/// acknowledged message (seqs stay gap-free) and no alert — the high-risk message in the burst
/// is alerted, by the node itself or, if it died first, by the other node's re-screen sweep
/// (the screening journal).
#[tokio::test]
async fn kill_9_under_a_burst_on_the_cql_backend_loses_no_acked_message_and_no_alert() {
    let Some(env) = cql_store_env() else { return };
    let env = env_refs(&env);
    let dir = temp_dir("cql-crash");
    let args = ["--rescreen-after", "1s", "--frames-per-second", "500"];
    let survivor = Server::start_in(&dir, &args, &env);
    let mut victim = Server::start_in(&dir, &args, &env);
    let team = care_team(&survivor).await;
    let (mut ws, _) = Ws::hello(&victim, &team.patient.token).await;
    ws.send(json!({"type": "chat.send", "client_msg_id": "start", "text": "hello"})).await;
    let first = next_of(&mut ws, "chat.ack").await;
    let conv = first["conversation_id"].as_str().unwrap().to_owned();
    let risky = "burst-7";
    for i in 0..30 {
        let text = if i == 7 { HIGH_RISK.to_owned() } else { format!("burst message {i}") };
        ws.send(
            json!({"type": "chat.send", "client_msg_id": format!("burst-{i}"), "conversation_id": conv, "text": text}),
        )
        .await;
    }
    // Kill it once part of the burst is acknowledged (the rest is in flight or unread).
    let mut acked = vec![(
        first["client_msg_id"].as_str().unwrap_or("start").to_owned(),
        first["message_id"].as_str().unwrap().to_owned(),
    )];
    while acked.len() < 12 || !acked.iter().any(|(k, _)| k == risky) {
        let f = ws.recv().await;
        if f["type"] == "chat.ack" {
            acked.push((f["client_msg_id"].as_str().unwrap().to_owned(), f["message_id"].as_str().unwrap().to_owned()));
        }
    }
    victim.kill9();

    let (_, h) =
        get(&survivor, &format!("/api/v1/conversations/{conv}/messages?limit=200"), Some(&team.patient.token)).await;
    let messages = h["messages"].as_array().unwrap();
    let stored: Vec<&str> = messages.iter().map(|m| m["id"].as_str().unwrap()).collect();
    for (_, id) in &acked {
        assert!(stored.contains(&id.as_str()), "acknowledged message {id} was lost");
    }
    let seqs: Vec<i64> = messages.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "seqs have gaps or duplicates");

    let risky_id =
        acked.iter().find(|(k, _)| k == risky).map(|(_, id)| id.clone()).expect("the risky message was acked");
    let alerted = eventually(Duration::from_secs(30), || async {
        let (_, a) = get(&survivor, "/api/v1/alerts", Some(&team.clinician.token)).await;
        a["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| {
                x["message_id"] == risky_id.as_str()
                    || x["message_ids"].as_array().is_some_and(|ids| ids.iter().any(|i| i == risky_id.as_str()))
            })
            .then_some(())
    })
    .await;
    assert!(alerted.is_some(), "the acknowledged high-risk message never raised an alert");
}
