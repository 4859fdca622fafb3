//! A small OpenAI-compatible streaming server for tests and load tests (also the `mock-llm` binary).
//!
//! Why this file exists: the real upstream is slow, costs money, rate-limits, and cannot be told to
//! fail on demand. This server speaks just enough HTTP/1.1 and SSE for async-openai (and any other
//! OpenAI client) to stream from it, with configurable time-to-first-token, token rate and faults,
//! so the real client code path can be tested and load-tested end to end.
//!
//! Deliberately minimal: raw tokio sockets, one task per connection, a hand-written request parser
//! with size limits, chunked responses with keep-alive (or `Connection: close`), and per-token work
//! limited to formatting one chunk into reused buffers. Routes:
//! - `POST /v1/chat/completions` (or `/chat/completions`): streams (or, with `"stream": false`,
//!   returns) a reply. The request header `x-mock-fault: 429|500|drop:N|hang|none` overrides the
//!   configured fault for that request, so one instance can serve many tests.
//!   In the grading mode ([`ReplyMode::Grade`]) a *grading request* (one that asks for
//!   `response_format` `json_object` or `json_schema`, as the risk second opinion does) is
//!   answered by [`Grading`] — a JSON grade derived from the request, or garbage, a wrong schema,
//!   a 500, each optionally late — and every other request gets the echo reply.
//! - `GET /health`: `200 ok`. `GET /v1/models`: a one-model list.

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::offline::word_pieces;

/// Largest accepted request head (request line + headers).
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers accepted in one request.
const MAX_HEADERS: usize = 100;
/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long an idle keep-alive connection (or a slow request head) is kept open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest pause between tokens (guards against absurd `tokens_per_sec` values).
const MAX_TOKEN_INTERVAL: Duration = Duration::from_secs(3600);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// How the mock behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// Delay between the response headers and the first content token.
    pub ttft: Duration,
    /// Token rate after the first token; `<= 0` or non-finite means as fast as possible.
    pub tokens_per_sec: f64,
    /// Failure to inject (overridable per request with the `x-mock-fault` header).
    pub fault: Fault,
    /// What the reply says.
    pub reply: ReplyMode,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self { ttft: Duration::from_millis(50), tokens_per_sec: 50.0, fault: Fault::None, reply: ReplyMode::Echo }
    }
}

/// An injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Behave normally.
    #[default]
    None,
    /// `429 Too Many Requests` with an OpenAI-style error body.
    RateLimit,
    /// `500 Internal Server Error` with an OpenAI-style error body.
    ServerError,
    /// Send this many content tokens, then close the socket: no `finish_reason`, no `[DONE]`.
    DropAfter(usize),
    /// Send the response headers (and the initial role-only chunk), then never a token.
    Hang,
}

impl FromStr for Fault {
    type Err = String;

    /// Parses `none`, `429`, `500`, `drop:N` or `hang`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "none" | "" => Ok(Fault::None),
            "429" | "rate-limit" | "ratelimit" => Ok(Fault::RateLimit),
            "500" | "server-error" => Ok(Fault::ServerError),
            "hang" => Ok(Fault::Hang),
            _ => match s.strip_prefix("drop:") {
                Some(n) => n.parse().map(Fault::DropAfter).map_err(|_| format!("bad token count in {s:?}")),
                None => Err(format!("unknown fault {s:?} (expected none, 429, 500, drop:N or hang)")),
            },
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::None => f.write_str("none"),
            Fault::RateLimit => f.write_str("429"),
            Fault::ServerError => f.write_str("500"),
            Fault::DropAfter(n) => write!(f, "drop:{n}"),
            Fault::Hang => f.write_str("hang"),
        }
    }
}

/// What the mock replies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReplyMode {
    /// The last user message's text, streamed word by word (the "streamed echo reply").
    #[default]
    Echo,
    /// Always this text.
    Fixed(String),
    /// This many filler words.
    Words(usize),
    /// Grading requests are answered as [`Grading`] says; every other request gets the echo reply.
    Grade(Grading),
}

impl FromStr for ReplyMode {
    type Err = String;

