//! Where every live session of this node is registered, by user, and how frames reach them.
//!
//! Why not an actor: delivery is on the hot path of every pushed frame (AI deltas, alerts), from
//! many worker threads at once. A sharded lock held for a map lookup costs far less than an extra
//! mailbox hop, and it keeps a single hub from becoming the bottleneck.
//!
//! Back-pressure (DESIGN invariant 5): frames go into each session's [`Outbox`], bounded in bytes.
//! A client that stops reading overflows it; the session is marked evicted, its queue freed, and
//! it closes itself with [`CLOSE_SLOW_CONSUMER`] as soon as it runs again. What a stalled client
//! can pin is therefore bounded by the budget, never by what others send it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix::{Message, Recipient};
use bytestring::ByteString;
use healing_protocol::Role;
use parking_lot::RwLock;

use crate::admission::{Admission, Refused};
use crate::outbox::{Outbox, Pushed};

/// WebSocket close code sent to a client that stopped reading its frames (the node's close codes
/// are in one table: [`healing_protocol::close`]).
pub const CLOSE_SLOW_CONSUMER: u16 = healing_protocol::close::SLOW_CONSUMER;

const SHARDS: usize = 64;

/// What the hub tells a session: frames are waiting in its outbox, or close now.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum Push {
    Wake,
    /// Close with this WebSocket code and reason (node shutdown: 1001 "going away").
    Close(u16, &'static str),
}

/// A registered session.
#[derive(Clone)]
pub struct SessionHandle {
    pub session_id: u64,
    pub role: Role,
    pub recipient: Recipient<Push>,
    pub outbox: Arc<Outbox>,
    /// SHA-256 of the bearer token the session was opened with (logout closes its sessions).
    pub token_hash: Option<String>,
}

/// Counters the metrics endpoint reads.
#[derive(Default)]
pub struct HubStats {
    pub slow_consumer_disconnects: AtomicU64,
    /// Sessions closed by [`Hub::close_sessions`]: with 4401 (logout) and 4403 (disabled).
    pub revoked_logout: AtomicU64,
    pub revoked_disabled: AtomicU64,
}

/// All sessions of this node, by user id.
pub struct Hub {
    shards: Vec<RwLock<HashMap<String, Vec<SessionHandle>>>>,
    pub stats: HubStats,
    /// Sockets by remote address and unauthenticated sockets (the other admission caps).
    pub admission: Arc<Admission>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            stats: HubStats::default(),
            admission: Arc::new(Admission::default()),
        }
    }
}

impl Hub {
    fn shard(&self, user_id: &str) -> &RwLock<HashMap<String, Vec<SessionHandle>>> {
        // FNV-1a: cheap and good enough to spread uuids.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in user_id.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        &self.shards[(h as usize) % SHARDS]
    }

    /// Registers a session; true when it is the user's first on this node.
    pub fn join(&self, user_id: &str, handle: SessionHandle) -> bool {
        self.try_join(user_id, handle, usize::MAX).unwrap_or(false)
    }

    /// Registers a session unless the user already has `max` on this node (the check and the
    /// insert are under one lock, so racing tabs never exceed it). `Ok(true)` when it is the
    /// user's first on this node.
    pub fn try_join(&self, user_id: &str, handle: SessionHandle, max: usize) -> Result<bool, Refused> {
        let mut shard = self.shard(user_id).write();
        let list = shard.entry(user_id.to_owned()).or_default();
        if list.len() >= max {
            let empty = list.is_empty();
            if empty {
                shard.remove(user_id);
            }
            return Err(Refused { cap: healing_protocol::Cap::SocketsPerUser, max });
        }
        list.push(handle);
        Ok(list.len() == 1)
    }

    /// The user's live sessions on this node.
    pub fn sessions_of(&self, user_id: &str) -> usize {
        self.shard(user_id).read().get(user_id).map_or(0, Vec::len)
    }

    /// Removes a session; true when it was the user's last on this node.
    pub fn leave(&self, user_id: &str, session_id: u64) -> bool {
        let mut shard = self.shard(user_id).write();
        let Some(list) = shard.get_mut(user_id) else { return false };
        let before = list.len();
        list.retain(|h| h.session_id != session_id);
        let last = before > list.len() && list.is_empty();
        if list.is_empty() {
            shard.remove(user_id);
        }
        last
    }

    /// Whether the user has at least one live session on this node.
    pub fn is_online(&self, user_id: &str) -> bool {
        self.shard(user_id).read().get(user_id).is_some_and(|l| !l.is_empty())
    }

    /// Queues a frame for every session of the user; returns how many took it.
    pub fn send_to_user(&self, user_id: &str, frame: &ByteString) -> usize {
        let mut delivered = 0;
        if let Some(list) = self.shard(user_id).read().get(user_id) {
            for h in list {
                match h.outbox.push(frame) {
                    Pushed::Wake => {
                        delivered += 1;
                        if h.recipient.try_send(Push::Wake).is_err() {
                            h.outbox.wake_failed();
                        }
                    }
                    Pushed::Queued => delivered += 1,
                    Pushed::Evicted => {
                        self.stats.slow_consumer_disconnects.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(user = %user_id, session = h.session_id, "slow consumer evicted");
                        // Wake it so it closes as soon as its socket lets it run.
                        let _ = h.recipient.try_send(Push::Wake);
                    }
                    Pushed::Dropped => {}
                }
            }
        }
        delivered
    }

    /// Closes the user's sessions on this node — those opened with `token_hash`, or all of them
    /// when `None` — with `code` (contract §4.1). Their outboxes refuse every frame from now on,
    /// whatever the session is doing; the session closes the socket when it next runs (woken
    /// here, past its mailbox bound). Returns how many were closed.
    pub fn close_sessions(&self, user_id: &str, token_hash: Option<&str>, code: u16) -> usize {
        let mut closed = 0;
        if let Some(list) = self.shard(user_id).read().get(user_id) {
            for h in list.iter().filter(|h| token_hash.is_none() || h.token_hash.as_deref() == token_hash) {
                h.outbox.shut(code);
                h.recipient.do_send(Push::Wake);
                closed += 1;
            }
        }
        let counter = match code {
            healing_protocol::close::FORBIDDEN => &self.stats.revoked_disabled,
            _ => &self.stats.revoked_logout,
        };
        counter.fetch_add(closed as u64, Ordering::Relaxed);
        closed
    }

    /// Asks every session to close (node shutdown). Sessions that cannot take the order now are
    /// closed by the server's own shutdown timeout.
    pub fn close_all(&self, code: u16, reason: &'static str) {
        for shard in &self.shards {
            for list in shard.read().values() {
                for h in list {
                    let _ = h.recipient.try_send(Push::Close(code, reason));
                }
            }
        }
    }

    /// Users with a live session here whose role is one of `roles`.
    pub fn users_with_roles(&self, roles: &[Role]) -> Vec<(String, Role)> {
        let mut out = Vec::new();
        for shard in &self.shards {
            for (user, list) in shard.read().iter() {
                if let Some(h) = list.iter().find(|h| roles.contains(&h.role)) {
                    out.push((user.clone(), h.role));
                }
            }
        }
        out
    }

    /// Live sessions by role (for the connections gauge).
    pub fn count_by_role(&self) -> HashMap<Role, usize> {
        let mut out = HashMap::new();
        for shard in &self.shards {
            for list in shard.read().values() {
                for h in list {
                    *out.entry(h.role).or_insert(0) += 1;
                }
            }
        }
        out
    }
}
