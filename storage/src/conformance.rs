//! The conformance suite: behaviour every [`Store`] backend must show. Each case takes a fresh,
//! empty store. Backends run it from their own tests (see `tests/sqlite_conformance.rs`) with the
//! [`conformance_tests!`](crate::conformance_tests) macro, so a new backend gets every case.
//!
//! This module is test code shipped in the library so other crates' tests can use it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use healing_protocol::{
    Alert, AlertStatus, Author, EscalationReason, EscalationStatus, Followup, FollowupStatus, Message, RiskLevel, Role,
    User,
};

use crate::StoreError;
use crate::store::*;

/// Generates one `#[tokio::test]` per conformance case.
///
/// - `conformance_tests!(factory)`: each case calls `factory().await` for a fresh
///   `Arc<dyn Store>`.
/// - `conformance_tests!(optional: factory, teardown: teardown)`: for backends that need an
///   external server. `factory().await` returns `Option<Arc<S>>` (`S: Store`); `None` skips the
///   case (the factory says why). After a case passes, `teardown(store).await` cleans up.
#[macro_export]
macro_rules! conformance_tests {
    (@all ($($head:tt)*)) => {
        $crate::conformance_tests!($($head)*;
            users_are_unique_case_insensitively, tokens_expire_and_revoke, relationships_gate_viewing,
            messages_get_gapless_seqs, client_msg_id_is_idempotent, concurrent_sends_never_share_a_seq,
            conversations_are_private, conversation_cap_refuses_and_stores_nothing, history_pages_backwards, alerts_transition_once, raising_an_alert_again_stores_it_once,
            escalation_happens_once_under_races, escalations_claim_and_resolve, audit_log_appends,
            closed_alerts_never_hide_an_open_one, escalation_lists_filter_and_page,
            duty_supervisors_cover_patients_with_no_care_team,
            risk_episodes_take_later_messages, concurrent_risk_opens_one_episode, patient_pause_covers_new_conversations,
            unscreened_patient_messages_are_listed_until_screened,
            lookalike_usernames_are_refused, disabling_revokes_every_token,
            audit_entries_form_one_verified_chain, erasure_is_scheduled_cancelled_and_carried_out,
            followups_are_done_or_missed_once, missed_followups_escalate_once_under_races);
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $factory().await;
                $crate::conformance::$case(store).await;
            }
        )*
    };
    (@optional $factory:path, $teardown:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(fixture) = $factory().await else { return };
                let store: ::std::sync::Arc<dyn $crate::Store> = fixture.clone();
                $crate::conformance::$case(store).await;
                $teardown(fixture).await;
            }
        )*
    };
    (optional: $factory:path, teardown: $teardown:path) => {
        $crate::conformance_tests!(@all (@optional $factory, $teardown));
    };
    ($factory:path) => {
        $crate::conformance_tests!(@all (@cases $factory));
    };
}

async fn user(s: &Arc<dyn Store>, name: &str, role: Role) -> User {
    s.create_user(NewUser {
        username: name.into(),
        password_hash: "$argon2id$fake".into(),
        role,
        display_name: format!("{name} display"),
    })
    .await
    .unwrap()
}

/// A patient message with a client id.
pub fn patient_msg(patient: &User, conversation: Option<&str>, client_id: &str, text: &str) -> NewMessage {
    NewMessage {
        id: None,
        patient_id: patient.id.clone(),
        conversation_id: conversation.map(str::to_owned),
        client_msg_id: Some(client_id.into()),
        author: Author::Patient,
        text: text.into(),
        risk: None,
        finish: None,
        meta: None,
    }
}

/// An open high alert on a message, due `deadline_in` from now (for backend-specific tests too).
pub fn alert_for(patient: &User, message_id: &str, conversation_id: &str, deadline_in: Duration) -> Alert {
    let now = Utc::now();
    Alert {
        id: uuid::Uuid::new_v4().to_string(),
        patient_id: patient.id.clone(),
        patient_name: String::new(),
        conversation_id: conversation_id.into(),
        message_id: message_id.into(),
        level: RiskLevel::High,
        score: 0.9,
        reasons: vec!["C-SSRS 4: intent".into()],
        excerpt: "excerpt".into(),
        status: AlertStatus::Open,
        created_at: now,
        ack_deadline: Some(now + deadline_in),
        acknowledged_by: None,
        acknowledged_at: None,
        note: None,
        message_ids: vec![message_id.into()],
        updated_at: Some(now),
    }
}

/// A patient with a clinician, and that clinician on a supervisor's team.
pub async fn care_team(s: &Arc<dyn Store>) -> (User, User, User) {
    let p = user(s, &format!("p-{}", uuid::Uuid::new_v4()), Role::Patient).await;
    let c = user(s, &format!("c-{}", uuid::Uuid::new_v4()), Role::Clinician).await;
    let sup = user(s, &format!("s-{}", uuid::Uuid::new_v4()), Role::Supervisor).await;
    s.assign(&c.id, &p.id).await.unwrap();
    s.add_to_team(&sup.id, &c.id).await.unwrap();
    (p, c, sup)
}

