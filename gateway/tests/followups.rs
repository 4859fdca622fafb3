//! Crisis follow-up (contract §4.7): acknowledging a high alert schedules a follow-up; one not
//! done by its `due_at` escalates to the supervisors with `follow_up_missed`, one done does not —
//! also when the node restarts between the acknowledgement and the deadline (deadlines live in
//! the store).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const FOLLOW_UP: [&str; 2] = ["--follow-up-after", "3s"];

/// The patient sends a high-risk message; their clinician (connected on `s`) acknowledges the
/// alert and receives the follow-up it schedules. Answers the follow-up.
async fn acknowledge_high_alert(s: &Server, patient: &Account, clinician: &mut Ws) -> Value {
    let (mut pat, _) = Ws::hello(s, &patient.token).await;
    pat.send(json!({"type": "chat.send", "client_msg_id": uuid::Uuid::new_v4().to_string(), "text": HIGH_RISK})).await;
    let alert = next_of(clinician, "alert").await["alert"].clone();
    assert_eq!(alert["level"], "high");
    clinician.send(json!({"type": "alert.ack", "alert_id": alert["id"], "note": "spoke to the patient"})).await;
    let followup = next_of(clinician, "followup").await["followup"].clone();
    assert_eq!(followup["status"], "pending");
    assert_eq!(followup["alert_id"], alert["id"]);
    assert_eq!(followup["patient_id"], patient.id.as_str());
    assert!(followup["due_at"].is_string() && followup["id"].is_string(), "{followup}");
    followup
}

/// The next `follow_up_missed` escalation a supervisor's socket receives (live or on connect).
async fn next_missed(sup: &mut Ws) -> Value {
    loop {
        let e = next_of(sup, "escalation").await;
        if e["escalation"]["reason"] == "follow_up_missed" {
            return e["escalation"].clone();
        }
    }
}

