//! Language-model providers for the therapy chat.
//!
//! Layout:
//! - [`provider`]: the [`LlmProvider`] trait every backend implements — a request in, a stream of text
//!   deltas out — plus the request types and [`LlmError`].
//! - `openai`: any OpenAI-compatible server (Groq by default) through async-openai, with connect,
//!   first-token and idle timeouts.
//! - `offline`: the embedded default — a deterministic, CBT-informed responder that needs no network.
//! - `mock`: an OpenAI-compatible SSE server for tests and load tests (also the `mock-llm` binary).
//! - `context`: the system prompt and the token-budgeted window of recent turns sent upstream.
//!
//! Invariant: this crate knows nothing about actors, HTTP routes or storage.

pub mod provider;

pub use provider::{ChatRole, ChatTurn, CompletionRequest, DeltaStream, LlmError, LlmProvider, ProviderInfo};