pub async fn users_are_unique_case_insensitively(s: Arc<dyn Store>) {
    let alice = user(&s, "Alice", Role::Patient).await;
    let again = s
        .create_user(NewUser {
            username: "alice".into(),
            password_hash: "x".into(),
            role: Role::Admin,
            display_name: "x".into(),
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let creds = s.credentials("ALICE").await.unwrap().unwrap();
    assert_eq!(creds.user, alice);
    assert_eq!(creds.password_hash, "$argon2id$fake");
    assert_eq!(s.user(&alice.id).await.unwrap().unwrap().role, Role::Patient);
    assert!(s.user("nobody").await.unwrap().is_none());
}

pub async fn tokens_expire_and_revoke(s: Arc<dyn Store>) {
    let u = user(&s, "tok", Role::Clinician).await;
    let now = Utc::now();
    s.insert_token("h-live", &u.id, now + Duration::hours(1)).await.unwrap();
    s.insert_token("h-old", &u.id, now - Duration::seconds(1)).await.unwrap();
    assert_eq!(s.user_for_token("h-live", now).await.unwrap().unwrap().id, u.id);
    assert!(s.user_for_token("h-old", now).await.unwrap().is_none(), "expired token accepted");
    assert!(s.user_for_token("h-unknown", now).await.unwrap().is_none());
    s.revoke_token("h-live", now).await.unwrap();
    assert!(s.user_for_token("h-live", now).await.unwrap().is_none(), "revoked token accepted");
}

pub async fn lookalike_usernames_are_refused(s: Arc<dyn Store>) {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let original = user(&s, &format!("admin{tag}"), Role::Admin).await;
    let attempt = |name: String| {
        let s = s.clone();
        async move {
            s.create_user(NewUser {
                username: name,
                password_hash: "x".into(),
                role: Role::Patient,
                display_name: "x".into(),
            })
            .await
        }
    };
    // Cyrillic а, and fullwidth letters: lookalikes of the existing name.
    for lookalike in [format!("\u{0430}dmin{tag}"), format!("ａｄｍｉｎ{tag}")] {
        match attempt(lookalike.clone()).await {
            Err(StoreError::Conflict(m)) => assert!(m.contains("taken") || m.contains("looks like"), "{m}"),
            other => panic!("{lookalike:?} was not refused: {other:?}"),
        }
    }
    // The refused names left nothing behind: the original still signs in, a different name works.
    assert_eq!(s.credentials(&format!("ADMIN{tag}")).await.unwrap().unwrap().user.id, original.id);
    assert!(attempt(format!("alice{tag}")).await.is_ok());
}

pub async fn disabling_revokes_every_token(s: Arc<dyn Store>) {
    let u = user(&s, &format!("off-{}", uuid::Uuid::new_v4()), Role::Clinician).await;
    let now = Utc::now();
    let (a, b) = (format!("ha-{}", u.id), format!("hb-{}", u.id));
    s.insert_token(&a, &u.id, now + Duration::hours(1)).await.unwrap();
    s.insert_token(&b, &u.id, now + Duration::hours(2)).await.unwrap();
    let session = s.token_session(&b, Utc::now()).await.unwrap().unwrap();
    assert_eq!(session.user.id, u.id);
    assert_eq!(session.expires_at.timestamp_millis(), (now + Duration::hours(2)).timestamp_millis());
    assert!(!s.user_disabled(&u.id).await.unwrap());
    // Tokens issued in the same millisecond as the disable would be ambiguous on a backend that
    // compares issue times; real ones are seconds apart.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.set_user_disabled(&u.id, true).await.unwrap();
    assert!(s.user_disabled(&u.id).await.unwrap());
    assert!(s.credentials(&u.username).await.unwrap().unwrap().disabled);
    for h in [&a, &b] {
        assert!(s.user_for_token(h, Utc::now()).await.unwrap().is_none(), "a disabled account's token works");
    }
    s.set_user_disabled(&u.id, false).await.unwrap();
    assert!(!s.credentials(&u.username).await.unwrap().unwrap().disabled);
    assert!(s.token_session(&a, Utc::now()).await.unwrap().is_none(), "enabling brought a revoked token back");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.insert_token(&format!("hc-{}", u.id), &u.id, Utc::now() + Duration::hours(1)).await.unwrap();
    assert!(s.user_for_token(&format!("hc-{}", u.id), Utc::now()).await.unwrap().is_some(), "new sign-in refused");
    assert!(matches!(s.set_user_disabled("nobody", true).await, Err(StoreError::NotFound)));
}

pub async fn relationships_gate_viewing(s: Arc<dyn Store>) {
    let (p, c, sup) = care_team(&s).await;
    let other_p = user(&s, "other-patient", Role::Patient).await;
    let other_c = user(&s, "other-clinician", Role::Clinician).await;
    let other_sup = user(&s, "other-supervisor", Role::Supervisor).await;
    assert!(s.can_view_patient(&p, &p.id).await.unwrap());
    assert!(!s.can_view_patient(&other_p, &p.id).await.unwrap());
    assert!(s.can_view_patient(&c, &p.id).await.unwrap());
    assert!(!s.can_view_patient(&other_c, &p.id).await.unwrap());
    assert!(s.can_view_patient(&sup, &p.id).await.unwrap());
    assert!(!s.can_view_patient(&other_sup, &p.id).await.unwrap());
    assert_eq!(s.clinicians_of(&p.id).await.unwrap(), vec![c.id.clone()]);
    assert_eq!(s.supervisors_of(&p.id).await.unwrap(), vec![sup.id.clone()]);
    assert_eq!(s.caseload(&c.id).await.unwrap(), vec![p.clone()]);
    // Wrong roles are refused.
    assert!(matches!(s.assign(&p.id, &c.id).await, Err(StoreError::Invalid(_))));
    assert!(matches!(s.add_to_team(&c.id, &sup.id).await, Err(StoreError::Invalid(_))));
    // Idempotent.
    s.assign(&c.id, &p.id).await.unwrap();
    assert_eq!(s.clinicians_of(&p.id).await.unwrap().len(), 1);
}

pub async fn messages_get_gapless_seqs(s: Arc<dyn Store>) {
    let p = user(&s, "seq", Role::Patient).await;
    let first = s.append_message(patient_msg(&p, None, "m1", "hello")).await.unwrap();
    assert!(first.new_conversation && !first.duplicate);
    assert_eq!(first.message.seq, 1);
    let conv = first.message.conversation_id.clone();
    let reply = s
        .append_message(NewMessage {
            id: Some("ai-1".into()),
            patient_id: p.id.clone(),
            conversation_id: Some(conv.clone()),
            client_msg_id: None,
            author: Author::Ai,
            text: "hi there".into(),
            risk: None,
            finish: Some("stop".into()),
            meta: Some(serde_json::json!({"provider": "offline"})),
        })
        .await
        .unwrap();
    assert_eq!((reply.message.seq, reply.message.id.as_str()), (2, "ai-1"));
    let history = s.messages(&conv, None, 50).await.unwrap();
    assert_eq!(history.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(history[1].finish.as_deref(), Some("stop"));
    assert_eq!(history[1].meta.as_ref().unwrap()["provider"], "offline");
    assert_eq!(s.message("ai-1").await.unwrap().unwrap().text, "hi there");
    let convs = s.conversations_of(&p.id).await.unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(s.conversation(&conv).await.unwrap().unwrap().patient_id, p.id);
    s.set_chat_paused(&conv, true).await.unwrap();
    assert!(s.conversation(&conv).await.unwrap().unwrap().summary.chat_paused);
}

pub async fn client_msg_id_is_idempotent(s: Arc<dyn Store>) {
    let p = user(&s, "idem", Role::Patient).await;
    let a = s.append_message(patient_msg(&p, None, "same", "once")).await.unwrap();
    let b = s.append_message(patient_msg(&p, None, "same", "once")).await.unwrap();
    assert!(b.duplicate);
    assert_eq!(a.message.id, b.message.id);
    assert_eq!(a.message.seq, b.message.seq);
    assert_eq!(s.conversations_of(&p.id).await.unwrap().len(), 1, "a retry started a second conversation");
    assert_eq!(s.messages(&a.message.conversation_id, None, 50).await.unwrap().len(), 1);
    // The same client id from another patient is a different message.
    let q = user(&s, "idem2", Role::Patient).await;
    let c = s.append_message(patient_msg(&q, None, "same", "mine")).await.unwrap();
    assert!(!c.duplicate);
    assert_ne!(c.message.id, a.message.id);
}

pub async fn concurrent_sends_never_share_a_seq(s: Arc<dyn Store>) {
    let p = user(&s, "conc", Role::Patient).await;
    let conv = s.append_message(patient_msg(&p, None, "c0", "start")).await.unwrap().message.conversation_id;
    let mut tasks = Vec::new();
    for i in 1..=100 {
        let (s, p, conv) = (s.clone(), p.clone(), conv.clone());
        tasks.push(tokio::spawn(async move {
            s.append_message(patient_msg(&p, Some(&conv), &format!("c{i}"), "x")).await.unwrap().message.seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=101).collect::<Vec<i64>>());
    let stored = s.messages(&conv, None, 200).await.unwrap();
    assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=101).collect::<Vec<i64>>());
}

pub async fn conversations_are_private(s: Arc<dyn Store>) {
    let owner = user(&s, "owner", Role::Patient).await;
    let intruder = user(&s, "intruder", Role::Patient).await;
    let conv = s.append_message(patient_msg(&owner, None, "o1", "private")).await.unwrap().message.conversation_id;
    let r = s.append_message(patient_msg(&intruder, Some(&conv), "i1", "let me in")).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    let r = s.append_message(patient_msg(&owner, Some("no-such-conversation"), "o2", "x")).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert_eq!(s.messages(&conv, None, 50).await.unwrap().len(), 1, "a refused message was stored");
    assert!(s.conversations_of(&intruder.id).await.unwrap().is_empty());
}

pub async fn conversation_cap_refuses_and_stores_nothing(s: Arc<dyn Store>) {
    let p = user(&s, "capped", Role::Patient).await;
    let first = s.append_message_within(patient_msg(&p, None, "k1", "one"), Some(2)).await.unwrap();
    s.append_message_within(patient_msg(&p, None, "k2", "two"), Some(2)).await.unwrap();
    // The third conversation is refused, and nothing of it is stored.
    let r = s.append_message_within(patient_msg(&p, None, "k3", "three"), Some(2)).await;
    assert!(matches!(r, Err(StoreError::Limit(_))), "{r:?}");
    assert_eq!(s.conversations_of(&p.id).await.unwrap().len(), 2);
    // A retry of a stored message is still its duplicate; an existing conversation still takes
    // messages; the refused client id was never used.
    let again = s.append_message_within(patient_msg(&p, None, "k1", "one"), Some(2)).await.unwrap();
    assert!(again.duplicate && again.message.id == first.message.id);
    let conv = first.message.conversation_id.clone();
    let more = s.append_message_within(patient_msg(&p, Some(&conv), "k3", "three"), Some(2)).await.unwrap();
    assert!(!more.duplicate && more.message.seq == 2);
    // Another patient has their own allowance; no cap means none.
    let q = user(&s, "uncapped", Role::Patient).await;
    s.append_message_within(patient_msg(&q, None, "q1", "mine"), Some(2)).await.unwrap();
    s.append_message(patient_msg(&p, None, "k4", "four")).await.unwrap();
    assert_eq!(s.conversations_of(&p.id).await.unwrap().len(), 3);
}

pub async fn history_pages_backwards(s: Arc<dyn Store>) {
    let p = user(&s, "pager", Role::Patient).await;
    let conv = s.append_message(patient_msg(&p, None, "h1", "1")).await.unwrap().message.conversation_id;
    for i in 2..=7 {
        s.append_message(patient_msg(&p, Some(&conv), &format!("h{i}"), &i.to_string())).await.unwrap();
    }
    let latest = s.messages(&conv, None, 3).await.unwrap();
    assert_eq!(latest.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![5, 6, 7]);
    let older = s.messages(&conv, Some(5), 3).await.unwrap();
    assert_eq!(older.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
    let oldest = s.messages(&conv, Some(2), 3).await.unwrap();
    assert_eq!(oldest.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["1"]);
    assert!(s.messages(&conv, Some(1), 3).await.unwrap().is_empty());
}

pub async fn alerts_transition_once(s: Arc<dyn Store>) {
    let (p, c, sup) = care_team(&s).await;
    let m = s.append_message(patient_msg(&p, None, "a1", "risky")).await.unwrap().message;
    let raised = s.raise_alert(alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(2))).await.unwrap().alert;
    assert_eq!(raised.patient_name, p.display_name);
    assert_eq!(raised.status, AlertStatus::Open);
    let q = |cl: Option<&User>, su: Option<&User>| AlertQuery {
        clinician_id: cl.map(|u| u.id.clone()),
        supervisor_id: su.map(|u| u.id.clone()),
        patient_id: None,
        status: Some(AlertStatus::Open),
        limit: 100,
        ..AlertQuery::default()
    };
    assert_eq!(s.alerts(q(Some(&c), None)).await.unwrap().len(), 1);
    assert_eq!(s.alerts(q(None, Some(&sup))).await.unwrap().len(), 1);
    let stranger = user(&s, "stranger-clinician", Role::Clinician).await;
    assert!(s.alerts(q(Some(&stranger), None)).await.unwrap().is_empty(), "alert leaked outside the caseload");
    let acked = s.ack_alert(&raised.id, &c.id, Some("called them"), Utc::now()).await.unwrap().unwrap();
    assert_eq!(acked.status, AlertStatus::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some(c.id.as_str()));
    assert!(acked.acknowledged_at.is_some());
    assert!(s.ack_alert(&raised.id, &c.id, None, Utc::now()).await.unwrap().is_none(), "acked twice");
    let esc = s.escalate_alert(&raised.id, "e-late", EscalationReason::AckTimeout, Utc::now()).await.unwrap();
    assert!(esc.is_none(), "an acknowledged alert was escalated");
}

/// A re-screening after a crash raises the same alert id again: one alert, told once.
pub async fn raising_an_alert_again_stores_it_once(s: Arc<dyn Store>) {
    let (p, c, _sup) = care_team(&s).await;
    let m = s.append_message(patient_msg(&p, None, "again-1", "risky")).await.unwrap().message;
    let first = alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(2));
    let raised = s.raise_alert(first.clone()).await.unwrap();
    assert!(raised.created);
    let mut retry = first.clone();
    retry.created_at = first.created_at + Duration::seconds(30);
    retry.ack_deadline = Some(first.created_at + Duration::minutes(5));
    retry.excerpt = "a different excerpt".into();
    let again = s.raise_alert(retry).await.unwrap();
    assert!(!again.created, "the same alert id was stored twice");
    assert_eq!(again.alert.excerpt, raised.alert.excerpt, "a re-raise overwrote the stored alert");
    assert_eq!(
        again.alert.ack_deadline.map(|d| d.timestamp_millis()),
        first.ack_deadline.map(|d| d.timestamp_millis())
    );
    let listed =
        s.alerts(AlertQuery { clinician_id: Some(c.id.clone()), limit: 100, ..AlertQuery::default() }).await.unwrap();
    assert_eq!(listed.iter().filter(|a| a.id == first.id).count(), 1, "{listed:?}");
    assert_eq!(listed.len(), 1);
}

pub async fn escalation_happens_once_under_races(s: Arc<dyn Store>) {
    let (p, _c, sup) = care_team(&s).await;
    let m = s.append_message(patient_msg(&p, None, "r1", "risky")).await.unwrap().message;
    let due = s.raise_alert(alert_for(&p, &m.id, &m.conversation_id, Duration::seconds(-1))).await.unwrap().alert;
    let later = s.raise_alert(alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(10))).await.unwrap().alert;
    let listed = s.due_alerts(Utc::now(), 10).await.unwrap();
    assert_eq!(listed.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec![due.id.as_str()]);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, id) = (s.clone(), due.id.clone());
        tasks.push(tokio::spawn(async move {
            s.escalate_alert(&id, &format!("esc-{i}-{id}"), EscalationReason::AckTimeout, Utc::now()).await.unwrap()
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        if let Some(e) = t.await.unwrap() {
            won.push(e);
        }
    }
    assert_eq!(won.len(), 1, "an alert was escalated {} times", won.len());
    assert_eq!(won[0].alert.status, AlertStatus::Escalated);
    assert_eq!(won[0].status, EscalationStatus::Open);
    assert!(s.due_alerts(Utc::now(), 10).await.unwrap().is_empty());
    let open = s
        .escalations(EscalationQuery {
            supervisor_id: Some(sup.id.clone()),
            status: Some(EscalationStatus::Open),
            limit: 10,
            ..EscalationQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(s.alert(&later.id).await.unwrap().unwrap().status, AlertStatus::Open);
}

pub async fn escalations_claim_and_resolve(s: Arc<dyn Store>) {
    let (p, _c, sup) = care_team(&s).await;
    let m = s.append_message(patient_msg(&p, None, "e1", "risky")).await.unwrap().message;
    let a = s.raise_alert(alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(2))).await.unwrap().alert;
    let e = s.escalate_alert(&a.id, "esc-1", EscalationReason::NoClinicianOnline, Utc::now()).await.unwrap().unwrap();
    assert_eq!(e.reason, EscalationReason::NoClinicianOnline);
    let claimed = s.claim_escalation(&e.id, &sup.id, Utc::now()).await.unwrap().unwrap();
    assert_eq!((claimed.status, claimed.claimed_by.as_deref()), (EscalationStatus::Claimed, Some(sup.id.as_str())));
    assert!(s.claim_escalation(&e.id, "someone-else", Utc::now()).await.unwrap().is_none(), "claimed twice");
    let resolved = s.resolve_escalation(&e.id, &sup.id, "spoke to patient", Utc::now()).await.unwrap().unwrap();
    assert_eq!(resolved.status, EscalationStatus::Resolved);
    assert_eq!(resolved.note.as_deref(), Some("spoke to patient"));
    assert!(resolved.resolved_at.is_some());
    assert_eq!(resolved.alert.status, AlertStatus::Resolved);
    assert!(s.resolve_escalation(&e.id, &sup.id, "again", Utc::now()).await.unwrap().is_none());
    let other_sup = user(&s, "other-sup-esc", Role::Supervisor).await;
    let theirs = s
        .escalations(EscalationQuery {
            supervisor_id: Some(other_sup.id.clone()),
            limit: 10,
            ..EscalationQuery::default()
        })
        .await
        .unwrap();
    assert!(theirs.is_empty(), "escalation leaked to another team");
}

/// One old open alert behind many newer acknowledged ones: the unacknowledged filter finds it
/// whatever the limit, and paging with cursors walks every alert exactly once, newest first.
pub async fn closed_alerts_never_hide_an_open_one(s: Arc<dyn Store>) {
    let (p, c, sup) = care_team(&s).await;
    let m = s.append_message(patient_msg(&p, None, "old-open", "risky")).await.unwrap().message;
    let mut old = alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(2));
    old.created_at = Utc::now() - Duration::hours(1);
    let old = s.raise_alert(old).await.unwrap().alert;
    let mut closed = Vec::new();
    for i in 0..12 {
        let mut a = alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(2));
        // Pairs share a millisecond, so cursors must break ties by id.
        a.created_at = Utc::now() - Duration::minutes(30) + Duration::seconds(i / 2);
        let a = s.raise_alert(a).await.unwrap().alert;
        s.ack_alert(&a.id, &c.id, None, Utc::now()).await.unwrap().unwrap();
        closed.push(a.id);
    }
    let pending = |who: AlertQuery| AlertQuery { unacknowledged: true, limit: 5, ..who };
    for q in [
        pending(AlertQuery { clinician_id: Some(c.id.clone()), ..AlertQuery::default() }),
        pending(AlertQuery { supervisor_id: Some(sup.id.clone()), ..AlertQuery::default() }),
        pending(AlertQuery {
            patient_id: Some(p.id.clone()),
            clinician_id: Some(c.id.clone()),
            ..AlertQuery::default()
        }),
    ] {
        let found = s.alerts(q).await.unwrap();
        assert_eq!(found.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec![old.id.as_str()]);
    }
    // Every alert, five at a time.
    let mut seen: Vec<Alert> = Vec::new();
    let mut before = None;
    loop {
        let page = s
            .alerts(AlertQuery { clinician_id: Some(c.id.clone()), before, limit: 5, ..AlertQuery::default() })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(PageCursor::after(last.created_at, &last.id));
        seen.extend(page);
        assert!(seen.len() <= 13, "paging repeated alerts: {seen:?}");
    }
    assert_eq!(seen.len(), 13);
    let mut ids: Vec<&str> = seen.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.last(), Some(&old.id.as_str()), "newest first: the old open alert comes last");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 13, "an alert was listed twice");
    assert!(closed.iter().all(|id| ids.contains(&id.as_str())));
    assert!(PageCursor::decode(&PageCursor::after(old.created_at, &old.id).encode()).is_some());
}

