//! A client that stops reading must never grow server memory without bound: its bounded send
//! queue overflows, it is evicted with close code 4008, the eviction is counted in
//! `healing_slow_consumer_disconnects_total`, and other sessions are unaffected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use healing_llm::{Fault, MockConfig, MockServer, ReplyMode};
use serde_json::json;
use tokio::net::TcpSocket;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn stalled_reader_is_evicted_with_4008_and_memory_stays_bounded() {
    // A model that answers every message with 20,000 long words (3 MB) as fast as it can. Long
    // words, because a session that falls behind has its queued tokens merged (the stream
    // degrades to fewer frames): what a stalled tab pins is the reply's text, and four replies of
    // it must outgrow the socket buffers and the queue's budget.
    let word = "w".repeat(150);
    let mock = MockServer::start(MockConfig {
        ttft: Duration::ZERO,
        tokens_per_sec: 1_000_000.0,
        fault: Fault::None,
        reply: ReplyMode::Fixed(vec![word.as_str(); 20_000].join(" ")),
    })
    .await
    .unwrap();
    let s = Server::start_in(
        &temp_dir("slow"),
        &["--llm-base-url", &mock.base_url(), "--session-queue-bytes", "65536"],
        &[("HEALING_LLM_API_KEY", "test-key")],
    );
    let p = patient(&s, "Slow").await;

    // The stalled tab: a tiny receive buffer, and it never reads after `welcome`.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(s.addr.parse().unwrap()).await.unwrap();
    let tcp = tokio_tungstenite::MaybeTlsStream::Plain(tcp);
    let (stream, _) = tokio_tungstenite::client_async(s.ws_url(), tcp).await.unwrap();
    let mut stalled = Ws { stream };
    stalled.send(json!({"type": "hello", "token": p.token})).await;
    assert_eq!(stalled.recv().await["type"], "welcome");

    let (mut active, _) = Ws::hello(&s, &p.token).await;
    let pid = s.pid();
    let before = rss_kib(pid);
    let mut conv: Option<String> = None;
    for i in 0..4 {
        let frames = chat(&mut active, conv.as_deref(), &format!("tell me a long story {i}")).await;
        conv = Some(frames[0]["conversation_id"].as_str().unwrap().to_owned());
        assert_eq!(frames.last().unwrap()["finish"], "stop", "the healthy tab was disturbed");
        assert!(streamed_text(&frames).split_whitespace().count() >= 20_000);
    }
    let grown = rss_kib(pid).saturating_sub(before);
    assert!(grown < 64 * 1024, "server RSS grew by {grown} KiB while a client stalled");

    let metrics = http().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let evicted: f64 = metrics
        .lines()
        .find(|l| l.starts_with("healing_slow_consumer_disconnects_total "))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert!(evicted >= 1.0, "no eviction counted:\n{metrics}");

    // Once it reads again, the stalled tab finds its socket closed with 4008.
    let closed = tokio::time::timeout(Duration::from_secs(20), stalled.closed()).await.unwrap();
    assert_eq!(closed, Closed::Code(4008));
}
