//! The cross-node bus over Redis (deadpool-redis for commands, one dedicated pub/sub connection).
//!
//! Channels are per user (`hs:u:<user id>`): a node subscribes to the channels of the users it
//! holds sessions for, so Redis routes each frame only to nodes that need it and a publisher
//! never looks anything up. Why per user rather than per node, for 100 nodes: with per-node
//! channels every publish needs a presence lookup first (another round trip on the hot path of
//! every AI token), or a presence cache that goes stale exactly when a user moves between nodes.
//! Per-user channels cost one SUBSCRIBE per connected user — Redis keeps subscriptions in a hash
//! table, so a million subscribed channels is about 100 MB and O(1) per publish; with Redis
//! Cluster, sharded pub/sub (SSUBSCRIBE) spreads them across shards.
//!
//! Every payload carries its origin node, and a node ignores its own frames: the origin already
//! delivered locally (so local delivery works with Redis down).
//!
//! Presence: `hs:presence:<user>` is the set of node ids holding a session of the user, and
//! `hs:node:<id>` a liveness key refreshed every few seconds with a short expiry, so the sets of
//! a node killed with `kill -9` stop counting within seconds.
//!
//! All Redis I/O runs on this bus's own small multi-threaded runtime; callers never wait on Redis
//! except for presence questions, which time out quickly and answer "unknown".

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytestring::ByteString;
use deadpool_redis::redis::{self, AsyncCommands};
use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts};
use futures_util::StreamExt;
use healing_protocol::Role;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::Bus;
use crate::hub::Hub;

const CHANNEL_PREFIX: &str = "hs:u:";
/// A payload that orders sessions closed instead of carrying a frame (frames are JSON objects,
/// so they never start with `!`): `!close <code> <token hash or *>`.
const CLOSE_PREFIX: &str = "!close ";
const NODE_TTL_SECS: u64 = 10;
const HEARTBEAT: Duration = Duration::from_secs(3);
/// Frames waiting to be published before new ones are dropped (and counted).
const OUTBOX: usize = 65_536;
const QUESTION_TIMEOUT: Duration = Duration::from_millis(500);

fn channel(user_id: &str) -> String {
    format!("{CHANNEL_PREFIX}{user_id}")
}
fn presence_key(user_id: &str) -> String {
    format!("hs:presence:{user_id}")
}
fn node_key(node: &str) -> String {
    format!("hs:node:{node}")
}

enum SubCommand {
    Subscribe(String),
    Unsubscribe(String),
}

struct Shared {
    node_id: String,
    pool: Pool,
    hub: Arc<Hub>,
    /// Users with a session on this node (their channels are subscribed, their presence set).
    local_users: Mutex<HashSet<String>>,
    healthy: AtomicBool,
    /// Why the bus is down, while it is.
    problem: Mutex<Option<String>>,
    dropped: AtomicU64,
    /// Called when the bus comes back after an outage (re-send what other nodes may have missed).
    on_restored: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

pub struct RedisBus {
    shared: Arc<Shared>,
    outbox: mpsc::Sender<(String, String)>,
    subs: mpsc::UnboundedSender<SubCommand>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Why the bus could not start.
#[derive(Debug, thiserror::Error)]
#[error("redis bus: {0}")]
pub struct BusError(String);

impl RedisBus {
    /// Starts the bus's tasks. A node starts even while Redis is unreachable: it then delivers
    /// on this node only, reports itself not ready (`healthy` is false, [`Bus::problem`] says
    /// why), keeps reconnecting with backoff, and on connecting re-sends what other nodes may
    /// have missed (`on_restored`). Only a malformed URL is an error. Blocking: call before
    /// serving.
    pub fn connect(url: &str, hub: Arc<Hub>) -> Result<RedisBus, BusError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("redis-bus")
            .enable_all()
            .build()
            .map_err(|e| BusError(e.to_string()))?;
        let mut cfg = Config::from_url(url);
        cfg.pool = Some(PoolConfig {
            max_size: 16,
            timeouts: Timeouts {
                wait: Some(Duration::from_secs(1)),
                create: Some(Duration::from_secs(1)),
                recycle: Some(Duration::from_secs(1)),
            },
            ..PoolConfig::default()
        });
        let pool =
            runtime.block_on(async { cfg.create_pool(Some(Runtime::Tokio1)) }).map_err(|e| BusError(e.to_string()))?;
        let client = redis::Client::open(url).map_err(|e| BusError(e.to_string()))?;
        let reached = runtime.block_on(async {
            let mut conn = pool.get().await.map_err(|e| format!("cannot reach {}: {e}", redacted(url)))?;
            let _: String = redis::cmd("PING").query_async(&mut *conn).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        });
        if let Err(e) = &reached {
            tracing::error!(error = %e, "redis bus unreachable at start; delivering on this node only and retrying");
        }
        let shared = Arc::new(Shared {
            node_id: uuid::Uuid::new_v4().to_string(),
            pool,
            hub,
            local_users: Mutex::new(HashSet::new()),
            healthy: AtomicBool::new(reached.is_ok()),
            problem: Mutex::new(reached.err()),
            dropped: AtomicU64::new(0),
            on_restored: OnceLock::new(),
        });
        let (outbox, outbox_rx) = mpsc::channel(OUTBOX);
        let (subs, subs_rx) = mpsc::unbounded_channel();
        runtime.spawn(publisher(shared.clone(), outbox_rx));
        runtime.spawn(subscriber(shared.clone(), client, subs_rx));
        runtime.spawn(heartbeat(shared.clone()));
        tracing::info!(node = %shared.node_id, "redis bus connected");
        Ok(RedisBus { shared, outbox, subs, runtime: Some(runtime) })
    }

