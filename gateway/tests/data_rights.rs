//! Data rights (contract §4.9), from outside: the hash-chained audit log and `audit verify`, the
//! CLI's audit entries, the admin audit export, the patient's export (JSON, and FHIR R4 checked
//! with the `fhir.resources` validator) and erasure with its grace period, cancel and restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

async fn request(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String) {
    let mut req = http().request(method, s.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn delete(s: &Server, path: &str, token: &str) -> (u16, Value) {
    let (status, text) = request(s, reqwest::Method::DELETE, path, Some(token), None).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn sign_in(s: &Server, username: &str) -> (u16, Value) {
    post(s, "/api/v1/auth/login", None, json!({"username": username, "password": PASSWORD})).await
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The bytes of every file of the embedded store (the database, its WAL and shared memory).
fn store_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("healing-space.db"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[tokio::test]
async fn audit_verify_passes_then_names_the_entry_altered_by_hand() {
    let mut s = Server::start(&[]);
    let admin = staff(&s, "Ada Admin", "admin").await;
    let team = care_team(&s).await; // user add, assign and team, all from the command line
    // The CLI's assign and team are in the log like their REST equivalents.
    let (status, log) = get(&s, "/api/v1/admin/audit?limit=100", Some(&admin.token)).await;
    assert_eq!(status, 200);
    let entries = log["entries"].as_array().unwrap();
    let assign = entries.iter().find(|e| e["action"] == "caseload.assign").expect("assign is audited");
    assert_eq!(assign["target"], format!("patient:{}", team.patient.id));
    assert!(assign["detail"].as_str().unwrap().contains("command line"));
    assert!(entries.iter().any(|e| e["action"] == "team.add"), "team is audited");
    assert!(entries.iter().any(|e| e["action"] == "user.create"), "user add is audited");
    s.terminate();

    let ok = cli(&s.data_dir, &["audit", "verify"], "");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));

    // Someone with the file alters one entry (lifting the append-only trigger first).
    let db = rusqlite::Connection::open(s.data_dir.join("healing-space.db")).unwrap();
    db.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 3")
        .unwrap();
    drop(db);
    let broken = cli(&s.data_dir, &["audit", "verify"], "");
    assert!(!broken.status.success(), "verify must fail on an altered entry");
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(err.contains("entry 3"), "names the altered entry: {err}");
    assert!(err.contains("altered"), "{err}");
}

#[tokio::test]
async fn admins_export_the_audit_log_as_jsonl_and_csv() {
    let s = Server::start(&[]);
    let admin = staff(&s, "Ada Admin", "admin").await;
    let team = care_team(&s).await;
    let path = "/api/v1/admin/audit/export?format=jsonl";
    let (status, _) = request(&s, reqwest::Method::GET, path, Some(&team.clinician.token), None).await;
    assert_eq!(status, 403);
    let (status, _) = request(&s, reqwest::Method::GET, path, Some(&team.patient.token), None).await;
    assert_eq!(status, 403);

    let (status, jsonl) = request(&s, reqwest::Method::GET, path, Some(&admin.token), None).await;
    assert_eq!(status, 200);
    let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 4, "{jsonl}");
    assert_eq!(lines[0]["seq"], 1);
    for pair in lines.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"], "each entry names the hash of the one before");
    }
    assert!(lines.iter().any(|l| l["action"] == "caseload.assign"));

    let (status, csv) =
        request(&s, reqwest::Method::GET, "/api/v1/admin/audit/export?format=csv", Some(&admin.token), None).await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("seq,at,actor_id,actor_role,action,target,remote_addr,detail,prev_hash,hash"));
    assert!(csv.contains("caseload.assign"));

    // A window in the future holds nothing; bad input is refused clearly.
    let future = "/api/v1/admin/audit/export?format=jsonl&from=2999-01-01T00:00:00Z";
    let (status, body) = request(&s, reqwest::Method::GET, future, Some(&admin.token), None).await;
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, body) =
        request(&s, reqwest::Method::GET, "/api/v1/admin/audit/export?from=yesterday", Some(&admin.token), None).await;
    assert_eq!(status, 400);
    assert!(body.contains("RFC 3339"), "{body}");
    let (status, _) =
        request(&s, reqwest::Method::GET, "/api/v1/admin/audit/export?format=xml", Some(&admin.token), None).await;
    assert_eq!(status, 400);
    // The export is itself audited.
    let (_, log) = get(&s, "/api/v1/admin/audit?target=audit:log", Some(&admin.token)).await;
    assert!(!log["entries"].as_array().unwrap().is_empty());
}

