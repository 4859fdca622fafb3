//! [`OpenAiProvider`]: streams replies from any OpenAI-compatible server (Groq by default) through
//! async-openai.
//!
//! Why this file exists: the upstream model is the only part of a reply we do not control, so this
//! is where its failure modes are turned into the small, typed [`LlmError`] set the chat actor acts
//! on — rate limits, bad statuses, unreachable hosts, a model that never starts, one that stalls
//! mid-reply, and a connection that drops before the reply is finished.
//!
//! Design notes:
//! - The reqwest client only has a *connect* timeout; a total timeout would cut long streams. The
//!   first-token and between-token deadlines are enforced here on the delta stream instead.
//! - async-openai's default transport retries 429/5xx/connect errors up to three times (honouring
//!   `Retry-After`). We install a retry-free transport: a hidden retry turns a fast `RateLimited`
//!   into a slow `Timeout`, multiplies load on a provider that is already shedding it, and the
//!   caller (which can fall back to the offline responder) is the right place to decide.
//! - Message text is patient data: it is never logged. Only sizes, counts, statuses and timings are.

use std::sync::Once;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::{OpenAIError, StreamError};
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, ChatCompletionResponseStream, CreateChatCompletionRequest, ResponseFormat,
};
use futures_util::StreamExt;
use tokio::time::{Instant, timeout_at};

use crate::provider::{ChatRole, CompletionRequest, DeltaStream, LlmError, LlmProvider, ProviderInfo};

/// Default base URL: Groq's OpenAI-compatible endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.groq.com/openai/v1";
/// Default model: a current Groq production model.
pub const DEFAULT_MODEL: &str = "llama-3.3-70b-versatile";

/// After the upstream has sent `finish_reason`, how long to wait for `[DONE]` before ending the
/// reply anyway (it is complete; this only lets the connection return to the pool cleanly).
const DONE_GRACE: Duration = Duration::from_secs(2);

/// Installs rustls' `ring` crypto provider as the process default, once.
///
/// The workspace builds reqwest with `rustls-no-provider`, so building a client panics unless a
/// provider is installed. Safe to call any number of times, from any thread; if another provider
/// was installed first it is kept.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An error only means a provider is already installed, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Settings for [`OpenAiProvider`].
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL including the version segment, e.g. `https://api.groq.com/openai/v1`.
    pub base_url: String,
    /// Bearer token. Never logged or shown by `Debug`.
    pub api_key: String,
    /// Model name sent upstream and reported in [`ProviderInfo`].
    pub model: String,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// From the start of the request until the first non-empty text delta.
    pub first_token_timeout: Duration,
    /// Longest allowed gap between two deltas once text has started.
    pub idle_timeout: Duration,
    /// Upper bound on generated tokens (`max_completion_tokens`).
    pub max_tokens: u32,
    /// Sampling temperature (0–2).
    pub temperature: f32,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: String::new(),
            model: DEFAULT_MODEL.to_owned(),
            connect_timeout: Duration::from_secs(5),
            first_token_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(20),
            max_tokens: 512,
            temperature: 0.7,
        }
    }
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "<redacted>" })
            .field("model", &self.model)
            .field("connect_timeout", &self.connect_timeout)
            .field("first_token_timeout", &self.first_token_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .finish()
    }
}

/// Streams chat completions from an OpenAI-compatible server. Cheap to share behind an `Arc`; the
/// underlying connection pool is reused across requests.
#[derive(Debug)]
pub struct OpenAiProvider {
    client: Client<OpenAIConfig>,
    cfg: OpenAiConfig,
}

impl OpenAiProvider {
    /// Builds the provider. Installs the rustls crypto provider if none is installed yet.
    ///
    /// Fails with [`LlmError::Transport`] only if the HTTP client cannot be constructed (e.g. no
    /// usable TLS configuration).
    pub fn new(cfg: OpenAiConfig) -> Result<Self, LlmError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("healing-llm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LlmError::Transport(format!("building http client: {e}")))?;
        let base = cfg.base_url.trim_end_matches('/').to_owned();
        let config = OpenAIConfig::new().with_api_base(base).with_api_key(cfg.api_key.clone());
        let client = Client::build(http.clone(), config).with_http_service(ReqwestService::new(http));
        Ok(Self { client, cfg })
    }

    /// The configuration this provider was built with.
    pub fn config(&self) -> &OpenAiConfig {
        &self.cfg
    }