    /// Registers what to do when the bus comes back after an outage.
    pub fn on_restored(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.shared.on_restored.set(Box::new(f));
    }

    /// This node's id on the bus.
    pub fn node_id(&self) -> &str {
        &self.shared.node_id
    }

    /// Frames dropped because the outbox was full (Redis too slow or down).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, f: F) {
        if let Some(rt) = &self.runtime {
            rt.spawn(f);
        }
    }

    async fn ask<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = Option<T>> + Send + 'static,
    ) -> Option<T> {
        let rt = self.runtime.as_ref()?;
        let handle = rt.spawn(async move { tokio::time::timeout(QUESTION_TIMEOUT, f).await.ok().flatten() });
        handle.await.ok().flatten()
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

#[async_trait::async_trait]
impl Bus for RedisBus {
    fn forward(&self, user_id: &str, frame: &ByteString) {
        let payload = format!("{}|{}", self.shared.node_id, frame);
        if self.outbox.try_send((channel(user_id), payload)).is_err() {
            count_dropped(&self.shared);
        }
    }

    fn forward_close(&self, user_id: &str, token_hash: Option<&str>, code: u16) {
        let payload = format!("{}|{CLOSE_PREFIX}{code} {}", self.shared.node_id, token_hash.unwrap_or("*"));
        if self.outbox.try_send((channel(user_id), payload)).is_err() {
            count_dropped(&self.shared);
        }
    }

    fn user_joined(&self, user_id: &str, _role: Role) {
        self.shared.local_users.lock().insert(user_id.to_owned());
        let _ = self.subs.send(SubCommand::Subscribe(channel(user_id)));
        let (shared, user) = (self.shared.clone(), user_id.to_owned());
        self.spawn(async move {
            if let Ok(mut c) = shared.pool.get().await {
                let _: Result<(), _> = c.sadd(presence_key(&user), &shared.node_id).await;
            }
        });
    }

    fn user_left(&self, user_id: &str) {
        self.shared.local_users.lock().remove(user_id);
        let _ = self.subs.send(SubCommand::Unsubscribe(channel(user_id)));
        let (shared, user) = (self.shared.clone(), user_id.to_owned());
        self.spawn(async move {
            if let Ok(mut c) = shared.pool.get().await {
                let _: Result<(), _> = c.srem(presence_key(&user), &shared.node_id).await;
            }
        });
    }

    async fn online_elsewhere(&self, user_id: &str) -> Option<bool> {
        let (shared, user) = (self.shared.clone(), user_id.to_owned());
        self.ask(async move {
            let mut c = shared.pool.get().await.ok()?;
            let nodes: Vec<String> = c.smembers(presence_key(&user)).await.ok()?;
            for node in nodes.iter().filter(|n| **n != shared.node_id) {
                let alive: bool = c.exists(node_key(node)).await.ok()?;
                if alive {
                    return Some(true);
                }
            }
            Some(false)
        })
        .await
    }

    async fn healthy(&self) -> bool {
        if !self.shared.healthy.load(Ordering::Acquire) {
            return false;
        }
        let shared = self.shared.clone();
        self.ask(async move {
            let mut c = shared.pool.get().await.ok()?;
            let pong: String = redis::cmd("PING").query_async(&mut *c).await.ok()?;
            Some(pong == "PONG")
        })
        .await
        .unwrap_or(false)
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    fn problem(&self) -> Option<String> {
        if self.shared.healthy.load(Ordering::Acquire) {
            return None;
        }
        let why = self.shared.problem.lock().clone().unwrap_or_else(|| "connection lost".into());
        Some(format!("redis unreachable ({why}); delivering on this node only and reconnecting"))
    }
}

/// The URL without its password, for logs.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

fn count_dropped(shared: &Shared) {
    let n = shared.dropped.fetch_add(1, Ordering::Relaxed);
    if n.is_multiple_of(1000) {
        tracing::warn!(dropped = n + 1, "redis bus full or down; frames for other nodes dropped");
    }
}

async fn publisher(shared: Arc<Shared>, mut rx: mpsc::Receiver<(String, String)>) {
    while let Some((channel, payload)) = rx.recv().await {
        if !shared.healthy.load(Ordering::Acquire) {
            // Down: waiting on the pool for each frame would only queue stale frames for when
            // it returns. Other nodes re-read durable state then (`on_restored`).
            count_dropped(&shared);
            continue;
        }
        let published = async {
            let mut c = shared.pool.get().await.map_err(|e| e.to_string())?;
            let _: i64 = c.publish(&channel, &payload).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        }
        .await;
        if let Err(e) = published {
            // Lost for other nodes; they re-read durable state (alerts, escalations, history)
            // from the store when the bus returns.
            tracing::debug!(error = %e, "redis publish failed");
        }
    }
}

async fn heartbeat(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        if let Ok(mut c) = shared.pool.get().await {
            let _: Result<(), _> = c.set_ex(node_key(&shared.node_id), 1, NODE_TTL_SECS).await;
        }
    }
}

async fn subscriber(shared: Arc<Shared>, client: redis::Client, mut commands: mpsc::UnboundedReceiver<SubCommand>) {
    let mut backoff = Duration::from_millis(200);
    // Unreachable at start counts as an outage: staff who connect meanwhile are re-sent their
    // backlog when the bus comes up.
    let mut was_down = !shared.healthy.load(Ordering::Acquire);
    loop {
        let pubsub = match client.get_async_pubsub().await {
            Ok(p) => p,
            Err(e) => {
                if shared.healthy.swap(false, Ordering::AcqRel) {
                    tracing::error!(error = %e, "redis bus down; delivering on this node only");
                }
                *shared.problem.lock() = Some(e.to_string());
                was_down = true;
                // Drain commands so the queue stays bounded; the local-user set is the truth.
                while commands.try_recv().is_ok() {}
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let users: Vec<String> = shared.local_users.lock().iter().cloned().collect();
        let mut resubscribed = true;
        for u in &users {
            if sink.subscribe(channel(u)).await.is_err() {
                resubscribed = false;
                break;
            }
        }
        if !resubscribed {
            continue;
        }
        backoff = Duration::from_millis(200);
        *shared.problem.lock() = None;
        shared.healthy.store(true, Ordering::Release);
        if was_down {
            tracing::info!(users = users.len(), "redis bus restored");
            restore_presence(&shared, &users).await;
            if let Some(f) = shared.on_restored.get() {
                f();
            }
        }
        loop {
            tokio::select! {
                cmd = commands.recv() => {
                    let Some(cmd) = cmd else { return };
                    let ok = match cmd {
                        SubCommand::Subscribe(ch) => sink.subscribe(ch).await.is_ok(),
                        SubCommand::Unsubscribe(ch) => sink.unsubscribe(ch).await.is_ok(),
                    };
                    if !ok {
                        break;
                    }
                }
                msg = stream.next() => {
                    let Some(msg) = msg else { break };
                    deliver(&shared, msg.get_channel_name(), msg.get_payload::<String>().ok());
                }
            }
        }
        shared.healthy.store(false, Ordering::Release);
        was_down = true;
        tracing::error!("redis bus connection lost; delivering on this node only until it returns");
    }
}

async fn restore_presence(shared: &Arc<Shared>, users: &[String]) {
    if let Ok(mut c) = shared.pool.get().await {
        let _: Result<(), _> = c.set_ex(node_key(&shared.node_id), 1, NODE_TTL_SECS).await;
        for u in users {
            let _: Result<(), _> = c.sadd(presence_key(u), &shared.node_id).await;
        }
    }
}

/// Hands a frame from another node to this node's sessions of the user.
fn deliver(shared: &Shared, channel_name: &str, payload: Option<String>) {
    let (Some(user), Some(payload)) = (channel_name.strip_prefix(CHANNEL_PREFIX), payload) else { return };
    let Some((origin, frame)) = payload.split_once('|') else { return };
    if origin == shared.node_id {
        return;
    }
    if let Some(order) = frame.strip_prefix(CLOSE_PREFIX) {
        if let Some((code, token)) = parse_close(order) {
            let closed = shared.hub.close_sessions(user, token, code);
            tracing::info!(user = %user, code, closed, "sessions closed on another node's order");
        }
        return;
    }
    shared.hub.send_to_user(user, &ByteString::from(frame.to_owned()));
}

/// `<code> <token hash or *>` of a close order.
fn parse_close(order: &str) -> Option<(u16, Option<&str>)> {
    let (code, token) = order.split_once(' ')?;
    Some((code.parse().ok()?, (token != "*").then_some(token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_orders_parse() {
        assert_eq!(parse_close("4401 abc"), Some((4401, Some("abc"))));
        assert_eq!(parse_close("4403 *"), Some((4403, None)));
        assert_eq!(parse_close("x *"), None);
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(redacted("redis://:s3cret@cache:6379/0"), "redis://***@cache:6379/0");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn keys_are_namespaced() {
        assert_eq!(channel("u1"), "hs:u:u1");
        assert_eq!(presence_key("u1"), "hs:presence:u1");
        assert_eq!(node_key("n"), "hs:node:n");
    }
}
