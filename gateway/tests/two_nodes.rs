//! Two gateway processes sharing one embedded store and a real `redis-server` (started here on a
//! free port): cross-node delivery, exactly-once escalation, node crash, Redis outage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

struct Redis {
    child: Option<Child>,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut r = Redis { child: None, port };
        r.restart();
        r
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server is required for the two-node tests (.ci/run installs it: apt-get install redis-server)",
            );
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Cluster {
    redis: Redis,
    a: Server,
    b: Server,
}

fn cluster(extra: &[&str]) -> Cluster {
    let redis = Redis::start();
    let dir = temp_dir("cluster");
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str()];
    args.extend_from_slice(extra);
    let a = Server::start_in(&dir, &args, &[]);
    let b = Server::start_in(&dir, &args, &[]);
    Cluster { redis, a, b }
}

/// Two gateways on the CQL node (`HEALING_TEST_SCYLLA`, one fresh keyspace) and a real Redis.
fn cluster_on_cql(extra: &[&str]) -> Option<Cluster> {
    let env = cql_store_env()?;
    let env = env_refs(&env);
    let redis = Redis::start();
    let dir = temp_dir("cql-cluster");
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str()];
    args.extend_from_slice(extra);
    let a = Server::start_in(&dir, &args, &env);
    let b = Server::start_in(&dir, &args, &env);
    Some(Cluster { redis, a, b })
}

async fn next_of_within(ws: &mut Ws, kind: &str, wait: Duration) -> Option<Value> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let f = ws.try_recv(left).await?;
        if f["type"] == kind {
            return Some(f);
        }
    }
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(json!({"type": "chat.send", "client_msg_id": uuid::Uuid::new_v4().to_string(), "text": text})).await;
}