/// Resolved escalations never hide unresolved ones, and escalation lists page with cursors.
pub async fn escalation_lists_filter_and_page(s: Arc<dyn Store>) {
    let (p, _c, sup) = care_team(&s).await;
    let m = s.append_message(patient_msg(&p, None, "esc-page", "risky")).await.unwrap().message;
    let mut ids = Vec::new();
    for i in 0..4 {
        let a = s.raise_alert(alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(2))).await.unwrap().alert;
        let at = Utc::now() - Duration::minutes(10 - i);
        let e = s.escalate_alert(&a.id, &format!("esc-page-{i}-{}", a.id), EscalationReason::AckTimeout, at).await;
        ids.push(e.unwrap().unwrap().id);
    }
    // The oldest stays open; the three newer are resolved.
    for id in &ids[1..] {
        s.resolve_escalation(id, &sup.id, "done", Utc::now()).await.unwrap().unwrap();
    }
    let team = || EscalationQuery { supervisor_id: Some(sup.id.clone()), ..EscalationQuery::default() };
    let open = s.escalations(EscalationQuery { unresolved: true, limit: 1, ..team() }).await.unwrap();
    assert_eq!(open.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec![ids[0].as_str()]);
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = s.escalations(EscalationQuery { before, limit: 1, ..team() }).await.unwrap();
        let Some(last) = page.last() else { break };
        before = Some(PageCursor::after(last.created_at, &last.id));
        seen.extend(page.into_iter().map(|e| e.id));
        assert!(seen.len() <= 4, "paging repeated escalations: {seen:?}");
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
}

