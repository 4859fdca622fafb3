//! The conformance suite against the embedded SQLite store, plus what only a file-backed store
//! can show: data survives reopening, and the audit log refuses edits.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
use std::path::PathBuf;
use std::sync::Arc;

use healing_storage::{NewMessage, NewUser, SqliteStore, Store};

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("healing-store-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn fresh() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&temp_dir()).unwrap())
}

healing_storage::conformance_tests!(fresh);

#[tokio::test]
async fn acknowledged_writes_survive_reopen() {
    let dir = temp_dir();
    let (user, conv) = {
        let s = SqliteStore::open(&dir).unwrap();
        let u = s
            .create_user(NewUser {
                username: "durable".into(),
                password_hash: "h".into(),
                role: healing_protocol::Role::Patient,
                display_name: "D".into(),
            })
            .await
            .unwrap();
        let m = s
            .append_message(NewMessage {
                id: None,
                patient_id: u.id.clone(),
                conversation_id: None,
                client_msg_id: Some("k".into()),
                author: healing_protocol::Author::Patient,
                text: "kept".into(),
                risk: None,
                finish: None,
                meta: None,
            })
            .await
            .unwrap();
        (u, m.message.conversation_id)
    };
    let s = SqliteStore::open(&dir).unwrap();
    assert_eq!(s.user(&user.id).await.unwrap().unwrap(), user);
    let msgs = s.messages(&conv, None, 10).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].text, "kept");
}

#[test]
fn audit_log_refuses_updates_and_deletes() {
    let dir = temp_dir();
    drop(SqliteStore::open(&dir).unwrap());
    let c = rusqlite::Connection::open(dir.join(healing_storage::sqlite::DB_FILE)).unwrap();
    c.execute("INSERT INTO audit_log (at, action, target) VALUES (1, 'x', 'y')", []).unwrap();
    assert!(c.execute("UPDATE audit_log SET action = 'z'", []).is_err());
    assert!(c.execute("DELETE FROM audit_log", []).is_err());
}

/// What a crash between acknowledging and screening leaves is found again, and only that:
/// screened messages, AI replies and messages newer than the cut-off are not listed.
#[tokio::test]
async fn unscreened_patient_messages_are_listed_until_screened() {
    use healing_protocol::{Author, Risk, RiskLevel};
    let s = SqliteStore::open(&temp_dir()).unwrap();
    let u = s
        .create_user(NewUser {
            username: "unscreened".into(),
            password_hash: "h".into(),
            role: healing_protocol::Role::Patient,
            display_name: "U".into(),
        })
        .await
        .unwrap();
    let send = |client: Option<&str>, author: Author, text: &str, conv: Option<String>| NewMessage {
        id: None,
        patient_id: u.id.clone(),
        conversation_id: conv,
        client_msg_id: client.map(str::to_owned),
        author,
        text: text.into(),
        risk: None,
        finish: None,
        meta: None,
    };
    let first = s.append_message(send(Some("a"), Author::Patient, "first", None)).await.unwrap().message;
    let conv = Some(first.conversation_id.clone());
    let second = s.append_message(send(Some("b"), Author::Patient, "second", conv.clone())).await.unwrap().message;
    s.append_message(send(None, Author::Ai, "a reply", conv.clone())).await.unwrap();
    let cut = chrono::Utc::now() + chrono::Duration::seconds(1);
    let listed = s.unscreened_messages(cut, 10).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|u| u.message.id.as_str()).collect();
    assert_eq!(ids, vec![first.id.as_str(), second.id.as_str()], "oldest first, patient messages only");
    assert!(listed.iter().all(|x| x.patient_id == u.id));

    let risk = Risk { level: RiskLevel::None, score: 0.0, reasons: vec![] };
    s.set_message_risk(&first.id, &risk).await.unwrap();
    let listed = s.unscreened_messages(cut, 10).await.unwrap();
    assert_eq!(listed.iter().map(|u| u.message.id.as_str()).collect::<Vec<_>>(), vec![second.id.as_str()]);
    let before_any = first.created_at - chrono::Duration::seconds(1);
    assert!(s.unscreened_messages(before_any, 10).await.unwrap().is_empty(), "the cut-off was ignored");
}