/// A care team whose patient has said something risky (an alert, a screened message).
async fn patient_with_history(s: &Server) -> (CareTeam, String) {
    let team = care_team(s).await;
    let (mut ws, _) = Ws::hello(s, &team.patient.token).await;
    let first = chat(&mut ws, None, "I have been feeling low about work this week").await;
    let conversation = first[0]["conversation_id"].as_str().unwrap().to_owned();
    chat(&mut ws, Some(&conversation), HIGH_RISK).await;
    // The risk is stored last (after the alert): wait until the export shows it.
    let found = eventually(Duration::from_secs(20), || async {
        let (_, v) = get(s, &format!("/api/v1/patients/{}/export", team.patient.id), Some(&team.patient.token)).await;
        let screened = v["conversations"][0]["messages"]
            .as_array()?
            .iter()
            .any(|m| m["text"] == HIGH_RISK && m["risk"]["level"] == "high");
        (screened && !v["alerts"].as_array()?.is_empty()).then_some(())
    })
    .await;
    assert!(found.is_some(), "the risky message was screened and alerted");
    (team, conversation)
}

#[tokio::test]
async fn the_patient_and_admins_export_everything_and_others_cannot() {
    let s = Server::start(&[]);
    let admin = staff(&s, "Ada Admin", "admin").await;
    let (team, conversation) = patient_with_history(&s).await;
    let path = format!("/api/v1/patients/{}/export", team.patient.id);

    let (status, export) = get(&s, &path, Some(&team.patient.token)).await;
    assert_eq!(status, 200);
    assert_eq!(export["format"], "healing-space-export/1");
    assert_eq!(export["patient"]["id"], team.patient.id.as_str());
    assert_eq!(export["patient"]["display_name"], "Robin");
    let conv = &export["conversations"][0];
    assert_eq!(conv["id"], conversation.as_str());
    let messages = conv["messages"].as_array().unwrap();
    assert_eq!(messages[0]["text"], "I have been feeling low about work this week");
    assert!(messages.iter().any(|m| m["author"] == "ai"), "the AI's replies are the patient's data too");
    let seqs: Vec<i64> = messages.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "oldest first, all of them");
    assert_eq!(export["alerts"][0]["level"], "high");
    assert!(export["escalations"].is_array() && export["followups"].is_array());
    assert!(export["audit"].as_array().unwrap().iter().any(|e| e["action"] == "caseload.assign"));
    assert!(
        export["audit"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_id"] == team.patient.id.as_str() || e["remote_addr"].is_null()),
        "staff addresses are not the patient's data"
    );

    // Their clinician and supervisor may not (the contract names the patient and admins).
    assert_eq!(get(&s, &path, Some(&team.clinician.token)).await.0, 403);
    assert_eq!(get(&s, &path, Some(&team.supervisor.token)).await.0, 403);
    // Another patient learns nothing, not even that the patient exists.
    let other = patient(&s, "Other").await;
    let (status, body) = get(&s, &path, Some(&other.token)).await;
    assert_eq!(status, 404);
    assert!(!body.to_string().contains("Robin"));
    assert_eq!(get(&s, "/api/v1/patients/no-such-id/export", Some(&admin.token)).await.0, 404);
    assert_eq!(get(&s, &format!("/api/v1/patients/{}/export", team.clinician.id), Some(&admin.token)).await.0, 404);
    assert_eq!(get(&s, &format!("{path}?format=pdf"), Some(&admin.token)).await.0, 400);
    let (status, by_admin) = get(&s, &path, Some(&admin.token)).await;
    assert_eq!(status, 200);
    assert_eq!(by_admin["conversations"][0]["messages"].as_array().unwrap().len(), messages.len());

    // Every export is audited, with who asked.
    let (_, log) =
        get(&s, &format!("/api/v1/admin/audit?target=patient:{}", team.patient.id), Some(&admin.token)).await;
    let exports: Vec<&Value> =
        log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "patient.export").collect();
    assert!(exports.iter().any(|e| e["actor_id"] == admin.id.as_str()));
    assert!(exports.iter().any(|e| e["actor_id"] == team.patient.id.as_str()));
}