/// Duty supervisors see, and may act for, patients no team covers — and only those.
pub async fn duty_supervisors_cover_patients_with_no_care_team(s: Arc<dyn Store>) {
    let duty = user(&s, &format!("duty-{}", uuid::Uuid::new_v4()), Role::Supervisor).await;
    let off_duty = user(&s, &format!("off-{}", uuid::Uuid::new_v4()), Role::Supervisor).await;
    let lone = user(&s, &format!("lone-{}", uuid::Uuid::new_v4()), Role::Patient).await;
    let clinician = user(&s, &format!("c-{}", uuid::Uuid::new_v4()), Role::Clinician).await;
    assert!(matches!(s.add_duty_supervisor(&clinician.id).await, Err(StoreError::Invalid(_))));
    s.add_duty_supervisor(&duty.id).await.unwrap();
    s.add_duty_supervisor(&duty.id).await.unwrap();
    assert!(s.duty_supervisors().await.unwrap().contains(&duty.id));
    assert!(!s.duty_supervisors().await.unwrap().contains(&off_duty.id));
    let unassigned = s.unassigned_patients(10_000).await.unwrap();
    assert!(unassigned.iter().any(|u| u.id == lone.id), "a patient on no caseload is not listed");
    assert!(unassigned.iter().all(|u| u.role == Role::Patient));
    assert!(s.can_view_patient(&duty, &lone.id).await.unwrap());
    assert!(!s.can_view_patient(&off_duty, &lone.id).await.unwrap());
    assert!(!s.can_view_patient(&duty, &clinician.id).await.unwrap(), "duty covers patients, not staff");

    let m = s.append_message(patient_msg(&lone, None, "lone-1", "risky")).await.unwrap().message;
    let a = s.raise_alert(alert_for(&lone, &m.id, &m.conversation_id, Duration::minutes(2))).await.unwrap().alert;
    let e = s.escalate_alert(&a.id, &format!("duty-{}", a.id), EscalationReason::NoCareTeam, Utc::now()).await;
    let e = e.unwrap().unwrap();
    assert_eq!(e.reason, EscalationReason::NoCareTeam);
    let of =
        |sup: &User| EscalationQuery { supervisor_id: Some(sup.id.clone()), limit: 10, ..EscalationQuery::default() };
    let listed = s.escalations(EscalationQuery { unresolved: true, ..of(&duty) }).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec![e.id.as_str()]);
    assert!(s.escalations(of(&off_duty)).await.unwrap().is_empty(), "escalation leaked to a supervisor off duty");

    // On a caseload whose clinician is on no team: still no care team, still duty's.
    s.assign(&clinician.id, &lone.id).await.unwrap();
    assert!(!s.unassigned_patients(10_000).await.unwrap().iter().any(|u| u.id == lone.id));
    assert!(s.can_view_patient(&duty, &lone.id).await.unwrap());
    // A team takes the patient on: the duty supervisors step back.
    s.add_to_team(&off_duty.id, &clinician.id).await.unwrap();
    assert!(!s.can_view_patient(&duty, &lone.id).await.unwrap());
    assert!(s.escalations(of(&duty)).await.unwrap().iter().all(|x| x.id != e.id));
    assert_eq!(s.escalations(of(&off_duty)).await.unwrap().len(), 1);
}

