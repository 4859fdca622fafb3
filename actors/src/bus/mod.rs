//! How frames reach users on any node, and who is online anywhere.
//!
//! [`Fanout`] is the one way actors push frames to users: it delivers to this node's sessions
//! (the [`Hub`]) at once, and hands the frame to the [`Bus`] for sessions on other nodes. The
//! embedded default is [`LocalBus`] (a single node: nothing to forward). With `--redis-url`,
//! [`redis::RedisBus`] forwards over Redis pub/sub and shares presence.
//!
//! Local delivery never depends on the bus: when Redis is down, chat on each node keeps working,
//! and what other nodes missed is re-sent from the store when the bus returns (see
//! `redis::RedisBus::on_restored`).

pub mod redis;

use std::sync::Arc;

use bytestring::ByteString;
use healing_protocol::{Role, ServerFrame};

use crate::hub::Hub;

/// Cross-node delivery and presence.
#[async_trait::async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Forwards a serialised frame to the user's sessions on other nodes (best effort; never
    /// blocks the caller).
    fn forward(&self, user_id: &str, frame: &ByteString);
    /// Tells other nodes to close the user's sessions opened with `token_hash` (all of them when
    /// `None`) with close `code` (contract §4.1: logout, disable). Best effort, like `forward`:
    /// each session also re-checks its token in the store (`RealtimeConfig::token_recheck`).
    fn forward_close(&self, _user_id: &str, _token_hash: Option<&str>, _code: u16) {}
    /// The user now has a session on this node (called for the first local session).
    fn user_joined(&self, user_id: &str, role: Role);
    /// The user's last session on this node closed.
    fn user_left(&self, user_id: &str);
    /// Whether the user has a session on another node. `None` when that cannot be known now (bus
    /// down): callers must then assume the safer answer.
    async fn online_elsewhere(&self, user_id: &str) -> Option<bool>;
    /// Whether the bus is working (readiness).
    async fn healthy(&self) -> bool;
    /// `"in-process"` or `"redis"`.
    fn kind(&self) -> &'static str;
    /// Why the bus is not working now, for `/readyz`; `None` while it works.
    fn problem(&self) -> Option<String> {
        None
    }
}

/// A single node: nothing to forward, nobody elsewhere.
pub struct LocalBus;

#[async_trait::async_trait]
impl Bus for LocalBus {
    fn forward(&self, _user_id: &str, _frame: &ByteString) {}
    fn user_joined(&self, _user_id: &str, _role: Role) {}
    fn user_left(&self, _user_id: &str) {}
    async fn online_elsewhere(&self, _user_id: &str) -> Option<bool> {
        Some(false)
    }
    async fn healthy(&self) -> bool {
        true
    }
    fn kind(&self) -> &'static str {
        "in-process"
    }
}

/// Whether someone is online, as far as this node can tell now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Online,
    Offline,
    /// Not online here, and another node could not be asked (the bus is down or slow).
    Unknown,
}

/// Pushes frames to users wherever they are connected.
pub struct Fanout {
    pub hub: Arc<Hub>,
    pub bus: Arc<dyn Bus>,
}

impl Fanout {
    /// Delivers to the user's sessions here and on every other node.
    pub fn to_user(&self, user_id: &str, frame: &ServerFrame) {
        self.to_user_bytes(user_id, &ByteString::from(frame.to_json()));
    }

    pub fn to_user_bytes(&self, user_id: &str, frame: &ByteString) {
        self.hub.send_to_user(user_id, frame);
        self.bus.forward(user_id, frame);
    }

    /// Closes the user's sessions (opened with `token_hash`, or all) here and on every other
    /// node, with close `code`.
    pub fn close_sessions(&self, user_id: &str, token_hash: Option<&str>, code: u16) {
        let here = self.hub.close_sessions(user_id, token_hash, code);
        self.bus.forward_close(user_id, token_hash, code);
        tracing::info!(user = %user_id, code, closed_here = here, "sessions closed");
    }

    pub fn to_users(&self, user_ids: &[String], frame: &ServerFrame) {
        let bytes = ByteString::from(frame.to_json());
        for u in user_ids {
            self.to_user_bytes(u, &bytes);
        }
    }

    /// Whether any of the users has a live session on any node, or `Unknown` when none is
    /// online here and another node could not be asked (so callers can ask again).
    pub async fn presence(&self, user_ids: &[String]) -> Presence {
        if user_ids.iter().any(|u| self.hub.is_online(u)) {
            return Presence::Online;
        }
        let mut unknown = false;
        for u in user_ids {
            match self.bus.online_elsewhere(u).await {
                Some(true) => return Presence::Online,
                Some(false) => {}
                None => unknown = true,
            }
        }
        if unknown { Presence::Unknown } else { Presence::Offline }
    }
}
