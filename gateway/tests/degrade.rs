//! Under load AI streams degrade first (issue 10): past `--ai-coalesce-above-streams` streaming
//! replies a node sends each reply's tokens several to a frame, at most every 200 ms. The patient
//! gets the same text, stored the same, in fewer frames; the safety path is untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_busy_node_sends_the_same_reply_in_fewer_frames() {
    // 0: coalesce always (as if the node were past the threshold).
    let s = Server::start(&["--ai-coalesce-above-streams", "0"]);
    let p = patient(&s, "Robin").await;
    let (mut ws, _) = Ws::hello(&s, &p.token).await;
    ws.send(json!({"type": "chat.send", "client_msg_id": "c-1", "text": "I've been feeling anxious about work"})).await;
    let frames = ws.recv_until("ai.end").await;
    let deltas = frames.iter().filter(|f| f["type"] == "ai.delta").count();
    let streamed = streamed_text(&frames);
    let words = streamed.split_whitespace().count();
    assert!(words >= 10, "a reply of some length: {streamed}");
    assert!(deltas < words, "{deltas} frames for {words} words: tokens were not coalesced");

    let conv = frames[0]["conversation_id"].as_str().unwrap();
    let (_, history) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&p.token)).await;
    assert_eq!(history["messages"][1]["text"].as_str().unwrap(), streamed, "the patient got exactly the stored reply");
    let m = metrics_text(&s).await;
    assert!(metric(&m, "healing_ai_deltas_coalesced_total").unwrap_or(0.0) > 0.0);
}
