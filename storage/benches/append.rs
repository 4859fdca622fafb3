//! Durable message appends per second on the embedded store (group commit, `synchronous=FULL`),
//! with many concurrent writers as the gateway has. Each iteration has `WRITERS` concurrent tasks
//! append `PER_WRITER` messages each, one after another (each waits for its commit, as a session
//! waits before `chat.ack`), into their own conversations.
//!
//!   cargo bench -p healing-storage --bench append
#![allow(clippy::unwrap_used)] // benchmark setup

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use healing_protocol::{Author, Role};
use healing_storage::{NewMessage, NewUser, SqliteStore, Store};

const WRITERS: usize = 64;
const PER_WRITER: usize = 50;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("healing-bench-{}", uuid::Uuid::new_v4()));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).unwrap());
    let patients: Vec<String> = rt.block_on(async {
        let mut ids = Vec::new();
        for i in 0..WRITERS {
            let u = store
                .create_user(NewUser {
                    username: format!("bench{i}"),
                    password_hash: "x".into(),
                    role: Role::Patient,
                    display_name: "b".into(),
                })
                .await
                .unwrap();
            ids.push(u.id);
        }
        ids
    });
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements((WRITERS * PER_WRITER) as u64));
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(10);
    group.bench_function("durable_append_64_writers", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tasks = Vec::new();
                for p in &patients {
                    let (store, p) = (store.clone(), p.clone());
                    tasks.push(tokio::spawn(async move {
                        let mut conv: Option<String> = None;
                        for _ in 0..PER_WRITER {
                            let m = store
                                .append_message(NewMessage {
                                    id: None,
                                    patient_id: p.clone(),
                                    conversation_id: conv.clone(),
                                    client_msg_id: Some(uuid::Uuid::new_v4().to_string()),
                                    author: Author::Patient,
                                    text: "I have been feeling a bit anxious about work lately and it keeps me up"
                                        .into(),
                                    risk: None,
                                    finish: None,
                                    meta: None,
                                })
                                .await
                                .unwrap();
                            conv = Some(m.message.conversation_id);
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
