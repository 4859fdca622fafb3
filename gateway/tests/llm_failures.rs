//! The AI companion over a real OpenAI-compatible server (the bundled mock, through the real
//! async-openai path): upstream failures end the reply calmly with `finish:"error"`, and the
//! partial text is kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use healing_llm::{Fault, MockConfig, MockServer, ReplyMode};
use std::time::Duration;

async fn server_with_mock(fault: Fault) -> (Server, MockServer) {
    let mock = MockServer::start(MockConfig {
        ttft: Duration::from_millis(20),
        tokens_per_sec: 500.0,
        fault,
        reply: ReplyMode::Echo,
    })
    .await
    .unwrap();
    let s = Server::start_in(
        &temp_dir("llm"),
        &["--llm-base-url", &mock.base_url(), "--llm-model", "mock-model", "--llm-first-token-timeout", "2s"],
        &[("HEALING_LLM_API_KEY", "test-key")],
    );
    (s, mock)
}

#[tokio::test]
async fn openai_compatible_server_streams_the_reply() {
    let (s, _mock) = server_with_mock(Fault::None).await;
    let p = patient(&s, "Echo").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    let frames = chat(&mut ws, None, "please echo these words back").await;
    assert_eq!(frames.last().unwrap()["finish"], "stop");
    assert_eq!(streamed_text(&frames).trim(), "please echo these words back");
    let conv = frames[0]["conversation_id"].as_str().unwrap();
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    assert_eq!(h["messages"][1]["meta"]["provider"], "openai");
    assert_eq!(h["messages"][1]["meta"]["model"], "mock-model");
}

async fn assert_calm_error(fault: Fault, expect_partial: bool) {
    let (s, _mock) = server_with_mock(fault).await;
    let p = patient(&s, "Err").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    let frames = chat(&mut ws, None, "one two three four five six seven eight").await;
    let end = frames.last().unwrap();
    assert_eq!(end["finish"], "error");
    assert!(end["notice"].as_str().unwrap().contains("116 123"), "{end}");
    let partial = streamed_text(&frames);
    assert_eq!(!partial.is_empty(), expect_partial, "partial: {partial:?}");
    let conv = frames[0]["conversation_id"].as_str().unwrap();
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    let stored = &h["messages"][1];
    assert_eq!(stored["finish"], "error");
    assert_eq!(stored["text"].as_str().unwrap(), partial, "partial text is kept");
    // The conversation goes on.
    let conv = conv.to_owned();
    let next = chat(&mut ws, Some(&conv), "are you there").await;
    assert_eq!(next[0]["seq"], 3);
}

#[tokio::test]
async fn upstream_429_ends_calmly() {
    assert_calm_error(Fault::RateLimit, false).await;
}

#[tokio::test]
async fn upstream_500_ends_calmly() {
    assert_calm_error(Fault::ServerError, false).await;
}

#[tokio::test]
async fn mid_stream_drop_keeps_partial_text() {
    assert_calm_error(Fault::DropAfter(3), true).await;
}

#[tokio::test]
async fn silent_upstream_times_out() {
    assert_calm_error(Fault::Hang, false).await;
}
