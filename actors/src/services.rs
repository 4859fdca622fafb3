//! Everything an actor needs from the rest of the node, built once at start and shared.

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use healing_llm::LlmProvider;
use healing_protocol::ServerFrame;
use healing_protocol::crisis::Catalogues;
use healing_storage::Store;

use crate::alerts::AlertRouter;
use crate::auth::Authenticator;
use crate::bus::Fanout;
use crate::chat::ChatDirectory;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::risk_detector::Detector;
use crate::second_opinion::SecondOpinion;
use crate::supervision::DeskDirectory;

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
    /// Bytes of frames that may wait for one client; a client that falls further behind is
    /// disconnected (close 4008).
    pub session_queue_bytes: usize,
    /// Frames per second a session may send, and the burst allowed above it.
    pub frames_per_second: u32,
    pub frame_burst: u32,
    /// Sockets one account may have open on this node (several tabs); one more is refused.
    pub max_sockets_per_user: usize,
    /// Sockets one remote address (IPv6: one /64) may have open on this node.
    pub max_sockets_per_ip: usize,
    /// Sockets upgraded but not yet authenticated, node-wide.
    pub max_unauthenticated_sockets: usize,
    /// Conversations one patient may have; a message that would start one more is refused.
    pub max_conversations_per_patient: u32,
    /// Token budget for the conversation context sent to a model.
    pub context_token_budget: usize,
    /// Earlier messages loaded as candidate context.
    pub context_messages: u32,
    /// How often a session reads its token again from the store (contract §4.1): the guard
    /// behind the bus for a logout or disable whose close order another node missed.
    pub token_recheck: Duration,
    /// AI replies streaming on the node above which a reply's tokens are coalesced (see
    /// `chat::reply`); 0: always.
    pub ai_coalesce_above_streams: u32,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            max_frame_bytes: 64 * 1024,
            hello_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            session_queue_bytes: 1024 * 1024,
            frames_per_second: 20,
            frame_burst: 40,
            max_sockets_per_user: 32,
            max_sockets_per_ip: 5000,
            max_unauthenticated_sockets: 1000,
            max_conversations_per_patient: 1000,
            context_token_budget: 3000,
            context_messages: 30,
            ai_coalesce_above_streams: 200,
            token_recheck: Duration::from_secs(60),
        }
    }
}

/// Clinical-safety settings (PROTOCOL §2: deadlines per level; the crisis catalogue per deployment).
#[derive(Debug, Clone)]
pub struct ClinicalConfig {
    /// A high alert not acknowledged within this escalates (`ack_timeout`).
    pub ack_deadline_high: Duration,
    /// A moderate alert not acknowledged within this escalates. Low alerts never escalate.
    pub ack_deadline_moderate: Duration,
    /// How often the store is swept for alerts past their deadline (and follow-ups past theirs).
    pub sweep_interval: Duration,
    /// Acknowledging a high alert schedules a follow-up due this much later (contract §4.7); one
    /// not done by then escalates (`follow_up_missed`).
    pub follow_up_after: Duration,
    /// The deployment's crisis catalogue: the `safety` frame's services and message, the crisis
    /// response, paused reply, guard replacement, error notice and the model's crisis guidance.
    pub crisis: Arc<Catalogues>,
    /// Earlier patient messages given to the risk engine as context.
    pub risk_context_messages: u32,
    /// The LLM second opinion on messages graded below high (`second_opinion`). The node turns
    /// it off when the offline responder answers (it is not a model).
    pub second_opinion: crate::second_opinion::Config,
    /// A patient message still unscreened this long after it was stored was left by a node that
    /// stopped; it is screened again (`chat::rescreen`), and the store is swept this often.
    pub rescreen_after: Duration,
}

impl Default for ClinicalConfig {
    fn default() -> Self {
        ClinicalConfig {
            ack_deadline_high: Duration::from_secs(120),
            ack_deadline_moderate: Duration::from_secs(15 * 60),
            sweep_interval: Duration::from_secs(1),
            follow_up_after: Duration::from_secs(24 * 3600),
            crisis: Arc::new(Catalogues::default()),
            risk_context_messages: 8,
            second_opinion: crate::second_opinion::Config::default(),
            rescreen_after: Duration::from_secs(15),
        }
    }
}

/// Shared services of a node.
pub struct Services {
    pub store: Arc<dyn Store>,
    /// The one way anything here writes the audit log.
    pub audit: crate::audit::Auditor,
    pub llm: Arc<dyn LlmProvider>,
    pub auth: Authenticator,
    pub hub: Arc<Hub>,
    /// Pushes to users on this and other nodes.
    pub fanout: Arc<Fanout>,
    pub chats: ChatDirectory,
    pub desks: DeskDirectory,
    pub risk: Detector,
    pub alerts: Addr<AlertRouter>,
    pub config: RealtimeConfig,
    pub clinical: Arc<ClinicalConfig>,
    pub metrics: Arc<Metrics>,
    /// The second opinion's bound and circuit breaker (built from `clinical.second_opinion`).
    pub second_opinion: SecondOpinion,
}

impl Services {
    /// Pushes a frame to every live session of a user, on any node.
    pub fn push_to_user(&self, user_id: &str, frame: &ServerFrame) {
        self.fanout.to_user(user_id, frame);
    }
}