#[tokio::test]
async fn alert_from_node_b_reaches_clinician_on_node_a_fast() {
    let c = cluster(&[]);
    let team = care_team(&c.a).await;
    let (mut clin, _) = Ws::hello(&c.a, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&c.b, &team.patient.token).await;
    // Presence is shared: the clinician on A counts as online for B, so no immediate escalation.
    let (mut sup, _) = Ws::hello(&c.b, &team.supervisor.token).await;
    let sent = Instant::now();
    send(&mut pat, HIGH_RISK).await;
    let alert = next_of(&mut clin, "alert").await;
    assert!(sent.elapsed() < Duration::from_secs(1), "cross-node alert took {:?}", sent.elapsed());
    assert_eq!(alert["alert"]["level"], "high");
    assert!(
        next_of_within(&mut sup, "escalation", Duration::from_millis(700)).await.is_none(),
        "escalated as if no clinician were online"
    );
    // The patient's own stream (same node) is unaffected; the history reads the same on both nodes.
    pat.recv_until("ai.end").await;
    let conv = alert["alert"]["conversation_id"].as_str().unwrap();
    let path = format!("/api/v1/conversations/{conv}/messages");
    let (_, from_a) = get(&c.a, &path, Some(&team.patient.token)).await;
    let (_, from_b) = get(&c.b, &path, Some(&team.patient.token)).await;
    assert_eq!(from_a, from_b);
    assert_eq!(from_a["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn escalation_reaches_supervisors_on_both_nodes_once_and_claims_cross_nodes() {
    let c = cluster(&["--ack-deadline-high", "1s", "--escalation-sweep", "100ms"]);
    let team = care_team(&c.a).await;
    let (_clin, _) = Ws::hello(&c.a, &team.clinician.token).await; // online, never acknowledges
    let (mut sup_a, _) = Ws::hello(&c.a, &team.supervisor.token).await;
    let (mut sup_b, _) = Ws::hello(&c.b, &team.supervisor.token).await;
    let (mut pat, _) = Ws::hello(&c.b, &team.patient.token).await;
    send(&mut pat, HIGH_RISK).await;
    let on_a = next_of(&mut sup_a, "escalation").await;
    let on_b = next_of(&mut sup_b, "escalation").await;
    assert_eq!(on_a["escalation"]["id"], on_b["escalation"]["id"]);
    assert_eq!(on_a["escalation"]["reason"], "ack_timeout");
    // Both sweepers kept running: still exactly one escalation frame each.
    assert!(next_of_within(&mut sup_a, "escalation", Duration::from_secs(2)).await.is_none(), "duplicate on A");
    assert!(next_of_within(&mut sup_b, "escalation", Duration::from_millis(200)).await.is_none(), "duplicate on B");
    let (_, listed) = get(&c.b, "/api/v1/escalations?status=open", Some(&team.supervisor.token)).await;
    assert_eq!(listed["escalations"].as_array().unwrap().len(), 1);

    sup_a.send(json!({"type": "escalation.claim", "escalation_id": on_a["escalation"]["id"]})).await;
    let claimed = next_of(&mut sup_b, "escalation.updated").await;
    assert_eq!(claimed["escalation"]["status"], "claimed");
    assert_eq!(claimed["escalation"]["claimed_by"], team.supervisor.id.as_str());
}

#[tokio::test]
async fn node_killed_after_raising_an_alert_loses_nothing_and_the_other_node_escalates() {
    let mut c = cluster(&["--ack-deadline-high", "2s", "--escalation-sweep", "100ms"]);
    let team = care_team(&c.a).await;
    let (mut clin, _) = Ws::hello(&c.b, &team.clinician.token).await;
    let (mut sup, _) = Ws::hello(&c.a, &team.supervisor.token).await;
    let (mut pat, _) = Ws::hello(&c.b, &team.patient.token).await;
    send(&mut pat, HIGH_RISK).await;
    let ack = next_of(&mut pat, "chat.ack").await;
    let alert = next_of(&mut clin, "alert").await;
    c.b.kill9();
    let esc = next_of(&mut sup, "escalation").await;
    assert_eq!(esc["escalation"]["alert"]["id"], alert["alert"]["id"]);
    let conv = ack["conversation_id"].as_str().unwrap();
    let (_, h) = get(&c.a, &format!("/api/v1/conversations/{conv}/messages"), Some(&team.patient.token)).await;
    assert_eq!(h["messages"][0]["id"], ack["message_id"], "the acknowledged message was lost");
}

#[tokio::test]
async fn redis_outage_keeps_chat_working_and_delivers_the_alert_when_it_returns() {
    let mut c = cluster(&[]);
    let team = care_team(&c.a).await;
    let (mut clin, _) = Ws::hello(&c.a, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&c.b, &team.patient.token).await;
    assert_eq!(get(&c.a, "/readyz", None).await.0, 200);

    c.redis.kill();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (a, b) = (get(&c.a, "/readyz", None).await.0, get(&c.b, "/readyz", None).await.0);
        if a == 503 && b == 503 {
            break;
        }
        assert!(Instant::now() < deadline, "readyz still {a}/{b} 5 s after Redis died");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Chat is still acknowledged during the outage.
    let frames = chat(&mut pat, None, "hello, is anyone there?").await;
    assert_eq!(frames[0]["type"], "chat.ack");
    assert_eq!(frames.last().unwrap()["finish"], "stop");
    // A high-risk message during the outage: stored, but it cannot cross nodes yet.
    send(&mut pat, HIGH_RISK).await;
    let ack = next_of(&mut pat, "chat.ack").await;
    assert!(next_of_within(&mut clin, "alert", Duration::from_millis(500)).await.is_none());

    c.redis.restart();
    let alert = next_of_within(&mut clin, "alert", Duration::from_secs(15))
        .await
        .expect("alert never arrived after Redis returned");
    assert_eq!(alert["alert"]["message_id"], ack["message_id"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&c.a, "/readyz", None).await.0 != 200 {
        assert!(Instant::now() < deadline, "readyz did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `/readyz` answers `status`; returns its body.
async fn readiness_becomes(s: &Server, status: u16, within: Duration) -> Value {
    eventually(within, || async {
        let (got, body) = get(s, "/readyz", None).await;
        (got == status).then_some(body)
    })
    .await
    .unwrap_or_else(|| panic!("/readyz did not answer {status} within {within:?}"))
}

#[tokio::test]
async fn nodes_started_while_redis_is_down_serve_chat_and_join_up_when_it_starts() {
    // A port for Redis, but no Redis on it yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://127.0.0.1:{port}");
    let dir = temp_dir("degraded");
    let a = Server::start_in(&dir, &["--redis-url", &url], &[]);
    let b = Server::start_in(&dir, &["--redis-url", &url], &[]);
    let team = care_team(&a).await;

    // Not ready, and saying why.
    let (status, body) = get(&a, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["bus"]["status"], "error", "{body}");
    assert!(body["reason"].as_str().unwrap_or("").contains("redis"), "{body}");

    // Chat and alerts work on one node.
    let (mut clin_a, _) = Ws::hello(&a, &team.clinician.token).await;
    let (mut clin_b, _) = Ws::hello(&b, &team.clinician.token).await;
    let (mut pat, _) = Ws::hello(&a, &team.patient.token).await;
    let frames = chat(&mut pat, None, "hello, is anyone there?").await;
    assert_eq!(frames[0]["type"], "chat.ack");
    assert_eq!(frames.last().unwrap()["finish"], "stop");
    send(&mut pat, HIGH_RISK).await;
    let ack = next_of(&mut pat, "chat.ack").await;
    let local = next_of(&mut clin_a, "alert").await;
    assert_eq!(local["alert"]["message_id"], ack["message_id"]);

    // Redis starts: both nodes become ready, and the node that missed the alert re-sends it to
    // its staff from the store.
    let mut redis = Redis { child: None, port };
    redis.restart();
    readiness_becomes(&a, 200, Duration::from_secs(20)).await;
    readiness_becomes(&b, 200, Duration::from_secs(20)).await;
    let resent = next_of_within(&mut clin_b, "alert", Duration::from_secs(15))
        .await
        .expect("the alert raised during the outage never reached the clinician's other node");
    assert_eq!(resent["alert"]["id"], local["alert"]["id"]);

    // From now on frames cross nodes: acknowledging on B updates the clinician's tab on A.
    clin_b.send(json!({"type": "alert.ack", "alert_id": local["alert"]["id"]})).await;
    assert_eq!(next_of(&mut clin_a, "alert.updated").await["alert"]["status"], "acknowledged");
}

/// The cross-node tests on the production store: two gateways on one CQL keyspace. An alert
/// raised on B reaches the clinician on A at once; nobody acknowledges, so it escalates exactly
/// once although both nodes sweep; the supervisor's claim on A reaches B; history reads the same
/// on both nodes.
#[tokio::test]
async fn on_cql_an_alert_crosses_nodes_escalates_once_and_a_claim_crosses_back() {
    let Some(c) = cluster_on_cql(&["--ack-deadline-high", "2s", "--escalation-sweep", "100ms"]) else { return };
    let team = care_team(&c.a).await;
    let (mut clin, _) = Ws::hello(&c.a, &team.clinician.token).await; // online, never acknowledges
    let (mut sup_a, _) = Ws::hello(&c.a, &team.supervisor.token).await;
    let (mut sup_b, _) = Ws::hello(&c.b, &team.supervisor.token).await;
    let (mut pat, _) = Ws::hello(&c.b, &team.patient.token).await;
    let sent = Instant::now();
    send(&mut pat, HIGH_RISK).await;
    let ack = next_of(&mut pat, "chat.ack").await;
    let alert = next_of(&mut clin, "alert").await;
    assert!(sent.elapsed() < Duration::from_secs(2), "cross-node alert took {:?}", sent.elapsed());
    assert_eq!(alert["alert"]["message_id"], ack["message_id"]);

    let on_a = next_of(&mut sup_a, "escalation").await;
    let on_b = next_of(&mut sup_b, "escalation").await;
    assert_eq!(on_a["escalation"]["id"], on_b["escalation"]["id"]);
    assert_eq!(on_a["escalation"]["alert"]["id"], alert["alert"]["id"]);
    assert!(next_of_within(&mut sup_a, "escalation", Duration::from_secs(2)).await.is_none(), "duplicate on A");
    assert!(next_of_within(&mut sup_b, "escalation", Duration::from_millis(200)).await.is_none(), "duplicate on B");
    let (_, listed) = get(&c.b, "/api/v1/escalations?status=open", Some(&team.supervisor.token)).await;
    assert_eq!(listed["escalations"].as_array().unwrap().len(), 1, "{listed}");

    sup_a.send(json!({"type": "escalation.claim", "escalation_id": on_a["escalation"]["id"]})).await;
    let claimed = next_of(&mut sup_b, "escalation.updated").await;
    assert_eq!(claimed["escalation"]["status"], "claimed");

    pat.recv_until("ai.end").await;
    let conv = ack["conversation_id"].as_str().unwrap();
    let path = format!("/api/v1/conversations/{conv}/messages");
    let (_, from_a) = get(&c.a, &path, Some(&team.patient.token)).await;
    let (_, from_b) = get(&c.b, &path, Some(&team.patient.token)).await;
    assert_eq!(from_a, from_b);
    assert_eq!(from_a["messages"].as_array().unwrap().len(), 2, "{from_a}");
}

/// Contract §4.1 across nodes: a logout or a disable on node A closes the sockets on node B too
/// (through the Redis bus), and a disabled user cannot sign in on either.
#[tokio::test]
async fn logout_and_disable_on_one_node_close_sockets_on_the_other() {
    cut_off_across_nodes(&cluster(&[])).await;
}

/// The same on the CQL backend (tokens, account state and revocation in Cassandra/ScyllaDB).
#[tokio::test]
async fn on_cql_logout_and_disable_on_one_node_close_sockets_on_the_other() {
    let Some(c) = cluster_on_cql(&[]) else { return };
    cut_off_across_nodes(&c).await;
}

async fn cut_off_across_nodes(c: &Cluster) {
    let admin = staff(&c.a, "Ada", "admin").await;
    let pat = patient(&c.a, "Robin").await;
    // Node B holds the patient's socket; a reply streamed from node A reaching it shows B is
    // subscribed to the patient's channel before anything is revoked.
    let (mut on_a, _) = Ws::hello(&c.a, &pat.token).await;
    let (mut on_b, _) = Ws::hello(&c.b, &pat.token).await;
    send(&mut on_a, "hello there").await;
    assert!(next_of_within(&mut on_b, "ai.end", Duration::from_secs(20)).await.is_some(), "B never saw A's reply");

    let r = http().post(c.a.url("/api/v1/auth/logout")).bearer_auth(&pat.token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(on_a.closed().await, Closed::Code(4401));
    assert_eq!(on_b.closed().await, Closed::Code(4401), "node B kept a logged-out socket open");

    let again = login(&c.b, &pat.username).await;
    let (mut on_a, _) = Ws::hello(&c.a, &again.token).await;
    let (mut on_b, _) = Ws::hello(&c.b, &again.token).await;
    send(&mut on_a, "still here").await;
    assert!(next_of_within(&mut on_b, "ai.end", Duration::from_secs(20)).await.is_some());
    let r = http()
        .post(c.a.url(&format!("/api/v1/admin/users/{}/disable", pat.id)))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(on_a.closed().await, Closed::Code(4403));
    assert_eq!(on_b.closed().await, Closed::Code(4403), "node B kept a disabled user's socket open");
    let (status, _) =
        post(&c.b, "/api/v1/auth/login", None, json!({"username": pat.username, "password": PASSWORD})).await;
    assert_eq!(status, 403);
}