/// Validates a FHIR document with the `fhir.resources` models (installed by
/// scripts/ensure-deps.sh): the Bundle, and each entry by its own resource model.
fn fhir_validate(doc: &str) -> std::process::Output {
    let script = r#"
import importlib, json, sys
from fhir.resources.R4B.bundle import Bundle
doc = sys.stdin.read()
bundle = Bundle.model_validate_json(doc)
assert bundle.type == "collection", bundle.type
for entry in json.loads(doc)["entry"]:
    kind = entry["resource"]["resourceType"]
    model = getattr(importlib.import_module("fhir.resources.R4B." + kind.lower()), kind)
    model.model_validate(entry["resource"])
print("valid", len(bundle.entry))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (scripts/ensure-deps.sh installs fhir.resources)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_fhir_export_is_a_bundle_the_validator_accepts() {
    let s = Server::start(&[]);
    let (team, _) = patient_with_history(&s).await;
    let path = format!("/api/v1/patients/{}/export?format=fhir", team.patient.id);
    let (status, text) = request(&s, reqwest::Method::GET, &path, Some(&team.patient.token), None).await;
    assert_eq!(status, 200, "{text}");
    let bundle: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let kinds: Vec<&str> =
        bundle["entry"].as_array().unwrap().iter().map(|e| e["resource"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "Patient");
    assert_eq!(kinds.iter().filter(|k| **k == "Communication").count(), 4, "two messages and two replies: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "RiskAssessment").count(), 1, "one screened risky message: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "Flag").count(), 1, "one alert: {kinds:?}");
    let texts: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["payload"][0]["contentString"].as_str())
        .collect();
    assert!(texts.contains(&HIGH_RISK));

    let out = fhir_validate(&text);
    assert!(
        out.status.success(),
        "the FHIR validator refused the bundle:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And the validator is real: a Bundle without its required type is refused.
    let mut broken = bundle.clone();
    broken.as_object_mut().unwrap().remove("type");
    broken["entry"][0]["resource"]["gender"] = json!("sometimes");
    assert!(!fhir_validate(&broken.to_string()).status.success(), "the validator accepts anything");
}

#[tokio::test]
async fn erasure_with_grace_zero_leaves_no_trace_of_the_patients_text_in_the_store_files() {
    let mut s = Server::start(&["--erasure-grace", "0"]);
    let admin = staff(&s, "Ada Admin", "admin").await;
    let (team, _) = patient_with_history(&s).await;
    let secret = format!("my neighbour's name is Quentin-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    {
        let (mut ws, _) = Ws::hello(&s, &team.patient.token).await;
        chat(&mut ws, None, &secret).await;
    }
    s.cli(&["audit", "verify"], ""); // reads the files while the server runs (nothing changes)
    assert!(store_bytes(&s.data_dir).iter().any(|(_, b)| contains(b, &secret)), "the text is stored before");

    let (status, _) = delete(&s, &format!("/api/v1/patients/{}", team.patient.id), &team.patient.token).await;
    assert_eq!(status, 204, "grace 0 erases at once");
    let (status, _) = sign_in(&s, &team.patient.username).await;
    assert!(status == 401 || status == 403, "an erased patient cannot sign in ({status})");
    assert_eq!(get(&s, "/api/v1/me", Some(&team.patient.token)).await.0, 401);
    let (_, alerts) = get(&s, "/api/v1/alerts", Some(&team.clinician.token)).await;
    assert!(!alerts.to_string().contains(HIGH_RISK));

    // Nothing of what the patient wrote is left in the database or its WAL.
    s.terminate();
    for (file, bytes) in store_bytes(&s.data_dir) {
        for needle in [secret.as_str(), HIGH_RISK, "feeling low about work", team.patient.username.as_str()] {
            assert!(!contains(&bytes, needle), "{file} still holds {needle:?}");
        }
    }
    // The audit log keeps that it happened, by whom and when, and is still intact.
    let s = Server::start_in(&s.data_dir.clone(), &[], &[]);
    let (_, log) =
        get(&s, &format!("/api/v1/admin/audit?target=patient:{}", team.patient.id), Some(&admin.token)).await;
    let entries = log["entries"].as_array().unwrap();
    let asked = entries.iter().find(|e| e["action"] == "patient.erasure.schedule").expect("the request is audited");
    assert_eq!(asked["actor_id"], team.patient.id.as_str());
    let done = entries.iter().find(|e| e["action"] == "patient.erased").expect("the erasure is audited");
    assert!(done["detail"].as_str().unwrap().contains(&team.patient.id));
    assert!(done["at"].is_string());
    let ok = s.cli(&["audit", "verify"], "");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

#[tokio::test]
async fn erasure_waits_for_its_grace_period_and_can_be_cancelled() {
    let s = Server::start(&[]);
    let admin = staff(&s, "Ada Admin", "admin").await;
    let team = care_team(&s).await;
    let (mut ws, _) = Ws::hello(&s, &team.patient.token).await;
    chat(&mut ws, None, "something I said").await;
    let path = format!("/api/v1/patients/{}", team.patient.id);
    // Staff and other patients cannot erase someone.
    assert_eq!(delete(&s, &path, &team.clinician.token).await.0, 403);
    let other = patient(&s, "Other").await;
    assert_eq!(delete(&s, &path, &other.token).await.0, 404);

    let (status, body) = delete(&s, &path, &team.patient.token).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(ws.closed().await, Closed::Code(4403), "the patient's open socket is closed at once");
    assert_eq!(body["erasure"]["status"], "scheduled");
    let erase_at = chrono::DateTime::parse_from_rfc3339(body["erasure"]["erase_at"].as_str().unwrap()).unwrap();
    let days = (erase_at.to_utc() - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "erased after the default 7 days ({days} h)");
    // Disabled at once: the token is dead and sign-in is refused.
    assert_eq!(get(&s, "/api/v1/me", Some(&team.patient.token)).await.0, 401);
    let (status, refused) = sign_in(&s, &team.patient.username).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(delete(&s, &path, &admin.token).await.0, 409, "already scheduled");

    // The patient cancels with their password; a wrong one does nothing.
    let cancel = format!("{path}/erasure/cancel");
    let (status, _) = post(&s, &cancel, None, json!({"password": "not-my-password"})).await;
    assert_eq!(status, 401);
    let (status, body) = request(&s, reqwest::Method::POST, &cancel, None, None).await;
    assert_eq!(status, 401, "no token and no password: {body}");
    let unknown = "/api/v1/patients/no-such-id/erasure/cancel";
    assert_eq!(
        post(&s, unknown, None, json!({"password": PASSWORD})).await.0,
        401,
        "unknown ids look like wrong passwords"
    );
    let (status, body) = post(&s, &cancel, None, json!({"password": PASSWORD})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["erasure"]["status"], "cancelled");
    assert_eq!(post(&s, &cancel, None, json!({"password": PASSWORD})).await.0, 404, "nothing left to cancel");
    let again = login(&s, &team.patient.username).await;
    let (_, export) = get(&s, &format!("{path}/export"), Some(&again.token)).await;
    assert_eq!(export["conversations"][0]["messages"][0]["text"], "something I said", "nothing was erased");

    // An admin may schedule and cancel too; clinicians may not cancel.
    assert_eq!(delete(&s, &path, &admin.token).await.0, 202);
    assert_eq!(post(&s, &cancel, Some(&team.clinician.token), json!({})).await.0, 403);
    assert_eq!(post(&s, &cancel, Some(&admin.token), json!({})).await.0, 200);
    let (_, log) =
        get(&s, &format!("/api/v1/admin/audit?target=patient:{}", team.patient.id), Some(&admin.token)).await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "patient.erasure.cancel").count(), 2, "{actions:?}");
    assert!(!actions.contains(&"patient.erased"));
}

