//! The `mock-llm` binary: prints its address first, then serves the OpenAI-compatible stream.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use healing_llm::{ChatRole, ChatTurn, LlmProvider, OpenAiConfig, OpenAiProvider, build_request};

/// Kills the child on drop so a failing assertion never leaks the process.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `mock-llm` on a free port with `args`; returns it and the base URL it printed first.
fn spawn_mock(args: &[&str]) -> (Child, String) {
    let spawned = Command::new(env!("CARGO_BIN_EXE_mock-llm"))
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(c) => Child(c),
        Err(e) => panic!("spawn mock-llm: {e}"),
    };
    let Some(stdout) = child.0.stdout.take() else {
        panic!("no stdout");
    };
    let mut line = String::new();
    assert!(BufReader::new(stdout).read_line(&mut line).is_ok());
    let Some(base_url) = line.trim().strip_prefix("listening on ") else {
        panic!("unexpected first line {line:?}");
    };
    (child, base_url.to_owned())
}

#[tokio::test]
async fn binary_prints_address_and_streams() {
    let (_child, base_url) = spawn_mock(&["--ttft-ms", "5", "--tokens-per-sec", "1000", "--reply", "words:12"]);
    assert!(base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/v1"));

    let provider = match OpenAiProvider::new(OpenAiConfig {
        base_url: base_url.clone(),
        first_token_timeout: Duration::from_secs(5),
        ..OpenAiConfig::default()
    }) {
        Ok(p) => p,
        Err(e) => panic!("provider: {e}"),
    };
    let req = build_request(&[ChatTurn { role: ChatRole::User, text: "anything".into() }], 100);
    let mut stream = match provider.stream(req).await {
        Ok(s) => s,
        Err(e) => panic!("stream: {e}"),
    };
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(d) => text.push_str(&d),
            Err(e) => panic!("stream error: {e}"),
        }
    }
    assert_eq!(text.split(' ').count(), 12, "{text:?}");
}

#[test]
fn binary_rejects_bad_fault() {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-llm")).args(["--fault", "explode"]).output();
    match out {
        Ok(o) => assert!(!o.status.success()),
        Err(e) => panic!("run mock-llm: {e}"),
    }
}

#[tokio::test]
async fn binary_grading_mode_answers_a_json_request_with_a_grade() {
    let (_child, base_url) = spawn_mock(&["--ttft-ms", "0", "--reply", "grade:keywords"]);
    let provider = match OpenAiProvider::new(OpenAiConfig { base_url: base_url.clone(), ..OpenAiConfig::default() }) {
        Ok(p) => p,
        Err(e) => panic!("provider: {e}"),
    };
    let request = healing_llm::CompletionRequest {
        system: "Answer with one JSON object".into(),
        turns: vec![ChatTurn {
            role: ChatRole::User,
            text: "<message>the engine is running in the garage, engine running</message>".into(),
        }],
    };
    let answer = provider.complete_json(request, 100).await;
    assert!(answer.as_ref().is_ok_and(|a| a.contains(r#""level":"high""#)), "{answer:?}");
}

#[test]
fn binary_rejects_a_bad_grading_mode() {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-llm")).args(["--reply", "grade:extreme"]).output();
    match out {
        Ok(o) => assert!(!o.status.success()),
        Err(e) => panic!("run mock-llm: {e}"),
    }
}
