//! The real async-openai client path (`OpenAiProvider`) against the real mock server: streaming,
//! timing structure and every error mapping the chat actor relies on.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use healing_llm::{
    ChatRole, ChatTurn, CompletionRequest, Fault, LlmError, LlmProvider, MockConfig, MockServer, OpenAiConfig,
    OpenAiProvider, ReplyMode, build_request,
};

const ECHO: &str = "I have been feeling anxious about work and I cannot switch off at night";

fn request(text: &str) -> CompletionRequest {
    build_request(
        &[
            ChatTurn { role: ChatRole::User, text: "hello".into() },
            ChatTurn { role: ChatRole::Assistant, text: "Hi, how are you feeling today?".into() },
            ChatTurn { role: ChatRole::User, text: text.into() },
        ],
        2_000,
    )
}

fn provider(base_url: String) -> OpenAiProvider {
    provider_with(base_url, |_| {})
}

fn provider_with(base_url: String, tweak: impl FnOnce(&mut OpenAiConfig)) -> OpenAiProvider {
    let mut cfg = OpenAiConfig {
        base_url,
        api_key: "test-key".into(),
        model: "mock-model".into(),
        first_token_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        ..OpenAiConfig::default()
    };
    tweak(&mut cfg);
    match OpenAiProvider::new(cfg) {
        Ok(p) => p,
        Err(e) => panic!("provider: {e}"),
    }
}

fn fast() -> MockConfig {
    MockConfig { ttft: Duration::from_millis(10), tokens_per_sec: 2_000.0, ..MockConfig::default() }
}

async fn mock(cfg: MockConfig) -> MockServer {
    match MockServer::start(cfg).await {
        Ok(m) => m,
        Err(e) => panic!("mock: {e}"),
    }
}

/// Drives a reply to the end: (text, number of deltas, terminal error if any).
async fn collect(p: &OpenAiProvider, req: CompletionRequest) -> Result<(String, usize, Option<LlmError>), LlmError> {
    let mut stream = p.stream(req).await?;
    let mut text = String::new();
    let mut deltas = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(d) => {
                assert!(!d.is_empty(), "empty delta");
                text.push_str(&d);
                deltas += 1;
            }
            Err(e) => {
                assert!(stream.next().await.is_none(), "items after an error");
                return Ok((text, deltas, Some(e)));
            }
        }
    }
    Ok((text, deltas, None))
}

/// Errors may come from `stream()` or as the first item; callers treat both alike.
async fn first_error(p: &OpenAiProvider, req: CompletionRequest) -> (String, LlmError) {
    match collect(p, req).await {
        Err(e) => (String::new(), e),
        Ok((text, _, Some(e))) => (text, e),
        Ok((text, n, None)) => panic!("expected an error, got {n} deltas: {text:?}"),
    }
}

#[tokio::test]
async fn streams_the_echo() {
    let m = mock(fast()).await;
    let p = provider(m.base_url());
    assert_eq!(p.info().kind, "openai");
    assert_eq!(p.info().model, "mock-model");
    let (text, deltas, err) = match collect(&p, request(ECHO)).await {
        Ok(r) => r,
        Err(e) => panic!("stream: {e}"),
    };
    assert_eq!(err, None);
    assert_eq!(text, ECHO);
    assert_eq!(deltas, ECHO.split(' ').count(), "one delta per word");
}

#[tokio::test]
async fn sequential_requests_share_one_provider() {
    let m = mock(fast()).await;
    let p = provider(m.base_url());
    for i in 0..5 {
        let msg = format!("message number {i}");
        let got = collect(&p, request(&msg)).await.map(|r| r.0);
        assert_eq!(got, Ok(msg));
    }
}

#[tokio::test]
async fn ttft_and_pacing_are_honoured() {
    let m = mock(MockConfig { ttft: Duration::from_millis(150), tokens_per_sec: 100.0, ..MockConfig::default() }).await;
    let p = provider(m.base_url());
    let started = Instant::now();
    let mut stream = match p.stream(request("one two three four five")).await {
        Ok(s) => s,
        Err(e) => panic!("stream: {e}"),
    };
    let first = stream.next().await;
    let ttft = started.elapsed();
    assert_eq!(first, Some(Ok("one ".to_owned())));
    let mut rest = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(d) => rest.push(d),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    let total = started.elapsed();
    assert_eq!(rest, vec!["two ", "three ", "four ", "five"]);
    // Generous bounds: ordering and rough scale, not precise timing.
    assert!(ttft >= Duration::from_millis(140), "ttft {ttft:?}");
    // The last token is due 4 intervals (40 ms) after the 150 ms first-token point; sleeps never
    // end early, so this holds however loaded the machine is.
    assert!(total >= Duration::from_millis(185), "total {total:?}");
    assert!(total < Duration::from_secs(5), "total {total:?}");
}

