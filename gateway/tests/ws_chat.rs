//! Patient ↔ AI chat over the socket (PROTOCOL §2): order of frames, durability of what was
//! streamed, idempotent retries, shared streams across tabs, and cancel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn chat_send_streams_a_reply_in_contract_order_and_history_matches() {
    let s = Server::start(&[]);
    let p = patient(&s, "Sam").await;
    let (mut ws, welcome) = Ws::hello(&s, &p.token).await;
    assert_eq!(welcome["user"]["role"], "patient");
    assert_eq!(welcome["user"]["id"], p.id.as_str());
    assert!(welcome["session_id"].is_string() && welcome["server_time"].is_string());

    ws.send(json!({"type": "chat.send", "client_msg_id": "c-1", "text": "I've been feeling anxious about work", "ref": "r1"}))
        .await;
    let frames = ws.recv_until("ai.end").await;
    let kinds: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "chat.ack");
    assert_eq!(kinds[1], "ai.start");
    assert!(kinds[2..kinds.len() - 1].iter().all(|k| *k == "ai.delta"));
    assert!(kinds.len() >= 5, "expected several deltas: {kinds:?}");
    let ack = &frames[0];
    assert_eq!(
        (ack["seq"].as_i64(), ack["client_msg_id"].as_str(), ack["ref"].as_str()),
        (Some(1), Some("c-1"), Some("r1"))
    );
    let conv = ack["conversation_id"].as_str().unwrap();
    let start = &frames[1];
    assert_eq!(start["reply_to"], ack["message_id"]);
    let end = frames.last().unwrap();
    assert_eq!((end["seq"].as_i64(), end["finish"].as_str()), (Some(2), Some("stop")));
    assert_eq!(end["message_id"], start["message_id"]);
    let streamed = streamed_text(&frames);
    assert!(streamed.contains('?'), "the companion asks a question: {streamed}");

    let (_, history) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    let msgs = history["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["author"], "patient");
    assert_eq!(msgs[0]["text"], "I've been feeling anxious about work");
    assert_eq!(msgs[1]["author"], "ai");
    assert_eq!(msgs[1]["text"].as_str().unwrap(), streamed);
    assert_eq!(msgs[1]["meta"]["provider"], "offline");

    ws.send(json!({"type": "history.get", "conversation_id": conv, "ref": 9})).await;
    let h = ws.recv().await;
    assert_eq!((h["type"].as_str(), h["ref"].as_i64()), (Some("history"), Some(9)));
    assert_eq!(h["messages"], history["messages"]);

    // Continuing the same conversation carries on the sequence.
    let next = chat(&mut ws, Some(conv), "thanks, that helps").await;
    assert_eq!(next[0]["seq"], 3);
    assert_eq!(next.last().unwrap()["seq"], 4);
}

#[tokio::test]
async fn retry_with_same_client_msg_id_is_stored_once() {
    let s = Server::start(&[]);
    let p = patient(&s, "Retry").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    let send = json!({"type": "chat.send", "client_msg_id": "same-id", "text": "hello"});
    ws.send(send.clone()).await;
    let first = ws.recv_until("ai.end").await;
    ws.send(send.clone()).await;
    let again = ws.recv().await;
    assert_eq!(again["type"], "chat.ack");
    assert_eq!(again["message_id"], first[0]["message_id"]);
    assert_eq!(again["seq"], 1);
    // A retry from a new connection (as after a reconnect) is also recognised.
    let (mut ws2, _) = Ws::hello(&s, &p.token).await;
    ws2.send(send).await;
    assert_eq!(ws2.recv().await["message_id"], first[0]["message_id"]);
    assert!(ws.try_recv(std::time::Duration::from_millis(500)).await.is_none(), "a retry got a second AI reply");
    let conv = first[0]["conversation_id"].as_str().unwrap();
    let (_, history) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 2, "{history}");
}

