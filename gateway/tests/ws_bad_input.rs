//! Hostile and broken input on the socket: every case gets the documented error, the connection
//! survives where PROTOCOL.md says so, and nothing is stored half-way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn bad_hello_token_gets_unauthorized_and_4401() {
    let s = Server::start(&[]);
    let mut ws = Ws::connect(&s).await;
    ws.send(json!({"type": "hello", "token": "not-a-real-token"})).await;
    let err = ws.recv().await;
    assert_eq!((err["type"].as_str(), err["code"].as_str()), (Some("error"), Some("unauthorized")));
    assert_eq!(ws.closed().await, Closed::Code(4401));
}

#[tokio::test]
async fn missing_hello_times_out_with_4401() {
    let s = Server::start(&["--hello-timeout", "500ms"]);
    let mut ws = Ws::connect(&s).await;
    let err = ws.recv().await;
    assert_eq!(err["code"], "unauthorized");
    assert_eq!(ws.closed().await, Closed::Code(4401));
}

#[tokio::test]
async fn frames_before_hello_are_refused_but_hello_still_works() {
    let s = Server::start(&[]);
    let p = patient(&s, "Early").await;
    let mut ws = Ws::connect(&s).await;
    ws.send(json!({"type": "chat.send", "client_msg_id": "x", "text": "too early", "ref": 1})).await;
    let err = ws.recv().await;
    assert_eq!((err["code"].as_str(), err["ref"].as_i64()), (Some("unauthorized"), Some(1)));
    ws.send(json!({"type": "hello", "token": p.token})).await;
    assert_eq!(ws.recv().await["type"], "welcome");
    let (_, convs) = get(&s, "/api/v1/conversations", Some(&p.token)).await;
    assert_eq!(convs["conversations"].as_array().unwrap().len(), 0, "a refused frame was stored");
}

#[tokio::test]
async fn malformed_unknown_and_incomplete_frames_get_errors_and_socket_keeps_working() {
    let s = Server::start(&[]);
    let p = patient(&s, "Fuzz").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    let cases = [
        ("{not json", None),
        ("[1,2,3]", None),
        (r#"{"no_type": true}"#, None),
        (r#"{"type": "warp.drive", "ref": "u"}"#, Some("u")),
        (r#"{"type": "chat.send", "ref": "m", "text": "no id"}"#, Some("m")),
        (r#"{"type": "chat.send", "ref": "w", "client_msg_id": 42, "text": "wrong type"}"#, Some("w")),
        (r#"{"type": "chat.send", "ref": "e", "client_msg_id": "e", "text": "   "}"#, Some("e")),
        (r#"{"type": "history.get", "ref": "h"}"#, Some("h")),
        (r#"{"type": "hello", "token": "again", "ref": "again"}"#, Some("again")),
    ];
    for (raw, reference) in cases {
        ws.send_raw(Message::Text(raw.into())).await;
        let err = ws.recv().await;
        assert_eq!(err["type"], "error", "{raw} -> {err}");
        assert_eq!(err["code"], "invalid_request", "{raw} -> {err}");
        assert_eq!(err["ref"].as_str(), reference, "{raw} -> {err}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    ws.send_raw(Message::Binary(vec![1u8, 2, 3].into())).await;
    assert_eq!(ws.recv().await["code"], "invalid_request");
    // Still a working socket.
    let frames = chat(&mut ws, None, "still here?").await;
    assert_eq!(frames[0]["seq"], 1);
    assert_eq!(frames.last().unwrap()["finish"], "stop");
}

#[tokio::test]
async fn someone_elses_conversation_is_forbidden_and_untouched() {
    let s = Server::start(&[]);
    let owner = patient(&s, "Owner").await;
    let intruder = patient(&s, "Intruder").await;
    let (mut ws, _) = Ws::hello(&s, &owner.token).await;
    let frames = chat(&mut ws, None, "my private thoughts").await;
    let conv = frames[0]["conversation_id"].as_str().unwrap();

    let (mut bad, _) = Ws::hello(&s, &intruder.token).await;
    bad.send(json!({"type": "chat.send", "client_msg_id": "i1", "conversation_id": conv, "text": "hi", "ref": 1}))
        .await;
    let err = bad.recv().await;
    assert_eq!(err["code"], "forbidden");
    bad.send(json!({"type": "history.get", "conversation_id": conv, "ref": 2})).await;
    let err = bad.recv().await;
    assert_eq!((err["code"].as_str(), err["ref"].as_i64()), (Some("forbidden"), Some(2)));
    assert!(!err.to_string().contains("private"));
    let (_, history) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&owner.token)).await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 2, "the intruder's message was stored");
}

#[tokio::test]
async fn staff_cannot_chat_as_patients() {
    let s = Server::start(&[]);
    let c = staff(&s, "Clin", "clinician").await;
    let (mut ws, welcome) = Ws::hello(&s, &c.token).await;
    assert_eq!(welcome["user"]["role"], "clinician");
    ws.send(json!({"type": "chat.send", "client_msg_id": "c", "text": "hi"})).await;
    assert_eq!(ws.recv().await["code"], "forbidden");
}

#[tokio::test]
async fn oversized_frame_is_refused_and_server_is_unaffected() {
    let s = Server::start(&[]);
    let p = patient(&s, "Big").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    let text = "a".repeat(200 * 1024);
    ws.send(json!({"type": "chat.send", "client_msg_id": "big", "text": text})).await;
    let mut saw_too_large = false;
    let closed = loop {
        match ws.try_recv(std::time::Duration::from_secs(10)).await {
            Some(f) if f["code"] == "too_large" => saw_too_large = true,
            Some(_) => {}
            None => break true,
        }
    };
    assert!(closed && saw_too_large, "expected too_large then close 1009");
    assert_eq!(get(&s, "/healthz", None).await.0, 200);
    let (mut again, _) = Ws::hello(&s, &p.token).await;
    let frames = chat(&mut again, None, "small message").await;
    assert_eq!(frames[0]["seq"], 1, "part of the oversized message was stored");
}

#[tokio::test]
async fn flooding_is_rate_limited() {
    let s = Server::start(&["--frames-per-second", "5"]);
    let p = patient(&s, "Flood").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    for i in 0..30 {
        ws.send(json!({"type": "ping", "ref": i})).await;
    }
    let mut limited = 0;
    for _ in 0..30 {
        let f = ws.recv().await;
        if f["code"] == "rate_limited" {
            limited += 1;
        }
    }
    assert!(limited > 0, "no frame was rate limited");
}