#[tokio::test]
async fn rate_limit_maps_to_rate_limited() {
    let m = mock(MockConfig { fault: Fault::RateLimit, ..fast() }).await;
    let p = provider(m.base_url());
    let started = Instant::now();
    let (_, err) = first_error(&p, request(ECHO)).await;
    assert_eq!(err, LlmError::RateLimited);
    assert_eq!(err.kind(), "rate_limited");
    // No hidden retry/backoff loop in front of the caller (async-openai's default would wait at
    // least 100 + 200 + 400 ms before giving up).
    assert!(started.elapsed() < Duration::from_millis(650));
}

#[tokio::test]
async fn server_error_maps_to_upstream_status() {
    let m = mock(MockConfig { fault: Fault::ServerError, ..fast() }).await;
    let p = provider(m.base_url());
    let (_, err) = first_error(&p, request(ECHO)).await;
    assert_eq!(err, LlmError::Upstream(500));
}

#[tokio::test]
async fn drop_mid_stream_yields_partial_text_then_dropped() {
    let m = mock(MockConfig { fault: Fault::DropAfter(3), ..fast() }).await;
    let p = provider(m.base_url());
    let (text, deltas, err) = match collect(&p, request(ECHO)).await {
        Ok(r) => r,
        Err(e) => panic!("stream: {e}"),
    };
    assert_eq!(err, Some(LlmError::Dropped));
    assert_eq!(deltas, 3);
    assert_eq!(text, "I have been ");
}

#[tokio::test]
async fn drop_after_whole_reply_without_finish_reason_is_still_dropped() {
    let m =
        mock(MockConfig { fault: Fault::DropAfter(1_000), reply: ReplyMode::Fixed("short reply".into()), ..fast() })
            .await;
    let p = provider(m.base_url());
    let (text, _, err) = match collect(&p, request(ECHO)).await {
        Ok(r) => r,
        Err(e) => panic!("stream: {e}"),
    };
    assert_eq!(text, "short reply");
    assert_eq!(err, Some(LlmError::Dropped));
}

#[tokio::test]
async fn hang_times_out_on_first_token() {
    let m = mock(MockConfig { fault: Fault::Hang, ..fast() }).await;
    let p = provider_with(m.base_url(), |c| {
        c.first_token_timeout = Duration::from_millis(300);
    });
    let started = Instant::now();
    let (text, err) = first_error(&p, request(ECHO)).await;
    assert_eq!(err, LlmError::Timeout("first token"));
    assert!(text.is_empty());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test]
async fn stall_between_tokens_times_out_on_next_token() {
    // 2 tokens per second with a 150 ms idle limit: the second token is too late.
    let m = mock(MockConfig { ttft: Duration::from_millis(10), tokens_per_sec: 2.0, ..MockConfig::default() }).await;
    let p = provider_with(m.base_url(), |c| {
        c.idle_timeout = Duration::from_millis(150);
    });
    let (text, deltas, err) = match collect(&p, request(ECHO)).await {
        Ok(r) => r,
        Err(e) => panic!("stream: {e}"),
    };
    assert_eq!(err, Some(LlmError::Timeout("next token")));
    assert_eq!(deltas, 1);
    assert_eq!(text, "I ");
}

#[tokio::test]
async fn per_request_fault_header_overrides_config() {
    // The provider cannot set headers, so drive the mock with a raw request.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let m = mock(fast()).await;
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    for (fault, status) in [("429", "429"), ("500", "500"), ("none", "200")] {
        let mut sock = match tokio::net::TcpStream::connect(m.addr()).await {
            Ok(s) => s,
            Err(e) => panic!("connect: {e}"),
        };
        let req = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-mock-fault: {fault}\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        assert!(sock.write_all(req.as_bytes()).await.is_ok());
        let mut resp = String::new();
        assert!(sock.read_to_string(&mut resp).await.is_ok());
        assert!(resp.starts_with(&format!("HTTP/1.1 {status} ")), "{fault}: {resp}");
        if status == "200" {
            assert!(resp.contains("\"finish_reason\":\"stop\""));
            assert!(resp.contains("data: [DONE]"));
        }
    }
}

#[tokio::test]
async fn health_endpoint() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let m = mock(fast()).await;
    let mut sock = match tokio::net::TcpStream::connect(m.addr()).await {
        Ok(s) => s,
        Err(e) => panic!("connect: {e}"),
    };
    assert!(sock.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.is_ok());
    let mut resp = String::new();
    assert!(sock.read_to_string(&mut resp).await.is_ok());
    assert!(resp.starts_with("HTTP/1.1 200 OK"), "{resp}");
    assert!(resp.ends_with("ok"));
}

