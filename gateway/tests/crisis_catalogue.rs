//! One crisis catalogue per deployment: with a catalogue for another country (an Irish test
//! fixture), the patient sees that country's services and texts in the `safety` frame, the crisis
//! response, the paused reply, the error notice and `GET /api/v1/crisis`, and no UK service or
//! numbered UK text anywhere; the default is the UK's; a catalogue that is incomplete stops the
//! node with the field named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use healing_protocol::crisis::{Catalogue, numbers_in};
use serde_json::Value;

const IE_TEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crisis/ie-test/en.toml");

/// Things only a UK deployment says: its services, and every one of its crisis texts that names a
/// number (those without one may be worded alike anywhere).
fn uk_only() -> Vec<String> {
    let uk = Catalogue::uk_default();
    let mut v: Vec<String> = ["111", "option 2", "85258", "SHOUT", "NHS", "A&E"].map(String::from).into();
    v.extend(uk.texts().into_iter().filter(|(_, t)| !numbers_in(t).is_empty()).map(|(_, t)| t.to_owned()));
    assert!(v.len() > 12, "{v:?}");
    v
}

fn assert_no_uk(what: &str, v: &Value) {
    let text = v.to_string();
    for needle in uk_only() {
        assert!(!text.contains(&needle), "{what} shows the UK's {needle:?}: {text}");
    }
}

#[tokio::test]
async fn a_deployment_outside_the_uk_shows_its_own_numbers_everywhere_and_no_uk_one() {
    let s = Server::start(&["--crisis-catalogue", IE_TEST]);

    // The web page's source, without signing in.
    let (status, c) = get(&s, "/api/v1/crisis", None).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!((c["deployment"].as_str(), c["language"].as_str()), (Some("ie-test"), Some("en")));
    let high = c["levels"]["high"].as_array().unwrap();
    assert_eq!(high[0]["phone"], "112", "the emergency number first at high risk: {c}");
    assert_eq!(high[0]["emergency"], true);
    assert!(c.to_string().contains("1800 247 247") && c.to_string().contains("116 123"), "{c}");
    assert!(c["texts"]["crisis_response"].as_str().unwrap().contains("112"));
    assert!(c.get("source").is_none() && high[0].get("source").is_none(), "provenance is not sent");
    assert_no_uk("GET /api/v1/crisis", &c);
    // A language the deployment has no catalogue for still gets the numbers.
    let (status, pl) = get(&s, "/api/v1/crisis?lang=pl", None).await;
    assert_eq!((status, pl["language"].as_str()), (200, Some("en")));

    // A high-risk message: the safety frame and the crisis response.
    let team = care_team(&s).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;
    let frames = chat(&mut pat, None, HIGH_RISK).await;
    let safety = frames.iter().find(|f| f["type"] == "safety").expect("no safety frame");
    assert_eq!(safety["level"], "high");
    let resources = safety["resources"].as_array().unwrap();
    assert_eq!(resources[0]["phone"], "112", "{safety}");
    assert!(resources.iter().any(|r| r["phone"] == "1800 247 247"), "{safety}");
    assert!(safety["message"].as_str().unwrap().contains("112"), "{safety}");
    assert_no_uk("the safety frame", safety);
    let reply = streamed_text(&frames);
    assert!(reply.contains("112") && reply.contains("1800 247 247"), "crisis response: {reply}");
    for f in &frames {
        assert_no_uk("a frame of the high-risk reply", f);
    }
    let conversation = safety["conversation_id"].as_str().unwrap().to_owned();

    // The AI is paused now: the holding reply is the deployment's too.
    let frames = chat(&mut pat, Some(&conversation), "are you still there?").await;
    let held = streamed_text(&frames);
    assert!(held.contains("1800 247 247"), "paused reply: {held}");
    for f in &frames {
        assert_no_uk("a frame of the paused reply", f);
    }
}

#[tokio::test]
async fn a_failed_model_reply_ends_with_the_deployments_error_notice() {
    use healing_llm::{Fault, MockConfig, MockServer};
    let mock = MockServer::start(MockConfig { fault: Fault::ServerError, ..MockConfig::default() }).await.unwrap();
    let s = Server::start_in(
        &temp_dir("crisis-llm"),
        &["--crisis-catalogue", IE_TEST, "--llm-base-url", &mock.base_url(), "--llm-second-opinion", "false"],
        &[("HEALING_LLM_API_KEY", "test-key")],
    );
    let p = patient(&s, "Err").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    let frames = chat(&mut ws, None, "what should I cook tonight").await;
    let end = frames.last().unwrap();
    assert_eq!(end["finish"], "error", "{end}");
    assert!(end["notice"].as_str().unwrap().contains("Samaritans Ireland are free on 116 123"), "{end}");
    for f in &frames {
        assert_no_uk("a frame of the failed reply", f);
    }
}

#[tokio::test]
async fn the_default_catalogue_is_the_uks_with_999_first_at_high_risk() {
    let s = Server::start(&[]);
    let (status, c) = get(&s, "/api/v1/crisis?lang=en-GB", None).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!((c["deployment"].as_str(), c["language"].as_str()), (Some("uk"), Some("en")));
    assert_eq!(c["levels"]["high"][0]["phone"], "999", "{c}");
    let text = c.to_string();
    for needle in ["116 123", "option 2", "85258", "SHOUT"] {
        assert!(text.contains(needle), "missing {needle}: {c}");
    }
    for key in ["help_intro", "paused_notice", "paused_return_notice", "paused_return_message"] {
        assert!(!c["page"][key].as_str().unwrap_or("").is_empty(), "page.{key} missing: {c}");
    }
}

/// Runs `serve` and expects it to refuse to start; returns what it said.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_healing-space"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(temp_dir("crisis-refused"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("GROQ_API_KEY")
        .env_remove("HEALING_LLM_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the node started with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "exit {:?}", out.status);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_malformed_catalogue_stops_the_node_and_names_the_field() {
    let dir = temp_dir("crisis-bad");
    let good = std::fs::read_to_string(IE_TEST).unwrap();
    let cases = [
        // An empty crisis response.
        ("crisis_response = \"I'm", "crisis_response = \"\" # \"I'm", "texts.crisis_response"),
        // No emergency service.
        ("emergency = true\n", "", "no emergency service"),
        // A number that is not one.
        ("phone = \"1800 247 247\"", "phone = \"1800-PIETA\"", "resources[2].phone"),
        // The UK's 111 left in another country's text.
        ("please call 112 now. You can also", "please call 111 now. You can also", "texts.safety.high"),
    ];
    for (from, to, expected) in cases {
        assert!(good.contains(from), "{from}");
        let path = dir.join("en.toml");
        std::fs::write(&path, good.replacen(from, to, 1)).unwrap();
        let said = refused(&["--crisis-catalogue", path.to_str().unwrap()], &[]);
        assert!(said.contains(expected) && said.contains("crisis catalogue"), "expected {expected:?} in: {said}");
    }
    // A missing text is named too (through the environment variable this time).
    let path = dir.join("missing.toml");
    let cut: String = good.lines().filter(|l| !l.starts_with("error_notice")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, cut).unwrap();
    let said = refused(&[], &[("HEALING_CRISIS_CATALOGUE", path.to_str().unwrap())]);
    assert!(said.contains("error_notice"), "{said}");
    // The old list of services alone is refused with the way forward.
    let said = refused(&["--crisis-resources", path.to_str().unwrap()], &[]);
    assert!(said.contains("--crisis-catalogue"), "{said}");
}
