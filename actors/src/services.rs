//! Everything an actor needs from the rest of the node, built once at start and shared.

use std::sync::Arc;
use std::time::Duration;

use healing_llm::LlmProvider;
use healing_storage::Store;

use crate::auth::Authenticator;
use crate::chat::ChatDirectory;
use crate::hub::Hub;
use crate::metrics::Metrics;

/// Tunables of the realtime layer (filled from the gateway's validated config).
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// Largest inbound WebSocket frame.
    pub max_frame_bytes: usize,
    /// How long a new connection may take to send `hello`.
    pub hello_timeout: Duration,
    /// Ping interval; a client silent for `idle_timeout` is disconnected.
    pub heartbeat_interval: Duration,
    pub idle_timeout: Duration,
    /// Bounded mailbox of each session (frames waiting to be written to a slow client).
    pub session_mailbox: usize,
    /// Frames per second a session may send, and the burst allowed above it.
    pub frames_per_second: u32,
    pub frame_burst: u32,
    /// Token budget for the conversation context sent to a model.
    pub context_token_budget: usize,
    /// Earlier messages loaded as candidate context.
    pub context_messages: u32,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            max_frame_bytes: 64 * 1024,
            hello_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            session_mailbox: 256,
            frames_per_second: 20,
            frame_burst: 40,
            context_token_budget: 3000,
            context_messages: 30,
        }
    }
}

/// Shared services of a node.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub llm: Arc<dyn LlmProvider>,
    pub auth: Authenticator,
    pub hub: Arc<Hub>,
    pub chats: ChatDirectory,
    pub config: RealtimeConfig,
    pub metrics: Metrics,
}