#[tokio::test]
async fn unreachable_port_is_transport_error() {
    // Bind then drop a listener to get a port that refuses connections.
    let port = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l.local_addr().map(|a| a.port()).unwrap_or(9),
        Err(e) => panic!("bind: {e}"),
    };
    let p = provider(format!("http://127.0.0.1:{port}/v1"));
    let started = Instant::now();
    let (_, err) = first_error(&p, request(ECHO)).await;
    assert!(matches!(err, LlmError::Transport(_)), "{err:?}");
    assert_eq!(err.kind(), "transport");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn many_concurrent_streams() {
    let m = mock(MockConfig { ttft: Duration::from_millis(20), tokens_per_sec: 200.0, ..MockConfig::default() }).await;
    let p = std::sync::Arc::new(provider(m.base_url()));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let p = std::sync::Arc::clone(&p);
        tasks.spawn(async move {
            let msg = format!("concurrent reply number {i} is here");
            (msg.clone(), collect(&p, request(&msg)).await.map(|r| r.0))
        });
    }
    let mut done = 0;
    while let Some(res) = tasks.join_next().await {
        match res {
            Ok((want, got)) => assert_eq!(got, Ok(want)),
            Err(e) => panic!("task: {e}"),
        }
        done += 1;
    }
    assert_eq!(done, 100);
}

/// A grading request as the risk second opinion sends it.
fn grading(text: &str) -> CompletionRequest {
    CompletionRequest {
        system: "Answer with only one JSON object".into(),
        turns: vec![ChatTurn {
            role: ChatRole::User,
            text: format!("<earlier>\n- my tablets are here\n</earlier>\n<message>{text}</message>"),
        }],
    }
}

fn grade(spec: &str) -> MockConfig {
    match spec.parse::<ReplyMode>() {
        Ok(reply) => MockConfig { reply, ..fast() },
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn the_grading_mode_answers_json_requests_with_a_grade_and_chat_with_the_echo() {
    let m = mock(grade("grade:keywords")).await;
    let p = provider(m.base_url());
    // complete_json asks for a JSON object, which is what makes it a grading request.
    let answer = p.complete_json(grading("I'm standing on the wrong side of the railing"), 100).await;
    let Ok(answer) = answer else { panic!("{answer:?}") };
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    assert_eq!(v["level"], "high", "{answer}");
    assert!(v["reason"].as_str().is_some_and(|r| r.contains("railing")), "{answer}");
    // Only the graded message counts, not the earlier turns.
    let answer = p.complete_json(grading("thanks, that helps a bit"), 100).await.unwrap_or_default();
    assert!(answer.contains(r#""level":"none""#), "{answer}");
    assert_eq!(m.graded(), 2);
    // An ordinary chat request on the same mock gets the echo, and is no grading request.
    let Ok((text, _, None)) = collect(&p, request(ECHO)).await else { panic!("chat failed") };
    assert_eq!(text, ECHO);
    assert_eq!(m.graded(), 2);
}

#[tokio::test]
async fn the_grading_mode_injects_the_faults_a_second_opinion_must_survive() {
    let garbage = mock(grade("grade:garbage")).await;
    let answer = provider(garbage.base_url()).complete_json(grading("x"), 100).await.unwrap_or_default();
    assert!(serde_json::from_str::<serde_json::Value>(&answer).is_err(), "{answer}");

    let schema = mock(grade("grade:schema")).await;
    let answer = provider(schema.base_url()).complete_json(grading("x"), 100).await.unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    assert!(v.is_object() && v["level"] != "high" && v.get("confidence").is_some(), "{answer}");

    let down = mock(grade("grade:500")).await;
    let p = provider(down.base_url());
    assert_eq!(p.complete_json(grading("x"), 100).await, Err(LlmError::Upstream(500)));
    // The outage is the grader's only: chat still streams.
    assert!(matches!(collect(&p, request(ECHO)).await, Ok((_, _, None))));

    let slow = mock(grade("grade:high:400")).await;
    let p = provider(slow.base_url());
    let started = Instant::now();
    let late = tokio::time::timeout(Duration::from_millis(100), p.complete_json(grading("x"), 100)).await;
    assert!(late.is_err(), "answered before its delay");
    assert!(started.elapsed() < Duration::from_millis(350));
    let answer = p.complete_json(grading("x"), 100).await.unwrap_or_default();
    assert!(answer.contains(r#""level":"high""#) && started.elapsed() >= Duration::from_millis(400), "{answer}");
}