pub async fn audit_log_appends(s: Arc<dyn Store>) {
    for i in 0..3 {
        s.audit(AuditEntry {
            at: Utc::now(),
            actor_id: Some(format!("u{i}")),
            actor_role: Some(Role::Clinician),
            action: "messages.read".into(),
            target: format!("patient:{}", i % 2),
            remote_addr: Some("127.0.0.1".into()),
            detail: None,
        })
        .await
        .unwrap();
    }
    let all = s.audit_log(None, 10).await.unwrap();
    assert_eq!(all.iter().map(|e| e.actor_id.clone().unwrap()).collect::<Vec<_>>(), vec!["u2", "u1", "u0"]);
    let about = s.audit_log(Some("patient:0"), 10).await.unwrap();
    assert_eq!(about.len(), 2);
    assert_eq!(about[0].actor_role, Some(Role::Clinician));
}

/// The evidence a screened message brings (what the alert router passes to `record_risk`).
fn evidence(patient: &User, m: &Message, level: RiskLevel, reason: &str, deadline_in: Option<Duration>) -> Alert {
    let mut a = alert_for(patient, &m.id, &m.conversation_id, Duration::zero());
    a.id = format!("{}-{}", m.id, level.as_str());
    a.level = level;
    a.score = match level {
        RiskLevel::High => 0.9,
        RiskLevel::Moderate => 0.6,
        _ => 0.3,
    };
    a.reasons = vec![reason.to_owned()];
    a.ack_deadline = deadline_in.map(|d| a.created_at + d);
    a
}

