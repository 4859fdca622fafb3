//! The provider trait and its request/response types.

use std::pin::Pin;

use futures_util::Stream;

/// Who said a turn of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRole {
    /// The patient.
    User,
    /// The AI companion.
    Assistant,
}

/// One earlier turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTurn {
    pub role: ChatRole,
    pub text: String,
}

/// What is sent to a model: the system prompt and the recent turns, oldest first. The last turn is
/// the patient message being answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    pub system: String,
    pub turns: Vec<ChatTurn>,
}

impl CompletionRequest {
    /// How many earlier turns (besides the message being answered) are included — the size of the
    /// context window [`crate::build_request`] chose.
    pub fn context_turns(&self) -> usize {
        self.turns.len().saturating_sub(1)
    }

    /// Appends the deployment's crisis options (its crisis catalogue's `model_guidance`) to the
    /// system prompt, under the heading the prompt's safety rules refer to.
    pub fn with_crisis_guidance(mut self, guidance: &str) -> Self {
        self.system.push_str("\n\nCrisis options:\n");
        self.system.push_str(guidance.trim());
        self
    }
}

/// Describes the provider for message metadata and "why did I get this answer?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// `"offline"` for the built-in responder, `"openai"` for an OpenAI-compatible server.
    pub kind: &'static str,
    /// The model name (`"offline-cbt-v1"` for the offline responder).
    pub model: String,
}

/// A stream of text deltas; concatenated in order they form the reply. An `Err` item ends the reply.
pub type DeltaStream = Pin<Box<dyn Stream<Item = Result<String, LlmError>> + Send>>;

/// Why a reply could not be produced or was cut short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error("upstream rate limited the request")]
    RateLimited,
    #[error("upstream answered with status {0}")]
    Upstream(u16),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("upstream stream dropped before it finished")]
    Dropped,
    #[error("could not reach upstream: {0}")]
    Transport(String),
    #[error("upstream sent something unexpected: {0}")]
    InvalidResponse(String),
    #[error("this provider does not answer that kind of request")]
    Unsupported,
}

impl LlmError {
    /// A short, bounded label for metrics (`healing_llm_errors_total{kind}`).
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::RateLimited => "rate_limited",
            LlmError::Upstream(_) => "upstream_status",
            LlmError::Timeout(_) => "timeout",
            LlmError::Dropped => "dropped",
            LlmError::Transport(_) => "transport",
            LlmError::InvalidResponse(_) => "invalid_response",
            LlmError::Unsupported => "unsupported",
        }
    }
}

/// A source of streamed AI replies.
#[async_trait::async_trait]
pub trait LlmProvider: Send + Sync + 'static {
    /// What this provider is (for message metadata).
    fn info(&self) -> ProviderInfo;

    /// Starts a reply. Errors that happen before the first delta (connect, HTTP status, first-token
    /// timeout) may be returned here or as the first stream item; callers handle both the same way.
    async fn stream(&self, request: CompletionRequest) -> Result<DeltaStream, LlmError>;

    /// One whole answer (no streaming) that must be a single JSON object, for graders such as the
    /// risk second opinion: deterministic sampling (temperature 0), the server asked for a JSON
    /// object (`response_format: json_object`), at most `max_tokens` generated. The caller bounds
    /// the time and checks the shape. Providers that are not models (the offline responder) answer
    /// [`LlmError::Unsupported`].
    async fn complete_json(&self, request: CompletionRequest, max_tokens: u32) -> Result<String, LlmError> {
        let _ = (request, max_tokens);
        Err(LlmError::Unsupported)
    }
}
