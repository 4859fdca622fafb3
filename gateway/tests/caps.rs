//! Bounded everything (issue 10, item 6): sockets per account, per remote address and not yet
//! authenticated, and conversations per patient. Each cap refuses the one past it with the
//! documented error (and close code), leaves what was admitted working, counts the refusal in
//! `healing_cap_refusals_total{cap}`, and admits again once something is given back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// `healing_cap_refusals_total{cap="..."}` on the node's `/metrics`.
async fn refusals(s: &Server, cap: &str) -> f64 {
    let text = metrics_text(s).await;
    let prefix = format!("healing_cap_refusals_total{{cap=\"{cap}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} series:\n{text}"))
}

/// An upgrade the server refuses before upgrading: its HTTP status and JSON body.
async fn refused_upgrade(req: impl IntoClientRequest + Unpin) -> (u16, Option<u64>, Value) {
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let retry_after = resp.headers().get("Retry-After").and_then(|v| v.to_str().ok()?.parse().ok());
            let body = resp.body().as_deref().map(|b| serde_json::from_slice(b).unwrap()).unwrap_or(Value::Null);
            (resp.status().as_u16(), retry_after, body)
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// A socket that authenticates with the `Authorization` header instead of `hello`.
fn header_request(s: &Server, token: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = s.ws_url().into_client_request().unwrap();
    req.headers_mut().insert("Authorization", format!("Bearer {token}").parse().unwrap());
    req
}

async fn ping_answers(ws: &mut Ws, reference: &str) {
    ws.send(json!({"type": "ping", "ref": reference})).await;
    let pong = ws.recv().await;
    assert_eq!((pong["type"].as_str(), pong["ref"].as_str()), (Some("pong"), Some(reference)), "{pong}");
}

#[tokio::test]
async fn one_socket_past_the_accounts_cap_is_refused_with_4429_and_a_freed_one_is_taken() {
    let s = Server::start(&["--max-sockets-per-user", "2"]);
    let p = patient(&s, "Tabs").await;
    let (mut first, _) = Ws::hello(&s, &p.token).await;
    let (mut second, _) = Ws::hello(&s, &p.token).await;

    // The third tab: upgraded, then refused after hello with the cap named, then closed 4429.
    let mut third = Ws::connect(&s).await;
    third.send(json!({"type": "hello", "token": p.token, "ref": "h3"})).await;
    let err = third.recv().await;
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["code"], "rate_limited", "{err}");
    assert_eq!(err["limit"], "sockets_per_user", "{err}");
    assert_eq!(err["max"], 2, "{err}");
    assert_eq!(err["ref"], "h3", "{err}");
    assert_eq!(third.closed().await, Closed::Code(4429));

    // With the token on the upgrade request the cap is known before upgrading: 429 and JSON.
    let (status, retry_after, body) = refused_upgrade(header_request(&s, &p.token)).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some_and(|s| s >= 1), "no Retry-After");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(body["error"]["limit"], "sockets_per_user", "{body}");
    assert_eq!(body["error"]["max"], 2, "{body}");

    // The first two keep working, and another account is not affected.
    ping_answers(&mut first, "a").await;
    ping_answers(&mut second, "b").await;
    let frames = chat(&mut second, None, "still here?").await;
    assert_eq!(frames.last().unwrap()["finish"], "stop");
    let q = patient(&s, "Other").await;
    let (mut other, _) = Ws::hello(&s, &q.token).await;
    ping_answers(&mut other, "c").await;
    assert_eq!(refusals(&s, "sockets_per_user").await, 2.0);

    // One tab closes; a new one is admitted as soon as the server has let the old one go.
    first.stream.close(None).await.unwrap();
    let mut again = eventually(Duration::from_secs(15), || async {
        let mut ws = Ws::connect(&s).await;
        ws.send(json!({"type": "hello", "token": p.token})).await;
        let reply = ws.recv().await;
        (reply["type"] == "welcome").then_some(ws)
    })
    .await
    .expect("no socket was admitted after one closed");
    ping_answers(&mut again, "d").await;
    ping_answers(&mut second, "e").await;
}

#[tokio::test]
async fn unauthenticated_sockets_are_capped_node_wide_and_freed_by_hello() {
    // A hello timeout far longer than the test, so the two waiting sockets stay waiting.
    let s = Server::start(&["--max-unauthenticated-sockets", "2", "--hello-timeout", "10m"]);
    let p = patient(&s, "Early").await;
    let mut waiting = Ws::connect(&s).await;
    let _silent = Ws::connect(&s).await;

    // A third socket that has not authenticated is refused before the upgrade.
    let (status, retry_after, body) = refused_upgrade(s.ws_url()).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some(), "no Retry-After");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(body["error"]["limit"], "unauthenticated_sockets", "{body}");
    assert_eq!(body["error"]["max"], 2, "{body}");
    assert_eq!(refusals(&s, "unauthenticated_sockets").await, 1.0);

    // A socket authenticated on the upgrade request is never unauthenticated: admitted.
    let (stream, _) = tokio_tungstenite::connect_async(header_request(&s, &p.token)).await.unwrap();
    let mut by_header = Ws { stream };
    assert_eq!(by_header.recv().await["type"], "welcome");

    // Saying hello gives the slot back at once: the next newcomer is admitted, and fills it.
    waiting.send(json!({"type": "hello", "token": p.token})).await;
    assert_eq!(waiting.recv().await["type"], "welcome");
    let _newcomer = Ws::connect(&s).await;
    assert_eq!(refused_upgrade(s.ws_url()).await.0, 429);
    ping_answers(&mut waiting, "w").await;
    ping_answers(&mut by_header, "h").await;
}

