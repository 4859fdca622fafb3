//! The actors of a Healing Space node and the services they share.
//!
//! Layout:
//! - [`session`]: `WsSession`, one actor per WebSocket (actix-web-actors `WebsocketContext`):
//!   handshake, heartbeats, flood control, and per-role frame dispatch.
//! - [`chat`]: `TherapyChat`, one actor per live conversation, streaming AI replies to every
//!   session of the patient; [`chat::ChatDirectory`] finds or starts them.
//! - [`risk_detector`]: `RiskDetector`, the risk engine on its own thread pool.
//! - [`second_opinion`]: the LLM second opinion on every message graded below high (bounded,
//!   timed out, circuit-broken; may only raise a level).
//! - [`alerts`]: `AlertRouter` — raise, route, acknowledge, sweep deadlines, escalate.
//! - [`supervision`]: `SupervisorDesk`, one per supervisor (team): claim and resolve.
//! - [`output_guard`]: screening of AI output. What the patient is shown when at risk comes from
//!   the deployment's crisis catalogue (`healing_protocol::crisis`, in [`ClinicalConfig::crisis`]).
//! - [`bus`]: `Fanout` (push to a user on any node), the `Bus` trait, in-process and Redis buses.
//! - [`admission`]: the socket caps counted before a session is registered (per remote address,
//!   unauthenticated); the per-user cap is counted in [`hub`].
//! - [`hub`]: every live session by user, with non-blocking delivery; [`outbox`]: each session's
//!   byte-bounded send queue and slow-consumer eviction.
//! - [`auth`]: argon2id passwords and hashed bearer tokens; [`password_pool`]: the two threads
//!   argon2 runs on.
//! - [`services`]: the shared [`Services`] bundle and [`RealtimeConfig`].
//! - [`metrics`]: the Prometheus registry of the node.
//! - [`error`]: [`ServiceError`], carrying the contract's error codes.
//!
//! Dependencies point one way: this crate uses `storage`, `llm`, `risk` and `protocol`, and knows
//! nothing of HTTP routes.

pub mod admission;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod backlog;
pub mod bus;
pub mod chat;
pub mod error;
pub mod hub;
pub mod language;
pub mod metrics;
pub mod outbox;
pub mod output_guard;
pub mod password_policy;
pub mod password_pool;
pub mod risk_detector;
pub mod second_opinion;
pub mod services;
pub mod session;
pub mod supervision;

pub use error::ServiceError;
pub use services::{ClinicalConfig, RealtimeConfig, Services};