    fn to_openai(&self, request: &CompletionRequest) -> CreateChatCompletionRequest {
        let mut messages: Vec<ChatCompletionRequestMessage> = Vec::with_capacity(request.turns.len() + 1);
        if !request.system.is_empty() {
            messages.push(ChatCompletionRequestSystemMessage::from(request.system.as_str()).into());
        }
        for turn in &request.turns {
            messages.push(match turn.role {
                ChatRole::User => ChatCompletionRequestUserMessage::from(turn.text.as_str()).into(),
                ChatRole::Assistant => ChatCompletionRequestAssistantMessage::from(turn.text.as_str()).into(),
            });
        }
        CreateChatCompletionRequest {
            model: self.cfg.model.clone(),
            messages,
            max_completion_tokens: Some(self.cfg.max_tokens),
            temperature: Some(self.cfg.temperature),
            stream: Some(true),
            ..Default::default()
        }
    }
}

#[async_trait::async_trait]
impl LlmProvider for OpenAiProvider {
    fn info(&self) -> ProviderInfo {
        ProviderInfo { kind: "openai", model: self.cfg.model.clone() }
    }

    async fn stream(&self, request: CompletionRequest) -> Result<DeltaStream, LlmError> {
        let started = Instant::now();
        let first_deadline = started + self.cfg.first_token_timeout;
        let body = self.to_openai(&request);
        tracing::debug!(
            model = %self.cfg.model,
            turns = request.turns.len(),
            prompt_chars = request.turns.iter().map(|t| t.text.len()).sum::<usize>(),
            "llm request started"
        );
        let inner = match timeout_at(first_deadline, self.client.chat().create_stream(body)).await {
            Err(_) => {
                tracing::warn!(model = %self.cfg.model, "llm timed out before response headers");
                return Err(LlmError::Timeout("first token"));
            }
            Ok(Err(e)) => {
                let err = map_setup_error(&e);
                tracing::warn!(model = %self.cfg.model, kind = err.kind(), error = %err, "llm request failed");
                return Err(err);
            }
            Ok(Ok(inner)) => inner,
        };
        let pump = Pump {
            inner,
            started,
            first_deadline,
            idle: self.cfg.idle_timeout,
            deltas: 0,
            chars: 0,
            finished: false,
            done: false,
        };
        Ok(Box::pin(futures_util::stream::unfold(pump, Pump::next)))
    }

    async fn complete_json(&self, request: CompletionRequest, max_tokens: u32) -> Result<String, LlmError> {
        let mut body = self.to_openai(&request);
        body.stream = Some(false);
        body.temperature = Some(0.0);
        body.max_completion_tokens = Some(max_tokens);
        body.response_format = Some(ResponseFormat::JsonObject);
        let started = Instant::now();
        // No deadline here: the caller bounds the whole call (dropping this future drops the request).
        let response = self.client.chat().create(body).await.map_err(|e| {
            let err = map_setup_error(&e);
            tracing::warn!(model = %self.cfg.model, kind = err.kind(), error = %err, "llm json request failed");
            err
        })?;
        tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "llm json answer received");
        response
            .choices
            .into_iter()
            .find(|c| c.index == 0)
            .and_then(|c| c.message.content)
            .ok_or_else(|| LlmError::InvalidResponse("answer had no content".to_owned()))
    }
}

/// State of one reply being relayed: the upstream chunk stream plus the deadlines and bookkeeping
/// needed to tell a finished reply from a truncated or stalled one.
struct Pump {
    inner: ChatCompletionResponseStream,
    started: Instant,
    first_deadline: Instant,
    idle: Duration,
    deltas: usize,
    chars: usize,
    /// Some choice carried a `finish_reason`: the reply is complete.
    finished: bool,
    /// A terminal item (error or end) has been produced.
    done: bool,
}