#[tokio::test]
async fn a_socket_that_never_says_hello_is_closed_by_the_hello_timeout_and_gives_its_slot_back() {
    let s = Server::start(&["--max-unauthenticated-sockets", "1", "--hello-timeout", "1s"]);
    let p = patient(&s, "Late").await;
    let mut silent = Ws::connect(&s).await;
    let err = silent.recv().await;
    assert_eq!(err["code"], "unauthorized", "{err}");
    assert_eq!(silent.closed().await, Closed::Code(4401));
    let mut after = eventually(Duration::from_secs(15), || async {
        tokio_tungstenite::connect_async(s.ws_url()).await.ok().map(|(stream, _)| Ws { stream })
    })
    .await
    .expect("the timed-out socket's slot was never given back");
    after.send(json!({"type": "hello", "token": p.token})).await;
    assert_eq!(after.recv().await["type"], "welcome");
}

#[tokio::test]
async fn sockets_per_remote_address_are_capped_before_the_upgrade() {
    let s = Server::start(&["--max-sockets-per-ip", "3"]);
    let p = patient(&s, "Nat").await;
    let (mut one, _) = Ws::hello(&s, &p.token).await;
    let (mut two, _) = Ws::hello(&s, &p.token).await;
    let _three = Ws::connect(&s).await; // not yet authenticated: counted all the same

    for req in [s.ws_url().into_client_request().unwrap(), header_request(&s, &p.token)] {
        let (status, retry_after, body) = refused_upgrade(req).await;
        assert_eq!(status, 429, "{body}");
        assert!(retry_after.is_some(), "no Retry-After");
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        assert_eq!(body["error"]["limit"], "sockets_per_ip", "{body}");
        assert_eq!(body["error"]["max"], 3, "{body}");
    }
    assert_eq!(refusals(&s, "sockets_per_ip").await, 2.0);

    // Another source address has its own allowance (the load harness spreads over 127.0.0.x).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let tcp = socket.connect(s.addr.parse().unwrap()).await.unwrap();
    let (stream, _) =
        tokio_tungstenite::client_async(s.ws_url(), tokio_tungstenite::MaybeTlsStream::Plain(tcp)).await.unwrap();
    let mut elsewhere = Ws { stream };
    elsewhere.send(json!({"type": "hello", "token": p.token})).await;
    assert_eq!(elsewhere.recv().await["type"], "welcome");

    ping_answers(&mut one, "1").await;
    two.stream.close(None).await.unwrap();
    let mut back = eventually(Duration::from_secs(15), || async {
        tokio_tungstenite::connect_async(s.ws_url()).await.ok().map(|(stream, _)| Ws { stream })
    })
    .await
    .expect("a closed socket's address slot was never given back");
    back.send(json!({"type": "hello", "token": p.token})).await;
    assert_eq!(back.recv().await["type"], "welcome");
}

#[tokio::test]
async fn a_conversation_past_the_patients_cap_answers_conflict_and_stores_nothing() {
    let s = Server::start(&["--max-conversations-per-patient", "2"]);
    let p = patient(&s, "Many").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    let first = chat(&mut ws, None, "first conversation").await;
    let conv = first[0]["conversation_id"].as_str().unwrap().to_owned();
    let second_client_id = uuid::Uuid::new_v4().to_string();
    ws.send(json!({"type": "chat.send", "client_msg_id": second_client_id, "text": "second conversation"})).await;
    let second_ack = ws.recv_until("ai.end").await.remove(0);
    assert_eq!(second_ack["type"], "chat.ack");

    // The third: a contract error naming the cap, echoing the ref; no ack, no reply.
    ws.send(json!({"type": "chat.send", "client_msg_id": "third", "text": "third conversation", "ref": 3})).await;
    let err = ws.recv().await;
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["code"], "conflict", "{err}");
    assert_eq!(err["limit"], "conversations_per_patient", "{err}");
    assert_eq!(err["max"], 2, "{err}");
    assert_eq!(err["ref"], 3, "{err}");
    assert!(err["message"].as_str().unwrap().contains("conversation_id"), "{err}");

    // Nothing was stored: still two conversations, and the refused client id is unused (the
    // same id into an existing conversation is a new message, not a duplicate).
    let (status, list) = get(&s, "/api/v1/conversations", Some(&p.token)).await;
    assert_eq!(status, 200);
    assert_eq!(list["conversations"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(refusals(&s, "conversations_per_patient").await, 1.0);

    // The socket is fine and existing conversations take messages.
    ws.send(json!({"type": "chat.send", "client_msg_id": "third", "conversation_id": conv, "text": "here then"})).await;
    let frames = ws.recv_until("ai.end").await;
    assert_eq!(frames[0]["type"], "chat.ack", "{frames:?}");
    assert_eq!(frames[0]["conversation_id"], conv.as_str());
    assert_eq!(frames[0]["seq"], 3, "{frames:?}");

    // A retry of a message that started a conversation is still acknowledged, stored once.
    ws.send(json!({"type": "chat.send", "client_msg_id": second_client_id, "text": "second conversation"})).await;
    let retry = ws.recv().await;
    assert_eq!(retry["type"], "chat.ack", "{retry}");
    assert_eq!(retry["message_id"], second_ack["message_id"]);
    let (_, list) = get(&s, "/api/v1/conversations", Some(&p.token)).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 2, "{list}");
    let (_, history) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    assert!(
        history["messages"].as_array().unwrap().iter().all(|m| m["text"] != "third conversation"),
        "the refused message was stored: {history}"
    );
}