    /// Parses `echo`, `words:N`, `fixed:TEXT` or `grade:ANSWER[:DELAY_MS]` (see [`Grading`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("echo") {
            return Ok(ReplyMode::Echo);
        }
        if let Some(n) = s.strip_prefix("words:") {
            return n.trim().parse().map(ReplyMode::Words).map_err(|_| format!("bad word count in {s:?}"));
        }
        if let Some(text) = s.strip_prefix("fixed:") {
            return Ok(ReplyMode::Fixed(text.to_owned()));
        }
        if let Some(spec) = s.strip_prefix("grade:") {
            return spec.parse().map(ReplyMode::Grade);
        }
        Err(format!("unknown reply mode {s:?} (expected echo, words:N, fixed:TEXT or grade:ANSWER[:DELAY_MS])"))
    }
}

/// Opens the message being graded in a grading request (the risk second opinion writes the
/// message between these tags, after any earlier turns). The keyword grader reads only the text
/// between the last pair; without them it reads the whole last user message.
pub const GRADED_OPEN: &str = "<message>";
/// Closes the message being graded (see [`GRADED_OPEN`]).
pub const GRADED_CLOSE: &str = "</message>";

/// How the grading mode answers a grading request: `answer`, after `delay` (to be slower than a
/// caller's timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grading {
    pub answer: GradeAnswer,
    pub delay: Duration,
}

/// What a grading request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GradeAnswer {
    /// `{"level","reason"}` with a level chosen by keywords in the graded message ([`keyword_level`]).
    Keywords,
    /// `{"level","reason"}` with always this level (`none`, `low`, `moderate` or `high`).
    Level(&'static str),
    /// Prose, not JSON.
    Garbage,
    /// JSON of the wrong shape (an unknown level and an extra field).
    WrongSchema,
    /// `500 Internal Server Error` (an outage of the grader; chat requests are still served).
    Outage,
}

impl FromStr for Grading {
    type Err = String;

    /// Parses `ANSWER[:DELAY_MS]`: ANSWER is `keywords`, `none`, `low`, `moderate`, `high`,
    /// `garbage`, `schema` or `500`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (answer, delay) = match s.split_once(':') {
            Some((a, ms)) => {
                let ms: u64 = ms.trim().parse().map_err(|_| format!("bad grading delay in {s:?} (milliseconds)"))?;
                (a, Duration::from_millis(ms))
            }
            None => (s, Duration::ZERO),
        };
        let answer = match answer.trim().to_ascii_lowercase().as_str() {
            "keywords" => GradeAnswer::Keywords,
            "none" => GradeAnswer::Level("none"),
            "low" => GradeAnswer::Level("low"),
            "moderate" => GradeAnswer::Level("moderate"),
            "high" => GradeAnswer::Level("high"),
            "garbage" => GradeAnswer::Garbage,
            "schema" => GradeAnswer::WrongSchema,
            "500" | "outage" => GradeAnswer::Outage,
            other => {
                return Err(format!(
                    "unknown grading answer {other:?} (expected keywords, none, low, moderate, high, garbage, schema or 500)"
                ));
            }
        };
        Ok(Grading { answer, delay })
    }
}

/// Keywords of the mock grader, checked in this order (lower-cased substring match): the first
/// list with a hit gives the level; no hit gives `none`. Crude on purpose — a test double, not a
/// detector.
const KEYWORDS: &[(&str, &[&str])] = &[
    ("high", &["goodbye", "railing", "engine running", "railway line", "tonight", "pills", "tablets"]),
    ("moderate", &["bridge", "method", "jump"]),
    ("low", &["not wake up", "wish i was dead", "wish i were dead", "disappear", "better off without me"]),
];

/// The mock grader's level for a message, and the keyword that decided it.
pub fn keyword_level(text: &str) -> (&'static str, Option<&'static str>) {
    let lower = text.to_lowercase();
    for (level, words) in KEYWORDS {
        if let Some(word) = words.iter().find(|w| lower.contains(**w)) {
            return (level, Some(word));
        }
    }
    ("none", None)
}

/// The text the grader grades: between the last [`GRADED_OPEN`]/[`GRADED_CLOSE`] pair, else all.
fn graded_text(text: &str) -> &str {
    match text.rfind(GRADED_OPEN) {
        Some(at) => {
            let rest = &text[at + GRADED_OPEN.len()..];
            rest.find(GRADED_CLOSE).map_or(rest, |end| &rest[..end])
        }
        None => text,
    }
}