/// Every `follow_up_missed` escalation the supervisor can list, by alert id.
async fn missed_alerts(s: &Server, supervisor: &Account) -> Vec<String> {
    let (status, body) = get(s, "/api/v1/escalations?status=all", Some(&supervisor.token)).await;
    assert_eq!(status, 200, "{body}");
    body["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "follow_up_missed")
        .map(|e| e["alert"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A second patient on the same clinician's caseload: their follow-up, scheduled later, is the
/// witness that the sweeps after the first follow-up's deadline have run.
async fn second_patient(s: &Server, team: &CareTeam) -> Account {
    let p = patient(s, "Jordan").await;
    assert!(s.cli(&["assign", "--clinician", &team.clinician.username, "--patient", &p.username], "").status.success());
    p
}

#[tokio::test]
async fn a_follow_up_not_done_escalates_with_follow_up_missed() {
    let s = Server::start(&FOLLOW_UP);
    let team = care_team(&s).await;
    let stranger = staff(&s, "Dr Other", "clinician").await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut sup, _) = Ws::hello(&s, &team.supervisor.token).await;
    let followup = acknowledge_high_alert(&s, &team.patient, &mut clin).await;

    // Listed as pending for the caseload and the team, and for nobody else.
    let (_, pending) = get(&s, "/api/v1/follow-ups?status=pending", Some(&team.clinician.token)).await;
    assert_eq!(pending["followups"][0]["id"], followup["id"], "{pending}");
    let (_, theirs) = get(&s, "/api/v1/follow-ups", Some(&stranger.token)).await;
    assert_eq!(theirs["followups"].as_array().unwrap().len(), 0, "follow-up leaked to another clinician");
    assert_eq!(get(&s, "/api/v1/follow-ups", Some(&team.patient.token)).await.0, 403);
    assert_eq!(get(&s, "/api/v1/follow-ups?status=later", Some(&team.clinician.token)).await.0, 400);

    let escalation = next_missed(&mut sup).await;
    assert_eq!(escalation["alert"]["id"], followup["alert_id"]);
    assert_eq!(escalation["status"], "open");
    let updated = loop {
        let f = next_of(&mut clin, "followup.updated").await;
        if f["followup"]["id"] == followup["id"] {
            break f["followup"].clone();
        }
    };
    assert_eq!(updated["status"], "missed");
    let (_, missed) = get(&s, "/api/v1/follow-ups?status=missed", Some(&team.supervisor.token)).await;
    assert_eq!(missed["followups"][0]["id"], followup["id"], "{missed}");
    assert_eq!(missed_alerts(&s, &team.supervisor).await, vec![followup["alert_id"].as_str().unwrap().to_owned()]);
    // Too late to mark it done: the clinician is told its state, nothing changes.
    clin.send(json!({"type": "followup.done", "followup_id": followup["id"], "note": "late"})).await;
    assert_eq!(next_of(&mut clin, "followup.updated").await["followup"]["status"], "missed");
}

#[tokio::test]
async fn a_follow_up_done_in_time_does_not_escalate() {
    let s = Server::start(&FOLLOW_UP);
    let team = care_team(&s).await;
    let witness = second_patient(&s, &team).await;
    let stranger = staff(&s, "Dr Other", "clinician").await;
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut clin_tab2, _) = Ws::hello(&s, &team.clinician.token).await;
    let (mut sup, _) = Ws::hello(&s, &team.supervisor.token).await;
    let (mut other, _) = Ws::hello(&s, &stranger.token).await;
    let followup = acknowledge_high_alert(&s, &team.patient, &mut clin).await;

    // Someone else's follow-up cannot be marked done.
    other.send(json!({"type": "followup.done", "followup_id": followup["id"], "note": "x", "ref": 1})).await;
    assert_eq!(next_of(&mut other, "error").await["code"], "forbidden");
    clin.send(json!({"type": "followup.done", "followup_id": followup["id"], "note": "called; safe at home"})).await;
    let done = next_of(&mut clin, "followup.updated").await["followup"].clone();
    assert_eq!(done["status"], "done");
    assert_eq!(done["done_by"], team.clinician.id.as_str());
    assert_eq!(done["note"], "called; safe at home");
    assert!(done["done_at"].is_string());
    assert_eq!(next_of(&mut clin_tab2, "followup.updated").await["followup"]["status"], "done");

    // The witness's follow-up, due after the first, escalates: the sweeps past the first's
    // deadline have run, and left the done one alone.
    let witness_followup = acknowledge_high_alert(&s, &witness, &mut clin).await;
    let escalation = next_missed(&mut sup).await;
    assert_eq!(escalation["alert"]["id"], witness_followup["alert_id"]);
    assert_eq!(
        missed_alerts(&s, &team.supervisor).await,
        vec![witness_followup["alert_id"].as_str().unwrap().to_owned()]
    );
    let (_, done_list) = get(&s, "/api/v1/follow-ups?status=done", Some(&team.clinician.token)).await;
    assert_eq!(done_list["followups"].as_array().unwrap().len(), 1, "{done_list}");
    assert_eq!(done_list["followups"][0]["id"], followup["id"]);
    // The patient's export holds their follow-up (contract §4.9).
    let (status, export) =
        get(&s, &format!("/api/v1/patients/{}/export", team.patient.id), Some(&team.patient.token)).await;
    assert_eq!(status, 200);
    assert_eq!(export["followups"][0]["id"], followup["id"], "{export}");
    assert_eq!(export["followups"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_follow_up_scheduled_before_a_restart_escalates_after_it() {
    let dir = temp_dir("followup-restart");
    let mut first = Server::start_in(&dir, &FOLLOW_UP, &[]);
    let team = care_team(&first).await;
    let (mut clin, _) = Ws::hello(&first, &team.clinician.token).await;
    let followup = acknowledge_high_alert(&first, &team.patient, &mut clin).await;
    first.kill9();

    let s = Server::start_in(&dir, &FOLLOW_UP, &[]);
    let (mut sup, _) = Ws::hello(&s, &team.supervisor.token).await;
    let escalation = next_missed(&mut sup).await;
    assert_eq!(escalation["alert"]["id"], followup["alert_id"]);
    assert_eq!(missed_alerts(&s, &team.supervisor).await, vec![followup["alert_id"].as_str().unwrap().to_owned()]);
}

#[tokio::test]
async fn a_follow_up_done_after_a_restart_does_not_escalate() {
    done_after_a_restart(&[]).await;
}

/// The same on the CQL backend: the one done after the restart stays quiet, the witness (not
/// done) escalates once.
#[tokio::test]
async fn on_cql_a_follow_up_done_after_a_restart_does_not_escalate_and_one_not_done_does() {
    let Some(env) = cql_store_env() else { return };
    done_after_a_restart(&env_refs(&env)).await;
}

async fn done_after_a_restart(env: &[(&str, &str)]) {
    let dir = temp_dir("followup-restart-done");
    let mut first = Server::start_in(&dir, &FOLLOW_UP, env);
    let team = care_team(&first).await;
    let witness = second_patient(&first, &team).await;
    let (mut clin, _) = Ws::hello(&first, &team.clinician.token).await;
    let followup = acknowledge_high_alert(&first, &team.patient, &mut clin).await;
    let witness_followup = acknowledge_high_alert(&first, &witness, &mut clin).await;
    first.kill9();

    let s = Server::start_in(&dir, &FOLLOW_UP, env);
    // On connect the clinician is given the pending follow-ups from the store.
    let (mut clin, _) = Ws::hello(&s, &team.clinician.token).await;
    let resumed = loop {
        let f = next_of(&mut clin, "followup").await["followup"].clone();
        if f["id"] == followup["id"] {
            break f;
        }
    };
    assert_eq!(resumed["status"], "pending");
    clin.send(json!({"type": "followup.done", "followup_id": followup["id"], "note": "home visit done"})).await;
    let done = loop {
        let f = next_of(&mut clin, "followup.updated").await["followup"].clone();
        if f["id"] == followup["id"] {
            break f;
        }
    };
    assert_eq!(done["status"], "done");

    let (mut sup, _) = Ws::hello(&s, &team.supervisor.token).await;
    let escalation = next_missed(&mut sup).await;
    assert_eq!(escalation["alert"]["id"], witness_followup["alert_id"]);
    assert_eq!(
        missed_alerts(&s, &team.supervisor).await,
        vec![witness_followup["alert_id"].as_str().unwrap().to_owned()]
    );
}
