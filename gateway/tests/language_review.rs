//! Screening coverage (issue 14, item 6): the risk engine reads English only, so a message in
//! another language is never silently `none` — the care team gets a low-priority review item
//! (a `low` alert naming the language) in their ordinary alert list.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

/// Everyday Polish ("today I went for a walk with the dog, the weather was lovely, then I had
/// lunch"): the engine, reading English, grades it `none` — it cannot tell either way.
const POLISH: &str = "Dzisiaj byłem na spacerze z psem i pogoda była bardzo ładna, potem zjadłem obiad";

#[tokio::test]
async fn a_message_in_polish_raises_a_review_item_and_english_small_talk_does_not() {
    let s = Server::start(&[]);
    let team = care_team(&s).await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&s, &team.patient.token).await;

    // English with no risk, and a Polish greeting too short to judge: nothing for the team.
    let calm = chat(&mut pat, None, "I had a long day at work and would like to talk it through").await;
    let conv = calm[0]["conversation_id"].as_str().unwrap().to_owned();
    chat(&mut pat, Some(&conv), "Dzień dobry").await;
    let frames = chat(&mut pat, Some(&conv), POLISH).await;
    let polish_id = frames[0]["message_id"].as_str().unwrap().to_owned();
    assert!(frames.iter().all(|f| f["type"] != "safety"), "the patient was shown crisis resources: {frames:?}");

    // The first alert the clinician gets is the review item of the Polish message.
    let alert = next_of(&mut clin, "alert").await["alert"].clone();
    assert_eq!(alert["message_id"], polish_id.as_str(), "{alert}");
    assert_eq!(alert["level"], "low");
    assert_eq!(alert["reasons"], json!(["language not screened: Polish"]));
    assert!(alert["ack_deadline"].is_null(), "a review item never escalates: {alert}");
    let (_, open) = get(&s, "/api/v1/alerts?status=open", Some(&team.clinician.token)).await;
    assert_eq!(open["alerts"].as_array().unwrap().len(), 1, "{open}");
    let (_, h) = get(&s, &format!("/api/v1/conversations/{conv}/messages"), Some(&team.clinician.token)).await;
    let stored = h["messages"].as_array().unwrap().iter().find(|m| m["id"] == polish_id.as_str()).unwrap().clone();
    assert_eq!(stored["risk"]["reasons"], json!(["language not screened: Polish"]), "{stored}");
}
