//! The embedded offline responder: deterministic, CBT-shaped, safe wording, streamed word by word.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use healing_llm::{ChatRole, ChatTurn, CompletionRequest, LlmProvider, OfflineResponder, build_request};

const SAMPLES: &[&str] = &[
    "I feel so anxious all the time and my heart is racing",
    "I can't sleep, I lie awake every night",
    "I've been really down lately and nothing feels worth it",
    "I'm so angry at my brother, he never listens",
    "I feel lonely, no one ever calls me",
    "Work is overwhelming and my boss keeps piling on deadlines",
    "hello",
    "",
    "I don't really know what to say",
    "My exams are next week and I'm panicking",
    "I hate myself",
    "Why does everything feel so hard?",
    "I was up all night again.",
    "What is the point of therapy? Are you a real person?",
];

fn req(text: &str) -> CompletionRequest {
    build_request(&[ChatTurn { role: ChatRole::User, text: text.into() }], 1_000)
}

async fn stream_all(r: &OfflineResponder, request: CompletionRequest) -> Vec<String> {
    let mut out = Vec::new();
    let mut s = match r.stream(request).await {
        Ok(s) => s,
        Err(e) => panic!("offline stream: {e}"),
    };
    while let Some(item) = s.next().await {
        match item {
            Ok(d) => out.push(d),
            Err(e) => panic!("offline error: {e}"),
        }
    }
    out
}

#[tokio::test]
async fn deterministic_and_well_formed() {
    let r = OfflineResponder::new(Duration::ZERO);
    assert_eq!(r.info().kind, "offline");
    assert_eq!(r.info().model, "offline-cbt-v1");
    for text in SAMPLES {
        let a = stream_all(&r, req(text)).await;
        let b = stream_all(&r, req(text)).await;
        assert_eq!(a, b, "not deterministic for {text:?}");
        assert!(a.len() > 1, "single delta for {text:?}");
        let reply: String = a.concat();
        assert_eq!(reply, r.reply(&req(text)));
        assert_eq!(reply.matches('?').count(), 1, "{text:?} -> {reply}");
        assert!(reply.trim_end().ends_with('?'), "question should close: {reply}");
        let words = reply.split_whitespace().count();
        assert!((45..=95).contains(&words), "{words} words: {reply}");
        let lower = reply.to_lowercase();
        for role in ["doctor", "therapist", "clinician", "psychologist", "nurse", "human"] {
            for claim in [format!("i am a {role}"), format!("i'm a {role}")] {
                assert!(!lower.contains(&claim), "claims {claim}: {reply}");
            }
        }
        for d in &a[..a.len() - 1] {
            assert!(d.ends_with(' '), "delta should carry its trailing space: {d:?}");
        }
    }
}

#[tokio::test]
async fn themes_pick_matching_techniques() {
    let r = OfflineResponder::new(Duration::ZERO);
    let cases: &[(&str, &[&str])] = &[
        ("I feel so anxious all the time", &["4-7-8", "5-4-3-2-1"]),
        ("I can't sleep at night", &["sleep hygiene", "worry time"]),
        ("I've been so down and empty", &["behavioural activation", "thought record"]),
        ("I'm furious with my flatmate", &["box breathing", "pause before reacting"]),
        ("I feel so lonely", &["one person", "point of contact"]),
        ("Work stress is too much", &["break things down", "worry time"]),
    ];
    for (text, any_of) in cases {
        let reply = r.reply(&req(text)).to_lowercase();
        assert!(any_of.iter().any(|t| reply.contains(&t.to_lowercase())), "{text:?} -> {reply}");
    }
}

#[tokio::test]
async fn replies_vary_across_inputs() {
    let r = OfflineResponder::new(Duration::ZERO);
    let replies: std::collections::HashSet<String> = SAMPLES.iter().map(|t| r.reply(&req(t))).collect();
    assert!(replies.len() >= SAMPLES.len() - 2, "too little variety");
}

#[tokio::test]
async fn word_delay_paces_the_stream() {
    let r = OfflineResponder::new(Duration::from_millis(5));
    let started = Instant::now();
    let deltas = stream_all(&r, req("hello")).await;
    assert!(started.elapsed() >= Duration::from_millis(5) * (deltas.len() as u32 - 1));
}