fn grade_json(level: &str, reason: &str) -> String {
    serde_json::json!({"level": level, "reason": reason}).to_string()
}

/// Counts of what a mock served (see [`MockServer::graded`]).
#[derive(Debug, Default)]
struct Stats {
    graded: AtomicU64,
}

const FILLER: &[&str] = &[
    "thank", "you", "for", "sharing", "that", "with", "me", "it", "sounds", "like", "a", "lot", "to", "carry", "right",
    "now",
];

fn filler_words(n: usize) -> String {
    let mut out = String::with_capacity(n * 6);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(FILLER[i % FILLER.len()]);
    }
    out
}

/// A mock running on a background task; shuts down when dropped.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stats: Arc<Stats>,
}

impl MockServer {
    /// Binds `127.0.0.1:0` and serves `cfg` on a spawned task. Must be called inside a tokio runtime.
    pub async fn start(cfg: MockConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stats = Arc::new(Stats::default());
        tokio::spawn(serve_counting(listener, cfg, stats.clone(), stopped));
        Ok(Self { addr, stop: Some(stop), stats })
    }

    /// Grading requests received so far (whatever they were answered).
    pub fn graded(&self) -> u64 {
        self.stats.graded.load(Ordering::Relaxed)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give an OpenAI client, e.g. `http://127.0.0.1:40123/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves connections from `listener` until `shutdown` completes, then stops accepting and aborts
/// in-flight connections (a mock has no work worth draining).
pub async fn serve(listener: TcpListener, cfg: MockConfig, shutdown: impl Future) {
    serve_counting(listener, cfg, Arc::new(Stats::default()), shutdown).await;
}

async fn serve_counting(listener: TcpListener, cfg: MockConfig, stats: Arc<Stats>, shutdown: impl Future) {
    let cfg = Arc::new(cfg);
    let mut conns = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    tracing::info!(addr = ?listener.local_addr().ok(), fault = %cfg.fault, "mock llm serving");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((sock, _peer)) => {
                    let cfg = Arc::clone(&cfg);
                    let stats = Arc::clone(&stats);
                    conns.spawn(async move {
                        if let Err(e) = handle_conn(sock, cfg, stats).await {
                            tracing::debug!(error = %e, "mock llm connection ended with error");
                        }
                    });
                }
                Err(e) => {
                    // Usually EMFILE under load: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "mock llm accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
    conns.shutdown().await;
    tracing::info!("mock llm stopped");
}

/// A parsed request.
struct Request {
    method: String,
    path: String,
    keep_alive: bool,
    fault: Option<String>,
    body: Vec<u8>,
}

/// Why a request could not be read.
enum ReadError {
    Io(std::io::Error),
    /// Answer with this status and message, then close.
    Bad(u16, &'static str),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Buffers reused for every chunk written on one connection.
#[derive(Default)]
struct Bufs {
    payload: Vec<u8>,
    frame: Vec<u8>,
}

async fn handle_conn(mut sock: TcpStream, cfg: Arc<MockConfig>, stats: Arc<Stats>) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let (rd, mut wr) = sock.split();
    let mut rd = BufReader::with_capacity(8 * 1024, rd);
    let mut bufs = Bufs::default();
    loop {
        let req = match tokio::time::timeout(IDLE_TIMEOUT, read_request(&mut rd)).await {
            Err(_) => return Ok(()),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(req))) => req,
            Ok(Err(ReadError::Io(e))) => return Err(e),
            Ok(Err(ReadError::Bad(status, msg))) => {
                let body = error_json(msg, "invalid_request_error");
                write_simple(&mut wr, status, "application/json", body.as_bytes(), false).await?;
                return Ok(());
            }
        };
        let keep_alive = respond(&mut rd, &mut wr, req, &cfg, &stats, &mut bufs).await?;
        if !keep_alive {
            let _ = wr.shutdown().await;
            return Ok(());
        }
    }
}

/// Reads one line (ending in `\n`) into `line`, spending at most `budget` bytes. `Ok(false)` on a
/// clean end of input before any byte.
async fn read_line<R: AsyncBufRead + Unpin>(
    rd: &mut R,
    line: &mut Vec<u8>,
    budget: &mut usize,
) -> Result<bool, ReadError> {
    line.clear();
    let n = (&mut *rd).take(*budget as u64 + 1).read_until(b'\n', line).await?;
    if n == 0 {
        return Ok(false);
    }
    if line.last() != Some(&b'\n') {
        if n > *budget {
            return Err(ReadError::Bad(431, "request head too large"));
        }
        return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    *budget -= n;
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(true)
}

async fn read_request<R: AsyncBufRead + Unpin>(rd: &mut R) -> Result<Option<Request>, ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    let mut line = Vec::with_capacity(256);

    // Request line (tolerating blank lines before it, as RFC 9112 allows).
    loop {
        if !read_line(rd, &mut line, &mut budget).await? {
            return Ok(None);
        }
        if !line.is_empty() {
            break;
        }
    }
    let request_line = std::str::from_utf8(&line).map_err(|_| ReadError::Bad(400, "request line is not utf-8"))?;
    let mut parts = request_line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "malformed request line"));
    };
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => {
            return Err(ReadError::Bad(505, "only HTTP/1.0 and HTTP/1.1 are supported"));
        }
    };
    let method = method.to_owned();
    let path = target.split('?').next().unwrap_or(target).to_owned();

    let mut content_length: Option<usize> = None;
    let mut fault = None;
    let mut headers = 0;
    loop {
        if !read_line(rd, &mut line, &mut budget).await? {
            return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if line.is_empty() {
            break;
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(ReadError::Bad(431, "too many headers"));
        }
        let header = std::str::from_utf8(&line).map_err(|_| ReadError::Bad(400, "header is not utf-8"))?;
        let Some((name, value)) = header.split_once(':') else {
            return Err(ReadError::Bad(400, "malformed header"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.parse().map_err(|_| ReadError::Bad(400, "bad content-length"))?;
            if content_length.is_some_and(|prev| prev != n) {
                return Err(ReadError::Bad(400, "conflicting content-length"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ReadError::Bad(501, "chunked request bodies are not supported"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',') {
                let token = token.trim();
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("x-mock-fault") {
            fault = Some(value.to_owned());
        }
    }

    let len = content_length.unwrap_or(0);
    if len > MAX_BODY_BYTES {
        return Err(ReadError::Bad(413, "request body too large"));
    }
    let mut body = vec![0; len];
    rd.read_exact(&mut body).await?;
    Ok(Some(Request { method, path, keep_alive, fault, body }))
}

#[derive(Deserialize)]
struct ChatBody {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<ChatMessage>,
    #[serde(default)]
    stream: Option<bool>,
    /// `{"type":"json_object"}` (or `json_schema`) marks a grading request.
    #[serde(default)]
    response_format: Option<serde_json::Value>,
}

impl ChatBody {
    fn is_grading(&self) -> bool {
        let kind = self.response_format.as_ref().and_then(|f| f.get("type")).and_then(|t| t.as_str());
        matches!(kind, Some("json_object" | "json_schema"))
    }

    fn last_user_text(&self) -> String {
        self.messages.iter().rev().find(|m| m.role == "user").map(|m| content_text(&m.content)).unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct ChatMessage {
    role: String,
    #[serde(default)]
    content: serde_json::Value,
}

/// Message content is either a string or an array of parts (`{"type":"text","text":..}`).
fn content_text(content: &serde_json::Value) -> String {
    match content {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => {
            parts.iter().filter_map(|p| p.get("text").and_then(|t| t.as_str())).collect::<Vec<_>>().join("")
        }
        _ => String::new(),
    }
}

/// Answers one request. Returns whether the connection may be reused.
async fn respond<R, W>(
    rd: &mut R,
    wr: &mut W,
    req: Request,
    cfg: &MockConfig,
    stats: &Stats,
    bufs: &mut Bufs,
) -> std::io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let keep_alive = req.keep_alive;
    let is_completions = matches!(req.path.as_str(), "/v1/chat/completions" | "/chat/completions");
    match (req.method.as_str(), req.path.as_str()) {
        ("GET" | "HEAD", "/health") => {
            write_simple(wr, 200, "text/plain", b"ok", keep_alive).await?;
            return Ok(keep_alive);
        }
        ("GET", "/v1/models" | "/models") => {
            let body = r#"{"object":"list","data":[{"id":"mock-llm","object":"model","created":0,"owned_by":"healing-space"}]}"#;
            write_simple(wr, 200, "application/json", body.as_bytes(), keep_alive).await?;
            return Ok(keep_alive);
        }
        ("POST", _) if is_completions => {}
        (_, _) if is_completions => {
            let body = error_json("method not allowed", "invalid_request_error");
            write_simple(wr, 405, "application/json", body.as_bytes(), keep_alive).await?;
            return Ok(keep_alive);
        }
        _ => {
            let body = error_json("not found", "invalid_request_error");
            write_simple(wr, 404, "application/json", body.as_bytes(), keep_alive).await?;
            return Ok(keep_alive);
        }
    }

    let fault = match req.fault.as_deref().map(Fault::from_str) {
        None => cfg.fault,
        Some(Ok(f)) => f,
        Some(Err(_)) => {
            let body = error_json("bad x-mock-fault header", "invalid_request_error");
            write_simple(wr, 400, "application/json", body.as_bytes(), keep_alive).await?;
            return Ok(keep_alive);
        }
    };
    let chat: ChatBody = match serde_json::from_slice(&req.body) {
        Ok(c) => c,
        Err(_) => {
            let body = error_json("body is not a chat completion request", "invalid_request_error");
            write_simple(wr, 400, "application/json", body.as_bytes(), keep_alive).await?;
            return Ok(keep_alive);
        }
    };
    match fault {
        Fault::RateLimit => {
            let body = r#"{"error":{"message":"Rate limit reached for model (mock).","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}"#;
            write_simple(wr, 429, "application/json", body.as_bytes(), keep_alive).await?;
            return Ok(keep_alive);
        }
        Fault::ServerError => {
            let body = error_json("internal server error (mock)", "server_error");
            write_simple(wr, 500, "application/json", body.as_bytes(), keep_alive).await?;
            return Ok(keep_alive);
        }
        Fault::None | Fault::DropAfter(_) | Fault::Hang => {}
    }

    let reply = match &cfg.reply {
        ReplyMode::Grade(grading) if chat.is_grading() => {
            stats.graded.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(grading.delay).await;
            match grading.answer {
                GradeAnswer::Keywords => {
                    let (level, word) = keyword_level(graded_text(&chat.last_user_text()));
                    let reason = match word {
                        Some(w) => format!("mock grader: the message mentions {w:?}"),
                        None => "mock grader: no keyword".to_owned(),
                    };
                    grade_json(level, &reason)
                }
                GradeAnswer::Level(level) => grade_json(level, "mock grader: fixed level"),
                GradeAnswer::Garbage => "I think this message is probably high risk, but I'm not sure.".to_owned(),
                GradeAnswer::WrongSchema => r#"{"level":"severe","reason":"mock","confidence":0.9}"#.to_owned(),
                GradeAnswer::Outage => {
                    let body = error_json("internal server error (mock grader outage)", "server_error");
                    write_simple(wr, 500, "application/json", body.as_bytes(), keep_alive).await?;
                    return Ok(keep_alive);
                }
            }
        }
        ReplyMode::Echo | ReplyMode::Grade(_) => chat.last_user_text(),
        ReplyMode::Fixed(text) => text.clone(),
        ReplyMode::Words(n) => filler_words(*n),
    };
    let model = chat.model.unwrap_or_else(|| "mock-llm".to_owned());
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0);

    if chat.stream == Some(false) {
        return respond_whole(rd, wr, fault, &reply, &model, id, created, keep_alive).await;
    }

    // Streaming.
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         transfer-encoding: chunked\r\nconnection: {}\r\n\r\n",
        if keep_alive { "keep-alive" } else { "close" }
    );
    wr.write_all(head.as_bytes()).await?;
    let model_json = serde_json::to_string(&model).unwrap_or_else(|_| "\"mock-llm\"".to_owned());
    let prefix = format!(
        "data: {{\"id\":\"chatcmpl-mock-{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":{model_json},\"choices\":[{{\"index\":0,\"delta\":{{"
    );

    // Like real servers, announce the role first with empty content.
    bufs.payload.clear();
    bufs.payload.extend_from_slice(prefix.as_bytes());
    bufs.payload.extend_from_slice(br#""role":"assistant","content":""},"finish_reason":null}]}"#);
    bufs.payload.extend_from_slice(b"\n\n");
    write_chunk(wr, &mut bufs.frame, &bufs.payload).await?;

    if fault == Fault::Hang {
        wait_for_close(rd).await;
        return Ok(false);
    }

    let interval = token_interval(cfg.tokens_per_sec);
    let first_at = Instant::now() + cfg.ttft;
    let limit = match fault {
        Fault::DropAfter(n) => Some(n),
        _ => None,
    };
    for (i, piece) in word_pieces(&reply).enumerate() {
        if limit == Some(i) {
            return Ok(false);
        }
        let due = u32::try_from(i)
            .ok()
            .and_then(|i| interval.checked_mul(i))
            .and_then(|offset| first_at.checked_add(offset))
            .unwrap_or(first_at);
        tokio::time::sleep_until(due).await;
        bufs.payload.clear();
        bufs.payload.extend_from_slice(prefix.as_bytes());
        bufs.payload.extend_from_slice(br#""content":"#);
        serde_json::to_writer(&mut bufs.payload, piece).map_err(std::io::Error::other)?;
        bufs.payload.extend_from_slice(br#"},"finish_reason":null}]}"#);
        bufs.payload.extend_from_slice(b"\n\n");
        write_chunk(wr, &mut bufs.frame, &bufs.payload).await?;
    }
    if limit.is_some() {
        // Fewer tokens than the drop point: still end without finish_reason or [DONE].
        return Ok(false);
    }
    if reply.is_empty() {
        tokio::time::sleep_until(first_at).await;
    }

    bufs.payload.clear();
    bufs.payload.extend_from_slice(prefix.as_bytes());
    bufs.payload.extend_from_slice(br#"},"finish_reason":"stop"}]}"#);
    bufs.payload.extend_from_slice(b"\n\ndata: [DONE]\n\n");
    bufs.frame.clear();
    let _ = write!(bufs.frame, "{:x}\r\n", bufs.payload.len());
    bufs.frame.extend_from_slice(&bufs.payload);
    bufs.frame.extend_from_slice(b"\r\n0\r\n\r\n");
    wr.write_all(&bufs.frame).await?;
    Ok(keep_alive)
}

/// A non-streaming completion (`"stream": false`).
#[allow(clippy::too_many_arguments)]
async fn respond_whole<R, W>(
    rd: &mut R,
    wr: &mut W,
    fault: Fault,
    reply: &str,
    model: &str,
    id: u64,
    created: u32,
    keep_alive: bool,
) -> std::io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match fault {
        Fault::Hang => {
            wait_for_close(rd).await;
            Ok(false)
        }
        Fault::DropAfter(_) => Ok(false),
        _ => {
            let words = word_pieces(reply).count();
            let body = serde_json::json!({
                "id": format!("chatcmpl-mock-{id}"),
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }],
                "usage": {"prompt_tokens": 0, "completion_tokens": words, "total_tokens": words},
            })
            .to_string();
            write_simple(wr, 200, "application/json", body.as_bytes(), keep_alive).await?;
            Ok(keep_alive)
        }
    }
}

fn token_interval(tokens_per_sec: f64) -> Duration {
    if tokens_per_sec.is_finite() && tokens_per_sec > 0.0 {
        Duration::try_from_secs_f64(1.0 / tokens_per_sec).unwrap_or(MAX_TOKEN_INTERVAL).min(MAX_TOKEN_INTERVAL)
    } else {
        Duration::ZERO
    }
}

/// Holds the connection open until the peer closes it (for [`Fault::Hang`]).
async fn wait_for_close<R: AsyncRead + Unpin>(rd: &mut R) {
    let mut scratch = [0u8; 512];
    loop {
        match rd.read(&mut scratch).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn write_chunk<W: AsyncWrite + Unpin>(wr: &mut W, frame: &mut Vec<u8>, payload: &[u8]) -> std::io::Result<()> {
    frame.clear();
    let _ = write!(frame, "{:x}\r\n", payload.len());
    frame.extend_from_slice(payload);
    frame.extend_from_slice(b"\r\n");
    wr.write_all(frame).await
}

async fn write_simple<W: AsyncWrite + Unpin>(
    wr: &mut W,
    status: u16,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    };
    let mut out = Vec::with_capacity(160 + body.len());
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: {}\r\n\r\n",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    out.extend_from_slice(body);
    wr.write_all(&out).await
}

fn error_json(message: &str, kind: &str) -> String {
    serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": null}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_parse_round_trip() {
        for f in [Fault::None, Fault::RateLimit, Fault::ServerError, Fault::DropAfter(3), Fault::Hang] {
            assert_eq!(f.to_string().parse::<Fault>(), Ok(f));
        }
        assert!("drop:x".parse::<Fault>().is_err());
        assert!("explode".parse::<Fault>().is_err());
    }

    #[test]
    fn reply_parse() {
        assert_eq!("echo".parse::<ReplyMode>(), Ok(ReplyMode::Echo));
        assert_eq!("words:7".parse::<ReplyMode>(), Ok(ReplyMode::Words(7)));
        assert_eq!("fixed:hi there".parse::<ReplyMode>(), Ok(ReplyMode::Fixed("hi there".into())));
        assert!("words:".parse::<ReplyMode>().is_err());
        assert_eq!(
            "grade:high".parse::<ReplyMode>(),
            Ok(ReplyMode::Grade(Grading { answer: GradeAnswer::Level("high"), delay: Duration::ZERO }))
        );
        assert_eq!(
            "grade:garbage:1500".parse::<ReplyMode>(),
            Ok(ReplyMode::Grade(Grading { answer: GradeAnswer::Garbage, delay: Duration::from_millis(1500) }))
        );
        assert_eq!("500".parse::<Grading>().map(|g| g.answer), Ok(GradeAnswer::Outage));
        assert_eq!("schema".parse::<Grading>().map(|g| g.answer), Ok(GradeAnswer::WrongSchema));
        assert_eq!("keywords".parse::<Grading>().map(|g| g.answer), Ok(GradeAnswer::Keywords));
        assert!("grade:extreme".parse::<ReplyMode>().is_err());
        assert!("grade:high:soon".parse::<ReplyMode>().is_err());
    }

    #[test]
    fn keyword_grader_reads_only_the_graded_message() {
        assert_eq!(keyword_level("I gave the dog to my neighbour and said goodbye").0, "high");
        assert_eq!(keyword_level("which bridge").0, "moderate");
        assert_eq!(keyword_level("I hope I do not wake up").0, "low");
        assert_eq!(keyword_level("I had pasta").0, "none");
        let request = "Earlier: <earlier>my pills are here</earlier>\n<message>thanks, that helps</message>";
        assert_eq!(keyword_level(graded_text(request)).0, "none");
        assert_eq!(graded_text("no tags at all"), "no tags at all");
    }

    #[test]
    fn filler_has_n_words() {
        assert_eq!(filler_words(0), "");
        assert_eq!(filler_words(20).split(' ').count(), 20);
    }

    #[tokio::test]
    async fn parses_request_and_limits() {
        let raw = b"\r\nPOST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nX-Mock-Fault: hang\r\nConnection: close\r\n\r\n{}";
        let mut rd = BufReader::new(&raw[..]);
        let Ok(Some(req)) = read_request(&mut rd).await else {
            panic!("expected a request");
        };
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/v1/chat/completions");
        assert!(!req.keep_alive);
        assert_eq!(req.fault.as_deref(), Some("hang"));
        assert_eq!(req.body, b"{}");

        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD_BYTES));
        let mut rd = BufReader::new(huge.as_bytes());
        assert!(matches!(read_request(&mut rd).await, Err(ReadError::Bad(431, _))));

        let big_body = format!("POST /v1/chat/completions HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY_BYTES + 1);
        let mut rd = BufReader::new(big_body.as_bytes());
        assert!(matches!(read_request(&mut rd).await, Err(ReadError::Bad(413, _))));

        let mut rd = BufReader::new(&b""[..]);
        assert!(matches!(read_request(&mut rd).await, Ok(None)));
    }
}