#[tokio::test]
async fn a_scheduled_erasure_is_carried_out_by_the_next_node_after_a_restart() {
    let dir = temp_dir("erasure-restart");
    let mut first = Server::start_in(&dir, &["--erasure-grace", "3s"], &[]);
    let admin = staff(&first, "Ada Admin", "admin").await;
    let team = care_team(&first).await;
    {
        let (mut ws, _) = Ws::hello(&first, &team.patient.token).await;
        chat(&mut ws, None, "words to be erased").await;
    }
    let (status, _) = delete(&first, &format!("/api/v1/patients/{}", team.patient.id), &team.patient.token).await;
    assert_eq!(status, 202);
    first.terminate();
    // The deadline is in the store: a restarted node's sweeper carries it out.
    let second = Server::start_in(&dir, &["--data-rights-sweep", "100ms"], &[]);
    let erased = eventually(Duration::from_secs(30), || async {
        let (_, log) =
            get(&second, &format!("/api/v1/admin/audit?target=patient:{}", team.patient.id), Some(&admin.token)).await;
        log["entries"].as_array()?.iter().any(|e| e["action"] == "patient.erased").then_some(())
    })
    .await;
    assert!(erased.is_some(), "the erasure was carried out after the restart");
    let (status, export) =
        get(&second, &format!("/api/v1/patients/{}/export", team.patient.id), Some(&admin.token)).await;
    assert_eq!(status, 200);
    assert_eq!(export["conversations"], json!([]));
    assert_ne!(export["patient"]["username"], team.patient.username.as_str());
}

