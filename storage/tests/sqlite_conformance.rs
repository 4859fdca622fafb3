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

/// `--retention-days` on the embedded store: messages older than the cut-off go (and the
/// conversations they leave empty); newer ones stay.
#[tokio::test]
async fn retention_purges_only_messages_past_the_cutoff() {
    let s = SqliteStore::open(&temp_dir()).unwrap();
    let u = s
        .create_user(NewUser {
            username: "retained".into(),
            password_hash: "h".into(),
            role: healing_protocol::Role::Patient,
            display_name: "R".into(),
        })
        .await
        .unwrap();
    let m =
        s.append_message(healing_storage::conformance::patient_msg(&u, None, "k", "old words")).await.unwrap().message;
    let now = chrono::Utc::now();
    assert_eq!(s.purge_messages_before(now - chrono::Duration::days(1)).await.unwrap(), 0);
    assert_eq!(s.message(&m.id).await.unwrap().unwrap().text, "old words");
    assert_eq!(s.purge_messages_before(now + chrono::Duration::seconds(1)).await.unwrap(), 1);
    assert_eq!(s.message(&m.id).await.unwrap(), None);
    assert!(s.conversations_of(&u.id).await.unwrap().is_empty());
}

/// A store written before the hash chain existed (schema 6) is sealed into the chain when it is
/// upgraded: every old entry, in order, and the chain verifies.
#[tokio::test]
async fn upgrading_seals_the_existing_audit_log_into_the_chain() {
    use healing_storage::audit_chain::{Verdict, verify};
    let dir = temp_dir();
    {
        let s = SqliteStore::open(&dir).unwrap();
        for i in 0..3 {
            s.audit(healing_storage::AuditEntry {
                at: chrono::Utc::now(),
                actor_id: Some(format!("u{i}")),
                actor_role: None,
                action: "old.entry".into(),
                target: "patient:p".into(),
                remote_addr: None,
                detail: None,
            })
            .await
            .unwrap();
        }
        s.flush().await.unwrap();
    }
    // Back to schema 6, as an older build left it.
    let c = rusqlite::Connection::open(dir.join(healing_storage::sqlite::DB_FILE)).unwrap();
    c.execute_batch(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
         ALTER TABLE audit_log DROP COLUMN hash; ALTER TABLE audit_log DROP COLUMN prev_hash;
         DROP TABLE erasures; DROP INDEX messages_by_created;
         DROP TABLE followups;
         DELETE FROM schema_migrations WHERE version >= 7;
         CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
         CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
    )
    .unwrap();
    drop(c);
    let s = SqliteStore::open(&dir).unwrap();
    assert_eq!(verify(&s).await.unwrap(), Verdict::Intact { entries: 3 });
    let chain = s.audit_chain(healing_storage::ChainQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(chain.iter().map(|e| e.entry.actor_id.clone().unwrap()).collect::<Vec<_>>(), vec!["u0", "u1", "u2"]);
    // New entries continue the chain, and the log is still append-only.
    s.audit(chain[0].entry.clone()).await.unwrap();
    assert_eq!(verify(&s).await.unwrap(), Verdict::Intact { entries: 4 });
    let c = rusqlite::Connection::open(dir.join(healing_storage::sqlite::DB_FILE)).unwrap();
    assert!(c.execute("UPDATE audit_log SET detail = 'x'", []).is_err());
}
