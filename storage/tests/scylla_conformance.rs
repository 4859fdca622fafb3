//! The conformance suite against a CQL node (ScyllaDB >= 6 or Apache Cassandra 5), plus what
//! only a shared cluster can show: two stores (two gateway nodes) racing on one keyspace.
//!
//! Needs a node: `HEALING_TEST_SCYLLA=127.0.0.1:19042` (comma-separated for several);
//! `scripts/cql-node.sh start` runs one and prints its address, and `scripts/test.sh` does that
//! for CI. Each test uses a fresh random keyspace `healing_test_<uuid>` and drops it when it
//! passes. Without the variable every test prints `skipped: HEALING_TEST_SCYLLA not set (see
//! README)` and returns — except under `CI=true` or `HEALING_TEST_SCYLLA_REQUIRED=1`, where a
//! missing variable fails the test, as does a node that cannot be reached. See docs/scylla.md.
#![cfg(feature = "scylla")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use healing_protocol::{Author, Role};
use healing_storage::scylla::{Fault, ScyllaConfig, ScyllaStore};
use healing_storage::{NewMessage, NewUser, Store};

const SKIP: &str = "skipped: HEALING_TEST_SCYLLA not set (see README)";

/// Whether a missing node is a failure: in CI, or when asked for.
fn node_required() -> bool {
    let on = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    on("CI") || on("HEALING_TEST_SCYLLA_REQUIRED")
}

fn config(keyspace: &str) -> Option<ScyllaConfig> {
    let Some(nodes) = std::env::var("HEALING_TEST_SCYLLA").ok().filter(|v| !v.trim().is_empty()) else {
        assert!(
            !node_required(),
            "HEALING_TEST_SCYLLA is not set, and CI=true or HEALING_TEST_SCYLLA_REQUIRED=1 says these tests \
             must run: start a node with `scripts/cql-node.sh start` and export its address"
        );
        return None;
    };
    Some(ScyllaConfig {
        nodes: nodes.split(',').map(|n| n.trim().to_owned()).collect(),
        keyspace: keyspace.to_owned(),
        ..ScyllaConfig::default()
    })
}

fn random_keyspace() -> String {
    format!("healing_test_{}", uuid::Uuid::new_v4().simple())
}

async fn fresh() -> Option<Arc<ScyllaStore>> {
    let Some(cfg) = config(&random_keyspace()) else {
        println!("{SKIP}");
        return None;
    };
    Some(Arc::new(ScyllaStore::connect_async(cfg).await.expect("cannot connect to HEALING_TEST_SCYLLA")))
}

async fn teardown(store: Arc<ScyllaStore>) {
    if let Err(e) = store.drop_keyspace().await {
        eprintln!("could not drop keyspace {}: {e}", store.keyspace());
    }
}

healing_storage::conformance_tests!(optional: fresh, teardown: teardown);

/// Two nodes start together on a new keyspace (racing the migrations), then append to one
/// conversation concurrently: seqs stay unique and gap-free across nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_gapless_seq() {
    let keyspace = random_keyspace();
    let Some(cfg) = config(&keyspace) else {
        println!("{SKIP}");
        return;
    };
    let (a, b) = tokio::join!(ScyllaStore::connect_async(cfg.clone()), ScyllaStore::connect_async(cfg));
    let (a, b): (Arc<dyn Store>, Arc<dyn Store>) = (Arc::new(a.unwrap()), Arc::new(b.unwrap()));
    let p = a
        .create_user(NewUser {
            username: "two-nodes".into(),
            password_hash: "h".into(),
            role: Role::Patient,
            display_name: "T".into(),
        })
        .await
        .unwrap();
    let msg = |conv: Option<&str>, key: String| NewMessage {
        id: None,
        patient_id: p.id.clone(),
        conversation_id: conv.map(str::to_owned),
        client_msg_id: Some(key),
        author: Author::Patient,
        text: "x".into(),
        risk: None,
        finish: None,
        meta: None,
    };
    let conv = a.append_message(msg(None, "k0".into())).await.unwrap().message.conversation_id;
    let mut tasks = Vec::new();
    for i in 1..=40 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let m = msg(Some(&conv), format!("k{i}"));
        // Every message is also sent twice, once per node, as a client retry would.
        let other = if i % 2 == 0 { b.clone() } else { a.clone() };
        let dup = m.clone();
        tasks.push(tokio::spawn(async move { node.append_message(m).await.unwrap() }));
        tasks.push(tokio::spawn(async move { other.append_message(dup).await.unwrap() }));
    }
    let mut stored = 0;
    for t in tasks {
        if !t.await.unwrap().duplicate {
            stored += 1;
        }
    }
    assert_eq!(stored, 40, "each client_msg_id is stored exactly once");
    let history = b.messages(&conv, None, 100).await.unwrap();
    assert_eq!(history.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=41).collect::<Vec<i64>>());
    let a_concrete = ScyllaStore::connect_async(config(&keyspace).unwrap()).await.unwrap();
    a_concrete.drop_keyspace().await.unwrap();
}