pub async fn risk_episodes_take_later_messages(s: Arc<dyn Store>) {
    let (p, c, _sup) = care_team(&s).await;
    let m1 = s.append_message(patient_msg(&p, None, "ep-1", "hopeless")).await.unwrap().message;
    let m2 = s.append_message(patient_msg(&p, None, "ep-2", "other conversation")).await.unwrap().message;
    let m3 = s.append_message(patient_msg(&p, Some(&m1.conversation_id), "ep-3", "a plan")).await.unwrap().message;
    assert_ne!(m1.conversation_id, m2.conversation_id);

    let moderate = evidence(&p, &m1, RiskLevel::Moderate, "C-SSRS 2: wish to be dead", Some(Duration::minutes(15)));
    let first = s.record_risk(moderate.clone(), m1.created_at).await.unwrap();
    assert_eq!(first.change, EpisodeChange::Raised);
    assert_eq!(first.alert.message_ids, vec![m1.id.clone()]);
    let first_deadline = first.alert.ack_deadline.unwrap();

    // Re-screening the same message changes nothing.
    let again = s.record_risk(moderate, m1.created_at).await.unwrap();
    assert_eq!(again.change, EpisodeChange::Unchanged);
    assert_eq!(again.alert.id, first.alert.id);
    assert_eq!(again.alert.message_ids, vec![m1.id.clone()]);

    // A risky message in another conversation joins the episode.
    let second = s
        .record_risk(evidence(&p, &m2, RiskLevel::Low, "C-SSRS 2: wish to be dead", None), m2.created_at)
        .await
        .unwrap();
    assert_eq!(second.change, EpisodeChange::Updated { previous: RiskLevel::Moderate });
    assert_eq!(second.alert.id, first.alert.id);
    assert_eq!(second.alert.level, RiskLevel::Moderate, "never falls");
    assert_eq!(second.alert.message_ids, vec![m1.id.clone(), m2.id.clone()]);
    assert_eq!(second.alert.reasons, vec!["C-SSRS 2: wish to be dead".to_owned()], "reasons deduplicated");
    assert_eq!(second.alert.ack_deadline, Some(first_deadline), "no rise, same deadline");

    // A rise to high restarts the deadline from the high deadline.
    let high = evidence(&p, &m3, RiskLevel::High, "C-SSRS 5: plan", Some(Duration::minutes(2)));
    let third = s.record_risk(high.clone(), m3.created_at).await.unwrap();
    assert_eq!(third.change, EpisodeChange::Updated { previous: RiskLevel::Moderate });
    assert_eq!(third.alert.level, RiskLevel::High);
    assert_eq!(third.alert.message_ids, vec![m1.id.clone(), m2.id.clone(), m3.id.clone()]);
    assert_eq!(third.alert.reasons, vec!["C-SSRS 2: wish to be dead".to_owned(), "C-SSRS 5: plan".to_owned()]);
    let d = third.alert.ack_deadline.unwrap();
    assert!(d < first_deadline, "restarted from the high deadline: {d} vs {first_deadline}");
    assert!((d - high.ack_deadline.unwrap()).num_milliseconds().abs() < 5, "{d}");
    assert!(third.alert.updated_at.unwrap() >= first.alert.updated_at.unwrap());

    // The stored alert reads back the same, and is the only open one.
    let stored = s.alert(&first.alert.id).await.unwrap().unwrap();
    assert_eq!(stored.message_ids, third.alert.message_ids);
    assert_eq!(stored.level, RiskLevel::High);
    let open = s
        .alerts(AlertQuery {
            patient_id: Some(p.id.clone()),
            status: Some(AlertStatus::Open),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);

    // Re-screening an earlier message of the episode appends nothing.
    let again = s.record_risk(high, m3.created_at).await.unwrap();
    assert_eq!(again.change, EpisodeChange::Unchanged);
    assert_eq!(again.alert.message_ids.len(), 3);

    // Once acknowledged, the next risky message starts a new episode.
    s.ack_alert(&first.alert.id, &c.id, None, Utc::now()).await.unwrap().unwrap();
    let m4 = s.append_message(patient_msg(&p, Some(&m2.conversation_id), "ep-4", "again")).await.unwrap().message;
    let next = s
        .record_risk(
            evidence(&p, &m4, RiskLevel::Moderate, "C-SSRS 3: thoughts", Some(Duration::minutes(15))),
            m4.created_at,
        )
        .await
        .unwrap();
    assert_eq!(next.change, EpisodeChange::Raised);
    assert_ne!(next.alert.id, first.alert.id);
    assert_eq!(next.alert.message_ids, vec![m4.id.clone()]);
    let closed = s.alert(&first.alert.id).await.unwrap().unwrap();
    assert_eq!(closed.message_ids.len(), 3, "an acknowledged episode takes nothing more");
}

pub async fn concurrent_risk_opens_one_episode(s: Arc<dyn Store>) {
    let (p, _c, _sup) = care_team(&s).await;
    let mut messages = Vec::new();
    for i in 0..6 {
        let conv = if i % 2 == 0 { None } else { messages.last().map(|m: &Message| m.conversation_id.clone()) };
        let m =
            s.append_message(patient_msg(&p, conv.as_deref(), &format!("race-{i}"), "risky")).await.unwrap().message;
        messages.push(m);
    }
    let tasks: Vec<_> = messages
        .iter()
        .map(|m| {
            let (s, ev, at) = (
                s.clone(),
                evidence(&p, m, RiskLevel::Moderate, "C-SSRS 3: thoughts", Some(Duration::minutes(15))),
                m.created_at,
            );
            tokio::spawn(async move { s.record_risk(ev, at).await.unwrap() })
        })
        .collect();
    let mut raised = 0;
    for t in tasks {
        if t.await.unwrap().change == EpisodeChange::Raised {
            raised += 1;
        }
    }
    assert_eq!(raised, 1, "one episode for one patient");
    let open = s
        .alerts(AlertQuery {
            patient_id: Some(p.id.clone()),
            status: Some(AlertStatus::Open),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let mut ids = open[0].message_ids.clone();
    assert_eq!(ids.len(), messages.len(), "no message id lost or repeated: {ids:?}");
    ids.sort();
    let mut want: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    want.sort();
    assert_eq!(ids, want);
}

pub async fn patient_pause_covers_new_conversations(s: Arc<dyn Store>) {
    let (p, _c, _sup) = care_team(&s).await;
    let a = s.append_message(patient_msg(&p, None, "pause-1", "hi")).await.unwrap().message;
    assert!(!s.patient_paused(&p.id).await.unwrap());
    let changed = s.set_patient_paused(&p.id, true).await.unwrap();
    assert_eq!(changed, vec![a.conversation_id.clone()]);
    assert!(s.patient_paused(&p.id).await.unwrap());
    assert!(s.conversation(&a.conversation_id).await.unwrap().unwrap().summary.chat_paused);
    let b = s.append_message(patient_msg(&p, None, "pause-2", "new one")).await.unwrap();
    assert!(b.new_conversation);
    assert!(s.conversation(&b.message.conversation_id).await.unwrap().unwrap().summary.chat_paused, "starts paused");
    let mut resumed = s.set_patient_paused(&p.id, false).await.unwrap();
    resumed.sort();
    let mut want = vec![a.conversation_id.clone(), b.message.conversation_id.clone()];
    want.sort();
    assert_eq!(resumed, want);
    assert!(!s.patient_paused(&p.id).await.unwrap());
    assert!(!s.conversation(&b.message.conversation_id).await.unwrap().unwrap().summary.chat_paused);
    let c = s.append_message(patient_msg(&p, None, "pause-3", "after")).await.unwrap().message;
    assert!(!s.conversation(&c.conversation_id).await.unwrap().unwrap().summary.chat_paused);
}

/// What a crash between acknowledging and screening leaves is found again, and only that:
/// screened messages, AI replies and messages newer than the cut-off are not listed (hazard H13:
/// the re-screen sweep reads this).
pub async fn unscreened_patient_messages_are_listed_until_screened(s: Arc<dyn Store>) {
    use healing_protocol::Risk;
    let u = user(&s, "unscreened", Role::Patient).await;
    let first = s.append_message(patient_msg(&u, None, "a", "first")).await.unwrap().message;
    let conv = Some(first.conversation_id.as_str());
    let second = s.append_message(patient_msg(&u, conv, "b", "second")).await.unwrap().message;
    let mut reply = patient_msg(&u, conv, "unused", "a reply");
    reply.client_msg_id = None;
    reply.author = Author::Ai;
    s.append_message(reply).await.unwrap();
    let cut = Utc::now() + Duration::seconds(1);
    let listed = s.unscreened_messages(cut, 10).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|u| u.message.id.as_str()).collect();
    assert_eq!(ids, vec![first.id.as_str(), second.id.as_str()], "oldest first, patient messages only");
    assert!(listed.iter().all(|x| x.patient_id == u.id));
    assert_eq!(listed[0].message, first, "the message as stored");

    let risk = Risk { level: RiskLevel::None, score: 0.0, reasons: vec![] };
    s.set_message_risk(&first.id, &risk).await.unwrap();
    let listed = s.unscreened_messages(cut, 10).await.unwrap();
    assert_eq!(listed.iter().map(|u| u.message.id.as_str()).collect::<Vec<_>>(), vec![second.id.as_str()]);
    assert_eq!(s.unscreened_messages(cut, 0).await.unwrap().len(), 0, "the limit holds");
    let listed = s.unscreened_messages(cut, 10).await.unwrap();
    assert_eq!(listed.len(), 1, "a sweep that returned nothing (limit 0) skips nothing");
    let before_any = first.created_at - Duration::seconds(1);
    assert!(s.unscreened_messages(before_any, 10).await.unwrap().is_empty(), "the cut-off was ignored");
    s.set_message_risk(&second.id, &risk).await.unwrap();
    assert!(s.unscreened_messages(cut, 10).await.unwrap().is_empty(), "every message is screened");
}

fn audit_entry(i: usize) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor_id: Some(format!("u{i}")),
        actor_role: Some(Role::Admin),
        action: "test.write".into(),
        target: format!("patient:{i}"),
        remote_addr: None,
        detail: Some(format!("entry {i} \"quoted\", ünïcode")),
    }
}