impl Pump {
    async fn next(mut self) -> Option<(Result<String, LlmError>, Self)> {
        if self.done {
            return None;
        }
        loop {
            let deadline = if self.finished {
                Instant::now() + DONE_GRACE.min(self.idle)
            } else if self.deltas == 0 {
                self.first_deadline
            } else {
                Instant::now() + self.idle
            };
            let item = match timeout_at(deadline, self.inner.next()).await {
                Err(_) if self.finished => return self.end(),
                Err(_) => {
                    let what = if self.deltas == 0 { "first token" } else { "next token" };
                    return self.fail(LlmError::Timeout(what));
                }
                Ok(None) if self.finished => return self.end(),
                Ok(None) => return self.fail(LlmError::Dropped),
                Ok(Some(Err(e))) => return self.fail(map_stream_error(&e)),
                Ok(Some(Ok(chunk))) => chunk,
            };
            let mut text: Option<String> = None;
            for choice in item.choices {
                if choice.index != 0 {
                    continue;
                }
                if choice.finish_reason.is_some() {
                    self.finished = true;
                }
                match (choice.delta.content, &mut text) {
                    (Some(c), _) if c.is_empty() => {}
                    (Some(c), None) => text = Some(c),
                    (Some(c), Some(t)) => t.push_str(&c),
                    (None, _) => {}
                }
            }
            if let Some(text) = text {
                if self.deltas == 0 {
                    tracing::debug!(ttft_ms = self.started.elapsed().as_millis() as u64, "llm first token");
                }
                self.deltas += 1;
                self.chars += text.len();
                return Some((Ok(text), self));
            }
        }
    }

    fn end(mut self) -> Option<(Result<String, LlmError>, Self)> {
        self.done = true;
        tracing::debug!(
            deltas = self.deltas,
            chars = self.chars,
            elapsed_ms = self.started.elapsed().as_millis() as u64,
            "llm stream finished"
        );
        None
    }

    fn fail(mut self, err: LlmError) -> Option<(Result<String, LlmError>, Self)> {
        self.done = true;
        tracing::warn!(
            kind = err.kind(),
            error = %err,
            deltas = self.deltas,
            elapsed_ms = self.started.elapsed().as_millis() as u64,
            "llm stream failed"
        );
        Some((Err(err), self))
    }
}

/// Maps an error from `create_stream` (before any chunk was read).
fn map_setup_error(e: &OpenAIError) -> LlmError {
    match e {
        OpenAIError::ApiError(api) => match api.status_code.as_u16() {
            429 => LlmError::RateLimited,
            status => LlmError::Upstream(status),
        },
        OpenAIError::Reqwest(e) => match e.status() {
            Some(s) if s.as_u16() == 429 => LlmError::RateLimited,
            Some(s) => LlmError::Upstream(s.as_u16()),
            None => LlmError::Transport(describe_reqwest(e)),
        },
        // A non-2xx answer whose body was not the OpenAI error JSON. The body may echo the
        // request, so it is deliberately not included.
        OpenAIError::JSONDeserialize(..) => LlmError::InvalidResponse("error response was not json".to_owned()),
        OpenAIError::StreamError(_) => LlmError::Dropped,
        OpenAIError::InvalidArgument(msg) => LlmError::InvalidResponse(msg.clone()),
        other => LlmError::InvalidResponse(format!("{other}")),
    }
}

/// Maps an error read from the SSE stream (after the response headers arrived).
fn map_stream_error(e: &OpenAIError) -> LlmError {
    match e {
        // The body broke off (connection reset, truncated chunked encoding, ...).
        OpenAIError::Reqwest(_) => LlmError::Dropped,
        OpenAIError::StreamError(inner) => match inner.as_ref() {
            StreamError::EventStream(_) => LlmError::Dropped,
            StreamError::UnknownEvent(_) => LlmError::InvalidResponse("unknown sse event".to_owned()),
        },
        // Never include the payload: it is model output about a patient conversation.
        OpenAIError::JSONDeserialize(err, _) => {
            LlmError::InvalidResponse(format!("malformed chunk: {}", json_category(err)))
        }
        // Some servers report errors in-band as an error event.
        OpenAIError::ApiError(api) if api.status_code.as_u16() == 429 => LlmError::RateLimited,
        OpenAIError::ApiError(api) => LlmError::Upstream(api.status_code.as_u16()),
        other => LlmError::InvalidResponse(format!("{other}")),
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let what = if e.is_connect() && e.is_timeout() {
        "connect timed out"
    } else if e.is_connect() {
        "connect failed"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_request() {
        "request failed"
    } else {
        "http error"
    };
    // The innermost source is usually the useful part ("Connection refused", "dns error", ...).
    let mut source: Option<&dyn std::error::Error> = e.source();
    let mut last = None;
    while let Some(s) = source {
        last = Some(s);
        source = s.source();
    }
    match last {
        Some(root) => format!("{what}: {root}"),
        None => what.to_owned(),
    }
}

fn json_category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "io",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "truncated",
    }
}
