//! REST contract (PROTOCOL §1): accounts, roles, relationships and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn health_and_readiness_answer_on_embedded_defaults() {
    let s = Server::start(&[]);
    assert_eq!(get(&s, "/healthz", None).await.0, 200);
    let (status, body) = get(&s, "/readyz", None).await;
    assert_eq!(status, 200, "{body}");
    let metrics = http().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("healing_ws_connections"), "{metrics}");
}

#[tokio::test]
async fn register_login_me_logout() {
    let s = Server::start(&[]);
    let body = json!({"username": "amira", "password": PASSWORD, "display_name": "Amira"});
    let (status, created) = post(&s, "/api/v1/auth/register", None, body.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(created["user"]["role"], "patient");
    assert!(created["user"].get("password_hash").is_none());
    assert_eq!(post(&s, "/api/v1/auth/register", None, body).await.0, 409, "duplicate username");
    let upper = json!({"username": "AMIRA", "password": PASSWORD});
    assert_eq!(post(&s, "/api/v1/auth/register", None, upper).await.0, 409, "usernames ignore case");

    let wrong = json!({"username": "amira", "password": "not-the-password"});
    let (status, err) = post(&s, "/api/v1/auth/login", None, wrong).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], "unauthorized");

    let me = login(&s, "amira").await;
    assert!(me.token.len() >= 32, "token must carry at least 128 bits");
    let (status, body) = get(&s, "/api/v1/me", Some(&me.token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["role"], "patient");
    assert_eq!(body["user"]["display_name"], "Amira");

    let r = http().post(s.url("/api/v1/auth/logout")).bearer_auth(&me.token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get(&s, "/api/v1/me", Some(&me.token)).await.0, 401, "a revoked token still works");
    assert_eq!(get(&s, "/api/v1/me", None).await.0, 401);
    assert_eq!(get(&s, "/api/v1/me", Some("garbage")).await.0, 401);
}

#[tokio::test]
async fn register_can_never_create_staff_and_validates_input() {
    let s = Server::start(&[]);
    let sneaky = json!({"username": "sneaky", "password": PASSWORD, "role": "admin"});
    let (status, body) = post(&s, "/api/v1/auth/register", None, sneaky).await;
    assert_eq!(status, 201);
    assert_eq!(body["user"]["role"], "patient");
    let short = json!({"username": "shorty", "password": "123"});
    assert_eq!(post(&s, "/api/v1/auth/register", None, short).await.0, 400);
    let missing = json!({"username": "nopass"});
    let (status, body) = post(&s, "/api/v1/auth/register", None, missing).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_request");
    let r = http()
        .post(s.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let huge = "x".repeat(200_000);
    let r = http()
        .post(s.url("/api/v1/auth/register"))
        .json(&json!({"username": "big", "password": huge}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(get(&s, "/healthz", None).await.0, 200);
}

#[tokio::test]
async fn failed_logins_are_rate_limited_with_retry_after() {
    let s = Server::start(&["--login-attempts-per-minute", "3"]);
    patient(&s, "target").await;
    let mut limited = None;
    for _ in 0..6 {
        let r = http()
            .post(s.url("/api/v1/auth/login"))
            .json(&json!({"username": "whoever", "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 401);
    }
    let r = limited.expect("never rate limited");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn admin_endpoints_check_role_and_build_caseloads() {
    let s = Server::start(&[]);
    let admin = staff(&s, "Ada", "admin").await;
    let p = patient(&s, "Pat").await;
    let body = json!({"username": "dr-who", "password": PASSWORD, "role": "clinician", "display_name": "Dr Who"});
    assert_eq!(post(&s, "/api/v1/admin/users", Some(&p.token), body.clone()).await.0, 403, "patient made staff");
    let (status, created) = post(&s, "/api/v1/admin/users", Some(&admin.token), body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["user"]["role"], "clinician");
    let clin_id = created["user"]["id"].as_str().unwrap().to_owned();
    let bad_role = json!({"username": "x-y-z", "password": PASSWORD, "role": "god"});
    assert_eq!(post(&s, "/api/v1/admin/users", Some(&admin.token), bad_role).await.0, 400);

    let assign = json!({"clinician_id": clin_id, "patient_id": p.id});
    assert_eq!(post(&s, "/api/v1/admin/assignments", Some(&p.token), assign.clone()).await.0, 403);
    assert_eq!(post(&s, "/api/v1/admin/assignments", Some(&admin.token), assign).await.0, 204);
    let backwards = json!({"clinician_id": p.id, "patient_id": clin_id});
    assert_eq!(post(&s, "/api/v1/admin/assignments", Some(&admin.token), backwards).await.0, 400);

    let sup = staff(&s, "Sue", "supervisor").await;
    let team = json!({"supervisor_id": sup.id, "clinician_id": clin_id});
    assert_eq!(post(&s, "/api/v1/admin/teams", Some(&admin.token), team).await.0, 204);
}

#[tokio::test]
async fn conversations_are_visible_only_to_owner_and_care_team() {
    let s = Server::start(&[]);
    let owner = patient(&s, "Owner").await;
    let other = patient(&s, "Other").await;
    let clinician = staff(&s, "Carer", "clinician").await;
    let stranger = staff(&s, "Stranger", "clinician").await;
    let supervisor = staff(&s, "Boss", "supervisor").await;
    let other_sup = staff(&s, "OtherBoss", "supervisor").await;
    assert!(s.cli(&["assign", "--clinician", &clinician.username, "--patient", &owner.username], "").status.success());
    assert!(
        s.cli(&["team", "--supervisor", &supervisor.username, "--clinician", &clinician.username], "").status.success()
    );

    let (mut ws, _) = Ws::hello(&s, &owner.token).await;
    let frames = chat(&mut ws, None, "hello there").await;
    let conv = frames[0]["conversation_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/conversations/{conv}/messages");

    let (status, list) = get(&s, "/api/v1/conversations", Some(&owner.token)).await;
    assert_eq!(status, 200);
    assert_eq!(list["conversations"][0]["id"], conv.as_str());
    let (_, theirs) = get(&s, "/api/v1/conversations", Some(&other.token)).await;
    assert_eq!(theirs["conversations"].as_array().unwrap().len(), 0);

    assert_eq!(get(&s, &path, Some(&owner.token)).await.0, 200);
    assert_eq!(get(&s, &path, Some(&clinician.token)).await.0, 200);
    assert_eq!(get(&s, &path, Some(&supervisor.token)).await.0, 200);
    for (who, token) in
        [("other patient", &other.token), ("stranger", &stranger.token), ("other supervisor", &other_sup.token)]
    {
        let (status, body) = get(&s, &path, Some(token)).await;
        assert_eq!(status, 404, "{who} read the conversation");
        assert!(!body.to_string().contains("hello there"), "{who} saw message text");
    }
    assert_eq!(get(&s, &path, None).await.0, 401);
    assert_eq!(get(&s, "/api/v1/conversations/does-not-exist/messages", Some(&owner.token)).await.0, 404);
    assert_eq!(get(&s, &format!("{path}?limit=1000"), Some(&owner.token)).await.0, 400);
    assert_eq!(get(&s, &format!("{path}?limit=abc"), Some(&owner.token)).await.0, 400);
}