/// Concurrent appends form one gap-free chain that verifies; pages and time windows read it.
pub async fn audit_entries_form_one_verified_chain(s: Arc<dyn Store>) {
    let writes = (0..8).map(|i| {
        let s = s.clone();
        tokio::spawn(async move { s.audit(audit_entry(i)).await })
    });
    for w in writes {
        w.await.unwrap().unwrap();
    }
    let chain = s.audit_chain(ChainQuery { limit: 100, ..ChainQuery::default() }).await.unwrap();
    assert_eq!(chain.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=8).collect::<Vec<i64>>());
    assert_eq!(chain[0].prev_hash, crate::audit_chain::GENESIS);
    for w in chain.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
    assert_eq!(
        crate::audit_chain::verify(s.as_ref()).await.unwrap(),
        crate::audit_chain::Verdict::Intact { entries: 8 }
    );
    let page = s.audit_chain(ChainQuery { after_seq: 2, limit: 2, ..ChainQuery::default() }).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    let future = Utc::now() + Duration::hours(1);
    let none = s.audit_chain(ChainQuery { from: Some(future), limit: 100, ..ChainQuery::default() }).await.unwrap();
    assert!(none.is_empty());
    let all = s
        .audit_chain(ChainQuery { to: Some(future), from: Some(future - Duration::days(1)), limit: 100, after_seq: 0 })
        .await
        .unwrap();
    assert_eq!(all.len(), 8);
    // The newest-first list still sees every entry.
    assert_eq!(s.audit_log(None, 100).await.unwrap().len(), 8);
}

pub async fn erasure_is_scheduled_cancelled_and_carried_out(s: Arc<dyn Store>) {
    let p = user(&s, "erase-me", Role::Patient).await;
    let other = user(&s, "keep-me", Role::Patient).await;
    let c = user(&s, "erase-clin", Role::Clinician).await;
    s.assign(&c.id, &p.id).await.unwrap();
    s.assign(&c.id, &other.id).await.unwrap();
    let first = s.append_message(patient_msg(&p, None, "k1", "my secret words")).await.unwrap().message;
    let conv = first.conversation_id.clone();
    s.append_message(patient_msg(&p, Some(&conv), "k2", "more secret words")).await.unwrap();
    let kept = s.append_message(patient_msg(&other, None, "k1", "not erased")).await.unwrap().message;
    let mut a = alert_for(&p, &first.id, &conv, Duration::minutes(2));
    a.excerpt = "my secret words".into();
    a.reasons = vec!["C-SSRS 4 (suicidal intent): \"my secret words\"".into()];
    let alert = s.raise_alert(a).await.unwrap().alert;
    let now = Utc::now();
    s.insert_token("h-erase", &p.id, now + Duration::hours(1)).await.unwrap();

    let req = |id: &str, erase_at| Erasure {
        id: id.into(),
        patient_id: p.id.clone(),
        status: ErasureStatus::Scheduled,
        requested_by: p.id.clone(),
        requested_at: now,
        erase_at,
    };
    let scheduled = s.schedule_erasure(req("e1", now + Duration::days(7))).await.unwrap();
    assert_eq!(scheduled.status, ErasureStatus::Scheduled);
    assert!(s.user_disabled(&p.id).await.unwrap(), "the account is disabled at once");
    assert_eq!(s.user_for_token("h-erase", now).await.unwrap(), None);
    assert!(matches!(s.schedule_erasure(req("e2", now)).await, Err(StoreError::Conflict(_))));
    assert!(s.due_erasures(now, 10).await.unwrap().is_empty(), "not due before its deadline");
    let due = s.due_erasures(now + Duration::days(8), 10).await.unwrap();
    assert_eq!(due.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["e1"]);
    assert!(matches!(
        s.schedule_erasure(Erasure { patient_id: c.id.clone(), ..req("x", now) }).await,
        Err(StoreError::NotFound)
    ));

    let cancelled = s.cancel_erasure(&p.id).await.unwrap().unwrap();
    assert_eq!(cancelled.status, ErasureStatus::Cancelled);
    assert!(!s.user_disabled(&p.id).await.unwrap());
    assert_eq!(s.cancel_erasure(&p.id).await.unwrap(), None);
    assert_eq!(s.erase_patient(&p.id, now).await.unwrap(), None, "a cancelled erasure erases nothing");
    assert!(s.due_erasures(now + Duration::days(8), 10).await.unwrap().is_empty());
    assert_eq!(s.messages(&conv, None, 10).await.unwrap().len(), 2);

    s.schedule_erasure(req("e3", now)).await.unwrap();
    assert_eq!(s.due_erasures(now, 10).await.unwrap().len(), 1);
    let erased = s.erase_patient(&p.id, now).await.unwrap().unwrap();
    assert_eq!((erased.messages, erased.conversations, erased.alerts), (2, 1, 1));
    assert_eq!(s.erasure(&p.id).await.unwrap().unwrap().status, ErasureStatus::Erased);
    assert_eq!(s.erase_patient(&p.id, now).await.unwrap(), None, "done once");
    assert!(s.due_erasures(now + Duration::days(8), 10).await.unwrap().is_empty());
    assert!(s.conversations_of(&p.id).await.unwrap().is_empty());
    assert_eq!(s.message(&first.id).await.unwrap(), None);
    assert!(s.messages(&conv, None, 10).await.unwrap().is_empty());
    let blank = s.alert(&alert.id).await.unwrap().unwrap();
    assert_eq!(blank.excerpt, "");
    assert_eq!(blank.reasons, vec!["C-SSRS 4 (suicidal intent)".to_owned()], "reasons lose their quotes");
    assert_eq!(blank.status, AlertStatus::Resolved);
    let tomb = s.user(&p.id).await.unwrap().unwrap();
    assert_eq!(tomb.username, format!("erased-{}", p.id));
    assert!(!tomb.display_name.contains("erase-me"));
    assert!(s.credentials("erase-me").await.unwrap().is_none(), "the username is free of the patient");
    assert_eq!(
        s.caseload(&c.id).await.unwrap().iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        vec![other.id.clone()]
    );
    assert!(matches!(s.schedule_erasure(req("e4", now)).await, Err(StoreError::NotFound)));
    // Nobody else's data is touched.
    assert_eq!(s.message(&kept.id).await.unwrap().unwrap().text, "not erased");
}

