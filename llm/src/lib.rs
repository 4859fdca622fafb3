//! Language-model providers for the therapy chat.
//!
//! Layout:
//! - [`provider`]: the [`LlmProvider`] trait every backend implements — a request in, a stream of text
//!   deltas out — plus the request types and [`LlmError`].
//! - [`openai`]: [`OpenAiProvider`], any OpenAI-compatible server (Groq by default) through
//!   async-openai, with connect, first-token and idle timeouts and no hidden retries;
//!   [`install_crypto_provider`] for the rustls `ring` provider.
//! - [`offline`]: [`OfflineResponder`], the embedded default — a deterministic, CBT-informed
//!   responder that needs no network.
//! - [`context`]: [`SYSTEM_PROMPT`] and [`build_request`], the token-budgeted window of recent
//!   turns sent upstream.
//! - [`mock`]: an OpenAI-compatible SSE server ([`mock::serve`], [`MockServer`]) with injectable
//!   faults, for tests and load tests; also the `mock-llm` binary (`src/bin/mock-llm.rs`).
//!
//! Invariant: this crate knows nothing about actors, HTTP routes or storage, and never logs message
//! text (it is patient data).

pub mod context;
pub mod mock;
pub mod offline;
pub mod openai;
pub mod provider;

pub use context::{SYSTEM_PROMPT, build_request};
pub use mock::{Fault, GradeAnswer, Grading, MockConfig, MockServer, ReplyMode};
pub use offline::OfflineResponder;
pub use openai::{OpenAiConfig, OpenAiProvider, install_crypto_provider};
pub use provider::{ChatRole, ChatTurn, CompletionRequest, DeltaStream, LlmError, LlmProvider, ProviderInfo};