#[tokio::test]
async fn two_tabs_see_one_stream_and_either_can_cancel() {
    // A slow responder so there is time to cancel mid-stream.
    let s = Server::start(&["--offline-word-delay", "150ms"]);
    let p = patient(&s, "Tabs").await;
    let (mut tab1, _) = Ws::hello(&s, &p.token).await;
    let (mut tab2, _) = Ws::hello(&s, &p.token).await;
    tab1.send(json!({"type": "chat.send", "client_msg_id": "t-1", "text": "I can't sleep at night"})).await;
    let ack = tab1.recv().await;
    assert_eq!(ack["type"], "chat.ack");
    let start1 = tab1.recv().await;
    let start2 = tab2.recv().await;
    assert_eq!(start1["type"], "ai.start");
    assert_eq!(start2, start1, "the second tab sees the same reply");
    let reply_id = start1["message_id"].as_str().unwrap().to_owned();
    let first_delta = tab2.recv().await;
    assert_eq!(first_delta["type"], "ai.delta");
    tab2.send(json!({"type": "chat.cancel", "message_id": reply_id})).await;
    let rest1 = tab1.recv_until("ai.end").await;
    let end = rest1.last().unwrap();
    assert_eq!(end["finish"], "cancelled");
    let rest2 = tab2.recv_until("ai.end").await;
    assert_eq!(rest2.last().unwrap()["finish"], "cancelled");
    let partial = format!("{}{}", first_delta["text"].as_str().unwrap(), streamed_text(&rest2));
    let conv = ack["conversation_id"].as_str().unwrap();
    let (_, history) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    let stored = &history["messages"][1];
    assert_eq!(stored["finish"], "cancelled");
    assert_eq!(stored["text"].as_str().unwrap(), partial, "the partial reply is kept");
    assert!(partial.split_whitespace().count() < 40, "cancel did not stop the stream");

    // Another patient cannot cancel it (nothing streaming under their name).
    let q = patient(&s, "Other").await;
    let (mut other, _) = Ws::hello(&s, &q.token).await;
    other.send(json!({"type": "chat.cancel", "message_id": reply_id})).await;
    assert_eq!(other.recv().await["type"], "error");
}

#[tokio::test]
async fn authorization_header_on_upgrade_authenticates() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let s = Server::start(&[]);
    let p = patient(&s, "Header").await;
    let mut req = s.ws_url().into_client_request().unwrap();
    req.headers_mut().insert("Authorization", format!("Bearer {}", p.token).parse().unwrap());
    let (stream, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut ws = Ws { stream };
    let welcome = ws.recv().await;
    assert_eq!(welcome["type"], "welcome");
    let frames = chat(&mut ws, None, "hi").await;
    assert_eq!(frames.last().unwrap()["finish"], "stop");
}

#[tokio::test]
async fn a_burst_sent_during_a_reply_gets_one_reply_to_the_latest() {
    let s = Server::start(&["--offline-word-delay", "40ms"]);
    let p = patient(&s, "Burst").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    ws.send(json!({"type": "chat.send", "client_msg_id": "b-0", "text": "first message"})).await;
    let ack = ws.recv().await;
    let conv = ack["conversation_id"].as_str().unwrap().to_owned();
    assert_eq!(ws.recv().await["type"], "ai.start");
    for i in 1..=5 {
        let frame = json!({"type": "chat.send", "client_msg_id": format!("b-{i}"), "conversation_id": conv, "text": format!("more {i}")});
        ws.send(frame).await;
    }
    let (mut acks, mut starts, mut ends) = (1, 1, 0);
    let mut last_reply_to = String::new();
    while ends < 2 || acks < 6 {
        let f = ws.recv().await;
        match f["type"].as_str().unwrap() {
            "chat.ack" => acks += 1,
            "ai.start" => {
                starts += 1;
                last_reply_to = f["reply_to"].as_str().unwrap().to_owned();
            }
            "ai.end" => ends += 1,
            _ => {}
        }
    }
    assert_eq!(acks, 6, "every message is acknowledged");
    assert!(ws.try_recv(std::time::Duration::from_millis(600)).await.is_none(), "more replies followed");
    assert_eq!(starts, 2, "the burst got one reply");
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    let msgs = h["messages"].as_array().unwrap();
    let latest_patient = msgs.iter().rev().find(|m| m["author"] == "patient").unwrap();
    assert_eq!(latest_patient["text"], "more 5");
    assert_eq!(last_reply_to, latest_patient["id"].as_str().unwrap());
}