/// The store can be created and dropped inside a current-thread runtime (as under actix).
#[tokio::test(flavor = "current_thread")]
async fn works_from_a_current_thread_runtime() {
    let Some(store) = fresh().await else { return };
    store.ping().await.unwrap();
    assert!(store.user("nobody").await.unwrap().is_none());
    teardown(store.clone()).await;
    drop(store);
}

/// Polls `check` until it holds (10 s at most).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A send whose seq was taken but whose row writes then failed is acknowledged, not failed: an
/// error would make the client's retry a `duplicate` that nobody screens or answers. The message
/// is in the history at once, its rows follow in the background, and the retry is the same
/// message, reported as a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_the_seq_is_taken_still_acknowledges_the_send() {
    let Some(store) = fresh().await else { return };
    let p = store
        .create_user(NewUser {
            username: "after-cas".into(),
            password_hash: "h".into(),
            role: Role::Patient,
            display_name: "A".into(),
        })
        .await
        .unwrap();
    let msg = |conv: Option<&str>| NewMessage {
        id: None,
        patient_id: p.id.clone(),
        conversation_id: conv.map(str::to_owned),
        client_msg_id: Some("k1".into()),
        author: Author::Patient,
        text: "I can't cope tonight".into(),
        risk: None,
        finish: None,
        meta: None,
    };
    store.inject_fault(Fault::RowWrites, true);
    let sent = store.append_message(msg(None)).await.expect("a send whose seq is taken must succeed");
    assert!(!sent.duplicate && sent.new_conversation && sent.message.seq == 1);
    let conv = sent.message.conversation_id.clone();
    assert!(store.message(&sent.message.id).await.unwrap().is_none(), "the injected fault did not hit the rows");
    let history = store.messages(&conv, None, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|m| &m.id).collect::<Vec<_>>(),
        vec![&sent.message.id],
        "served from the conversation row"
    );

    store.inject_fault(Fault::RowWrites, false);
    let id = sent.message.id.clone();
    eventually("the message's rows are written", || async { store.message(&id).await.unwrap().is_some() }).await;
    let retry = store.append_message(msg(None)).await.unwrap();
    assert!(retry.duplicate, "the retry is the same message");
    assert_eq!((retry.message.id.as_str(), retry.message.seq), (id.as_str(), 1));
    teardown(store).await;
}

/// An escalation whose compare-and-set answer was lost is not deleted while that CAS may still
/// apply: the call reports the failure (the sweeper tries again), and when the CAS lands the
/// alert names an escalation that exists and that its supervisor sees. (Deleting the rows here
/// left the alert `escalated` pointing at nothing, shown to no supervisor.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_whose_answer_was_lost_is_kept_for_the_supervisor() {
    use healing_protocol::{AlertStatus, EscalationReason};
    use healing_storage::conformance::{alert_for, care_team, patient_msg};
    use healing_storage::{EscalationQuery, StoreError};
    let Some(store) = fresh().await else { return };
    let dyn_store: Arc<dyn Store> = store.clone();
    let (p, _clinician, sup) = care_team(&dyn_store).await;
    let m = store.append_message(patient_msg(&p, None, "e1", "risky")).await.unwrap().message;
    let alert = alert_for(&p, &m.id, &m.conversation_id, chrono::Duration::seconds(-1));
    let alert = store.raise_alert(alert).await.unwrap().alert;
    let escalation_id = uuid::Uuid::new_v4().to_string();

    store.inject_fault(Fault::LateEscalation, true);
    let r = store.escalate_alert(&alert.id, &escalation_id, EscalationReason::AckTimeout, chrono::Utc::now()).await;
    store.inject_fault(Fault::LateEscalation, false);
    assert!(
        matches!(r, Err(StoreError::Unavailable(_))),
        "an unknown outcome must be reported, not taken as lost: {r:?}"
    );

    let id = alert.id.clone();
    eventually("the late CAS escalates the alert", || async {
        store.alert(&id).await.unwrap().is_some_and(|a| a.status == AlertStatus::Escalated)
    })
    .await;
    let escalation = store.escalation(&escalation_id).await.unwrap().expect("the escalation the alert names exists");
    assert_eq!(escalation.alert.id, alert.id);
    let queue = store
        .escalations(EscalationQuery { supervisor_id: Some(sup.id.clone()), limit: 10, ..EscalationQuery::default() })
        .await
        .unwrap();
    assert_eq!(queue.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec![escalation_id.as_str()]);
    teardown(store).await;
}