/// The same behaviour on the CQL backend: export (JSON and a valid FHIR Bundle), erasure that
/// leaves nothing of the patient's text readable, its audit line, and an intact chain.
#[tokio::test]
async fn data_rights_on_the_cql_backend() {
    let Some(env) = cql_store_env() else { return };
    let env = env_refs(&env);
    let s = Server::start_in(&temp_dir("cql-rights"), &["--erasure-grace", "0"], &env);
    let admin = staff(&s, "Ada Admin", "admin").await;
    let (team, conversation) = patient_with_history(&s).await;
    let export_path = format!("/api/v1/patients/{}/export", team.patient.id);
    let (status, export) = get(&s, &export_path, Some(&admin.token)).await;
    assert_eq!(status, 200);
    assert_eq!(export["conversations"][0]["id"], conversation.as_str());
    assert_eq!(export["alerts"][0]["level"], "high");
    assert!(export["escalations"].is_array());
    let (status, fhir) =
        request(&s, reqwest::Method::GET, &format!("{export_path}?format=fhir"), Some(&team.patient.token), None).await;
    assert_eq!(status, 200);
    let out = fhir_validate(&fhir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    assert_eq!(delete(&s, &format!("/api/v1/patients/{}", team.patient.id), &team.patient.token).await.0, 204);
    let (status, _) = sign_in(&s, &team.patient.username).await;
    assert!(status == 401 || status == 403, "{status}");
    let (_, after) = get(&s, &export_path, Some(&admin.token)).await;
    assert_eq!(after["conversations"], json!([]));
    assert!(!after.to_string().contains(HIGH_RISK), "the alerts keep no quote of the patient");
    assert_eq!(after["alerts"][0]["excerpt"], "");
    let (_, history) =
        get(&s, &format!("/api/v1/conversations/{conversation}/messages"), Some(&team.clinician.token)).await;
    assert!(!history.to_string().contains(HIGH_RISK));
    let (_, log) =
        get(&s, &format!("/api/v1/admin/audit?target=patient:{}", team.patient.id), Some(&admin.token)).await;
    assert!(log["entries"].as_array().unwrap().iter().any(|e| e["action"] == "patient.erased"));
    let ok = s.cli(&["audit", "verify"], "");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));
}

/// Two nodes sharing one embedded store append to one chain: concurrent audited requests on both
/// leave a chain with no fork and no gap.
#[tokio::test]
async fn two_nodes_on_one_store_keep_one_unbroken_chain() {
    let dir = temp_dir("chain-two-nodes");
    let a = Server::start_in(&dir, &[], &[]);
    let b = Server::start_in(&dir, &[], &[]);
    let admin = staff(&a, "Ada Admin", "admin").await;
    let p = patient(&a, "Robin").await;
    let path = format!("/api/v1/patients/{}/export", p.id);
    let requests = (0..40).map(|i| {
        let (node, path, token) = (if i % 2 == 0 { &a } else { &b }, path.clone(), admin.token.clone());
        async move { get(node, &path, Some(&token)).await.0 }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (_, jsonl) =
        request(&a, reqwest::Method::GET, "/api/v1/admin/audit/export?format=jsonl", Some(&admin.token), None).await;
    let exports = jsonl.lines().filter(|l| l.contains("\"patient.export\"")).count();
    assert_eq!(exports, 40);
    let ok = a.cli(&["audit", "verify"], "");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}