/// A pending follow-up of an alert, due `due_in` from now.
pub fn followup_for(alert: &Alert, id: &str, due_in: Duration) -> Followup {
    let now = Utc::now();
    Followup {
        id: id.into(),
        patient_id: alert.patient_id.clone(),
        alert_id: alert.id.clone(),
        due_at: now + due_in,
        status: FollowupStatus::Pending,
        done_by: None,
        done_at: None,
        note: None,
        created_at: now,
    }
}

/// An acknowledged high alert's follow-up (contract §4.7): scheduled once per alert, listed for
/// the caseload and the team (and nobody else), done once; a done one is never due.
pub async fn followups_are_done_or_missed_once(s: Arc<dyn Store>) {
    let (p, c, sup) = care_team(&s).await;
    let m = s.append_message(patient_msg(&p, None, "f1", "risky")).await.unwrap().message;
    let a = s.raise_alert(alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(2))).await.unwrap().alert;
    s.ack_alert(&a.id, &c.id, None, Utc::now()).await.unwrap().unwrap();
    let stranger = user(&s, &format!("x-{}", uuid::Uuid::new_v4()), Role::Patient).await;
    let wrong = Followup { patient_id: stranger.id.clone(), ..followup_for(&a, "fu-wrong", Duration::hours(1)) };
    assert!(
        matches!(s.schedule_followup(wrong).await, Err(StoreError::Invalid(_))),
        "a follow-up of someone else's alert"
    );
    let (f, created) = s.schedule_followup(followup_for(&a, "fu-1", Duration::seconds(-1))).await.unwrap();
    assert!(created);
    assert_eq!(f.status, FollowupStatus::Pending);
    let (again, created) = s.schedule_followup(followup_for(&a, "fu-1", Duration::hours(5))).await.unwrap();
    assert!(!created, "scheduled twice");
    assert_eq!(again.due_at.timestamp_millis(), f.due_at.timestamp_millis(), "a repeat moved the deadline");
    assert_eq!(
        s.due_followups(Utc::now(), 10).await.unwrap().iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["fu-1"]
    );

    let mine = |q: FollowupQuery| {
        let s = s.clone();
        async move { s.followups(FollowupQuery { limit: 10, ..q }).await.unwrap() }
    };
    let by_c = mine(FollowupQuery { clinician_id: Some(c.id.clone()), ..FollowupQuery::default() }).await;
    assert_eq!(by_c.len(), 1);
    let by_sup = mine(FollowupQuery { supervisor_id: Some(sup.id.clone()), ..FollowupQuery::default() }).await;
    assert_eq!(by_sup.len(), 1);
    let other_c = user(&s, &format!("oc-{}", uuid::Uuid::new_v4()), Role::Clinician).await;
    assert!(
        mine(FollowupQuery { clinician_id: Some(other_c.id.clone()), ..FollowupQuery::default() }).await.is_empty()
    );
    let done_q = FollowupQuery {
        clinician_id: Some(c.id.clone()),
        status: Some(FollowupStatus::Done),
        ..FollowupQuery::default()
    };
    assert!(mine(done_q.clone()).await.is_empty());

    let done = s.complete_followup("fu-1", &c.id, Some("called; safe at home"), Utc::now()).await.unwrap().unwrap();
    assert_eq!(done.status, FollowupStatus::Done);
    assert_eq!(done.done_by.as_deref(), Some(c.id.as_str()));
    assert_eq!(done.note.as_deref(), Some("called; safe at home"));
    assert!(done.done_at.is_some());
    assert!(s.complete_followup("fu-1", &c.id, None, Utc::now()).await.unwrap().is_none(), "done twice");
    assert!(s.due_followups(Utc::now(), 10).await.unwrap().is_empty(), "a done follow-up is still due");
    assert!(s.miss_followup("fu-1", "esc-fu-1", Utc::now()).await.unwrap().is_none(), "a done follow-up was missed");
    assert_eq!(mine(done_q).await.len(), 1);
    let of_p = mine(FollowupQuery { patient_id: Some(p.id.clone()), ..FollowupQuery::default() }).await;
    assert_eq!(of_p.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["fu-1"]);
    assert!(mine(FollowupQuery { patient_id: Some(stranger.id.clone()), ..FollowupQuery::default() }).await.is_empty());
    assert_eq!(s.followup("fu-1").await.unwrap().unwrap().status, FollowupStatus::Done);
    assert!(s.followup("no-such").await.unwrap().is_none());
}

/// Many sweepers race for one missed follow-up: one escalation (`follow_up_missed`, about its
/// alert), listed for the team's supervisor — also when the alert had escalated before.
pub async fn missed_followups_escalate_once_under_races(s: Arc<dyn Store>) {
    let (p, c, sup) = care_team(&s).await;
    let m = s.append_message(patient_msg(&p, None, "f2", "risky")).await.unwrap().message;
    let a = s.raise_alert(alert_for(&p, &m.id, &m.conversation_id, Duration::minutes(2))).await.unwrap().alert;
    let first = s.escalate_alert(&a.id, "esc-first", EscalationReason::NoClinicianOnline, Utc::now()).await.unwrap();
    assert!(first.is_some());
    s.ack_alert(&a.id, &c.id, None, Utc::now()).await.unwrap().unwrap();
    s.schedule_followup(followup_for(&a, "fu-2", Duration::seconds(-1))).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(
            async move { s.miss_followup("fu-2", &format!("esc-fu-{i}"), Utc::now()).await.unwrap() },
        ));
    }
    let mut won = Vec::new();
    for t in tasks {
        if let Some(m) = t.await.unwrap() {
            won.push(m);
        }
    }
    assert_eq!(won.len(), 1, "a follow-up was escalated {} times", won.len());
    let missed = &won[0];
    assert_eq!(missed.followup.status, FollowupStatus::Missed);
    assert_eq!(missed.escalation.reason, EscalationReason::FollowUpMissed);
    assert_eq!(missed.escalation.alert.id, a.id);
    assert_eq!(missed.escalation.status, EscalationStatus::Open);
    assert!(s.due_followups(Utc::now(), 10).await.unwrap().is_empty());
    assert!(s.complete_followup("fu-2", &c.id, None, Utc::now()).await.unwrap().is_none(), "a missed one was done");
    let listed = s
        .escalations(EscalationQuery { supervisor_id: Some(sup.id.clone()), limit: 10, ..EscalationQuery::default() })
        .await
        .unwrap();
    let mut reasons: Vec<&str> = listed.iter().map(|e| e.reason.as_str()).collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["follow_up_missed", "no_clinician_online"]);
    let e = s.escalation(&missed.escalation.id).await.unwrap().unwrap();
    assert_eq!(e.reason, EscalationReason::FollowUpMissed);
    let resolved = s.resolve_escalation(&e.id, &sup.id, "reached the patient", Utc::now()).await.unwrap().unwrap();
    assert_eq!(resolved.status, EscalationStatus::Resolved);
}
