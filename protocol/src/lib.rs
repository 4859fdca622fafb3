//! The wire contract (docs/protocol.md) as Rust types, shared by every crate that speaks it.
//!
//! Layout:
//! - [`model`]: the objects of the contract — [`User`], [`Role`], [`Message`], [`Alert`],
//!   [`Escalation`], [`RiskLevel`] — and their ids.
//! - [`client`]: frames a WebSocket client sends, parsed once at the edge into [`ClientFrame`].
//! - [`server`]: frames the server sends ([`ServerFrame`]) and the error codes ([`ErrorCode`]).
//! - [`crisis`]: the deployment's crisis catalogue (services and every crisis text), one file per
//!   deployment and language under `crisis/`, checked at start.
//! - [`close`]: every WebSocket close code the server sends, in one table.
//!
//! Invariant: parsing never panics and never loses the `ref` of a frame that had one, so every
//! error can be correlated by the client.

pub mod client;
pub mod close;
pub mod crisis;
pub mod model;
pub mod server;

pub use client::{ClientFrame, FrameError, parse_client_frame};
pub use model::*;
pub use server::{Cap, ErrorCode, ServerFrame};
