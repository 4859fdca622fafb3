//! The server's configuration: one documented struct, every field a flag with an environment
//! variable, validated once at start (README "Configuration" lists them all).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use healing_protocol::crisis::Catalogues;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `healing-space serve` options.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(long, env = "HEALING_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// HTTP worker threads (0 = one per CPU core).
    #[arg(long, env = "HEALING_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// OpenAI-compatible base URL for the AI companion (e.g. https://api.groq.com/openai/v1).
    /// Needs an API key in HEALING_LLM_API_KEY or GROQ_API_KEY; with a key and no URL, Groq is used.
    #[arg(long, env = "HEALING_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,

    /// Model name sent upstream.
    #[arg(long, env = "HEALING_LLM_MODEL", default_value = "llama-3.3-70b-versatile")]
    pub llm_model: String,

    /// Connect timeout for the model server.
    #[arg(long, env = "HEALING_LLM_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub llm_connect_timeout: Duration,

    /// Longest wait for the first token of a reply.
    #[arg(long, env = "HEALING_LLM_FIRST_TOKEN_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub llm_first_token_timeout: Duration,

    /// Longest gap between two tokens of a reply.
    #[arg(long, env = "HEALING_LLM_IDLE_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub llm_idle_timeout: Duration,

    /// Pause between words of the offline responder (its "typing" pace).
    #[arg(long, env = "HEALING_OFFLINE_WORD_DELAY", default_value = "60ms", value_parser = parse_duration)]
    pub offline_word_delay: Duration,

    /// Largest WebSocket frame accepted, in bytes.
    #[arg(long, env = "HEALING_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// How long a new WebSocket may take to send `hello`.
    #[arg(long, env = "HEALING_HELLO_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub hello_timeout: Duration,

    /// Interval between server pings.
    #[arg(long, env = "HEALING_HEARTBEAT_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,

    /// A socket silent for this long is closed.
    #[arg(long, env = "HEALING_IDLE_TIMEOUT", default_value = "45s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// Bytes of frames that may wait for one client before it is disconnected as a slow consumer
    /// (close code 4008). Large enough for a burst of a whole AI reply.
    #[arg(long, env = "HEALING_SESSION_QUEUE_BYTES", default_value_t = 1024 * 1024)]
    pub session_queue_bytes: usize,

    /// Frames per second one socket may send (bursts of twice this are allowed).
    #[arg(long, env = "HEALING_FRAMES_PER_SECOND", default_value_t = 20)]
    pub frames_per_second: u32,

    /// AI replies streaming on this node above which each reply's tokens are sent coalesced, at
    /// most every 200 ms (AI streams degrade first under load; alerts never do). 0 coalesces
    /// always.
    #[arg(long, env = "HEALING_AI_COALESCE_ABOVE_STREAMS", default_value_t = 200)]
    pub ai_coalesce_above_streams: u32,

    /// Sockets one account may have open on this node at once (tabs, windows, devices). One more
    /// is refused: with `429` before the upgrade when the token comes in the `Authorization`
    /// header, else after `hello` with a `rate_limited` error and close code 4429.
    #[arg(long, env = "HEALING_MAX_SOCKETS_PER_USER", default_value_t = 32)]
    pub max_sockets_per_user: usize,

    /// Sockets one remote address (IPv6: one /64) may have open on this node at once; one more is
    /// refused before the upgrade with `429`. Generous so that many people behind one NAT are not
    /// refused; behind a reverse proxy every client shares the proxy's address, so raise it there.
    #[arg(long, env = "HEALING_MAX_SOCKETS_PER_IP", default_value_t = 5000)]
    pub max_sockets_per_ip: usize,

    /// Sockets upgraded but not yet authenticated (no `hello` yet), on the whole node; one more is
    /// refused before the upgrade with `429`. Each also has `--hello-timeout` to authenticate.
    #[arg(long, env = "HEALING_MAX_UNAUTHENTICATED_SOCKETS", default_value_t = 1000)]
    pub max_unauthenticated_sockets: usize,

    /// Conversations one patient may have; a `chat.send` that would start one more answers a
    /// `conflict` error naming the cap and stores nothing (existing conversations still work).
    #[arg(long, env = "HEALING_MAX_CONVERSATIONS_PER_PATIENT", default_value_t = 1000)]
    pub max_conversations_per_patient: u32,

    /// Lifetime of a bearer token.
    #[arg(long, env = "HEALING_TOKEN_TTL", default_value = "12h", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// Failed sign-ins allowed per minute from one IP address for one username.
    #[arg(long, env = "HEALING_LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 10)]
    pub login_attempts_per_minute: u32,

    /// Failed sign-ins allowed per minute from one IP address, all usernames together (generous,
    /// so that many people behind one NAT are not refused).
    #[arg(long, env = "HEALING_LOGIN_FAILURES_PER_IP_PER_MINUTE", default_value_t = 100)]
    pub login_failures_per_ip_per_minute: u32,

    /// Wrong passwords for one account before its backoff starts (1 s, doubling per further
    /// failure up to `--login-backoff-max`; a known device is not held by it).
    #[arg(long, env = "HEALING_LOGIN_FREE_FAILURES", default_value_t = 5)]
    pub login_free_failures: u32,

    /// The longest per-account sign-in backoff. There is no permanent lockout.
    #[arg(long, env = "HEALING_LOGIN_BACKOFF_MAX", default_value = "15m", value_parser = parse_duration)]
    pub login_backoff_max: Duration,

    /// Accounts one IP address may register per hour (`POST /api/v1/auth/register`).
    #[arg(long, env = "HEALING_REGISTRATIONS_PER_IP_PER_HOUR", default_value_t = 20)]
    pub registrations_per_ip_per_hour: u32,

    /// Password hashing jobs queued or running on the node (two threads do the work); sign-ins
    /// and registrations past it answer `503` with `Retry-After` at once.
    #[arg(long, env = "HEALING_MAX_PASSWORD_JOBS", default_value_t = 64)]
    pub max_password_jobs: usize,

    /// Key (any text, 32+ characters) that signs the device cookies a successful sign-in sets.
    /// Give every node the same one; unset, each start makes a random key (devices are then
    /// known to this node until it restarts).
    #[arg(long, env = "HEALING_DEVICE_COOKIE_KEY", hide_env_values = true)]
    pub device_cookie_key: Option<String>,

    /// How often an open socket reads its token again from the store (a logout or disable whose
    /// close order another node missed closes it then; expiry is closed exactly by a timer).
    #[arg(long, env = "HEALING_SESSION_RECHECK", default_value = "60s", value_parser = parse_duration)]
    pub session_recheck: Duration,

    /// Time allowed for streams to finish and connections to close on SIGTERM.
    #[arg(long, env = "HEALING_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// A high-risk alert not acknowledged within this escalates to the team's supervisors.
    #[arg(long, env = "HEALING_ACK_DEADLINE_HIGH", default_value = "2m", value_parser = parse_duration)]
    pub ack_deadline_high: Duration,

    /// A moderate-risk alert not acknowledged within this escalates (low-risk alerts never do).
    #[arg(long, env = "HEALING_ACK_DEADLINE_MODERATE", default_value = "15m", value_parser = parse_duration)]
    pub ack_deadline_moderate: Duration,

    /// Acknowledging a high-risk alert schedules a follow-up due this much later (contract §4.7);
    /// one not done by then escalates to the supervisors with `follow_up_missed`.
    #[arg(long, env = "HEALING_FOLLOW_UP_AFTER", default_value = "24h", value_parser = parse_duration)]
    pub follow_up_after: Duration,

    /// How often stored alert deadlines are checked.
    #[arg(long, env = "HEALING_ESCALATION_SWEEP", default_value = "1s", value_parser = parse_duration)]
    pub escalation_sweep: Duration,

    /// How long a patient's erasure (`DELETE /api/v1/patients/{id}`) waits before it is carried
    /// out; the account is disabled at once and the erasure can be cancelled meanwhile. `0`
    /// erases at once.
    #[arg(long, env = "HEALING_ERASURE_GRACE", default_value = "7d", value_parser = parse_duration)]
    pub erasure_grace: Duration,

    /// How often stored erasure deadlines (and, on the embedded store, `--retention-days`) are
    /// checked.
    #[arg(long, env = "HEALING_DATA_RIGHTS_SWEEP", default_value = "30s", value_parser = parse_duration)]
    pub data_rights_sweep: Duration,

    /// A patient message still unscreened this long after it was stored was left by a node that
    /// stopped between acknowledging and screening it: screen it now. Also how often the store is
    /// swept for such messages.
    #[arg(long, env = "HEALING_RESCREEN_AFTER", default_value = "15s", value_parser = parse_duration)]
    pub rescreen_after: Duration,

    /// The deployment's crisis catalogue: a `crisis/<deployment>/<language>.toml` file, or the
    /// directory of one deployment's languages. It holds the crisis services and every crisis text
    /// patients are shown; checked at start. Default: the built-in UK English one.
    #[arg(long, env = "HEALING_CRISIS_CATALOGUE")]
    pub crisis_catalogue: Option<PathBuf>,

    /// The deployment's language: which catalogue of the directory patients get by default
    /// (default: the only one, else `en`).
    #[arg(long, env = "HEALING_CRISIS_LANGUAGE")]
    pub crisis_language: Option<String>,

    /// Removed: replaced by --crisis-catalogue (a node given it refuses to start and says so).
    #[arg(long, env = "HEALING_CRISIS_RESOURCES", hide = true)]
    pub crisis_resources: Option<PathBuf>,

    /// Ask the configured model (not the offline responder) for a second opinion on every patient
    /// message the risk engine grades below high; it may only raise the level, never lower it.
    #[arg(long, env = "HEALING_LLM_SECOND_OPINION", default_value_t = true, action = clap::ArgAction::Set)]
    pub llm_second_opinion: bool,

    /// Second-opinion calls to the model in flight at once (per node).
    #[arg(long, env = "HEALING_LLM_SECOND_OPINION_CONCURRENCY", default_value_t = 8)]
    pub llm_second_opinion_concurrency: usize,

    /// How long a message may wait for a free second-opinion slot before it is shed (counted as
    /// `shed`; the engine's grade stands).
    #[arg(long, env = "HEALING_LLM_SECOND_OPINION_QUEUE_WAIT", default_value = "100ms", value_parser = parse_duration)]
    pub llm_second_opinion_queue_wait: Duration,

    /// Longest wait for one second-opinion answer.
    #[arg(long, env = "HEALING_LLM_SECOND_OPINION_TIMEOUT", default_value = "8s", value_parser = parse_duration)]
    pub llm_second_opinion_timeout: Duration,

    /// Consecutive second-opinion failures (errors, timeouts, malformed answers) that open its
    /// circuit breaker.
    #[arg(long, env = "HEALING_LLM_SECOND_OPINION_BREAKER_FAILURES", default_value_t = 5)]
    pub llm_second_opinion_breaker_failures: u32,

    /// How long an open second-opinion circuit asks nothing before one probe call.
    #[arg(long, env = "HEALING_LLM_SECOND_OPINION_BREAKER_COOLDOWN", default_value = "30s", value_parser = parse_duration)]
    pub llm_second_opinion_breaker_cooldown: Duration,

    /// Characters of the patient's earlier messages (at most 3) sent with a second-opinion request.
    #[arg(long, env = "HEALING_LLM_SECOND_OPINION_CONTEXT_CHARS", default_value_t = 1000)]
    pub llm_second_opinion_context_chars: usize,

    /// Redis URL of the cross-node bus (e.g. redis://127.0.0.1:6379). Without it the node runs
    /// alone with an in-process bus.
    #[arg(long, env = "HEALING_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Log format.
    #[arg(long, env = "HEALING_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Which storage backend a node uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// The embedded store (SQLite under `--data-dir`); nothing to install.
    Sqlite,
    /// ScyllaDB (`--scylla-nodes`), for production clusters.
    Scylla,
}

/// Where data lives (shared by `serve` and the admin subcommands).
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Storage backend.
    #[arg(long = "store", env = "HEALING_STORE", value_enum, default_value = "sqlite")]
    pub kind: StoreKind,

    /// Directory of the embedded store.
    #[arg(long, env = "HEALING_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// ScyllaDB contact points, comma-separated `host:port`.
    #[arg(long, env = "HEALING_SCYLLA_NODES", value_delimiter = ',', default_value = "127.0.0.1:9042")]
    pub scylla_nodes: Vec<String>,

    /// ScyllaDB keyspace (created with `--scylla-replication` if missing).
    #[arg(long, env = "HEALING_SCYLLA_KEYSPACE", default_value = "healing_space")]
    pub scylla_keyspace: String,

    /// Keyspace replication: a factor (`3`, SimpleStrategy) or per-datacenter factors
    /// (`dc1:3,dc2:3`, NetworkTopologyStrategy).
    #[arg(long, env = "HEALING_SCYLLA_REPLICATION", default_value = "1")]
    pub scylla_replication: String,

    /// Days to keep messages: a TTL on ScyllaDB, a purge every `--data-rights-sweep` (audited) on
    /// the embedded store. Unset: keep until erased.
    #[arg(long, env = "HEALING_RETENTION_DAYS")]
    pub retention_days: Option<u32>,
}

/// Secrets come from the environment only, never from flags (flags show up in `ps`).
pub fn llm_api_key() -> Option<String> {
    ["HEALING_LLM_API_KEY", "GROQ_API_KEY"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
}

impl ServeConfig {
    /// The deployment's crisis catalogues, loaded and checked (the error names the file and field).
    pub fn crisis_catalogues(&self) -> Result<Catalogues, String> {
        if self.crisis_resources.is_some() {
            return Err("--crisis-resources (HEALING_CRISIS_RESOURCES) was replaced by --crisis-catalogue \
                 (HEALING_CRISIS_CATALOGUE): a list of services alone left the UK crisis texts (999, 116 123) \
                 in every message. Copy crisis/uk/en.toml, put the deployment's services and texts in it, and \
                 pass it with --crisis-catalogue"
                .into());
        }
        match &self.crisis_catalogue {
            Some(path) => Catalogues::load(path, self.crisis_language.as_deref()).map_err(|e| e.to_string()),
            None => match self.crisis_language.as_deref() {
                None | Some("en") => Ok(Catalogues::default()),
                Some(other) => Err(format!(
                    "--crisis-language {other}: the built-in catalogue is English only; pass --crisis-catalogue"
                )),
            },
        }
    }

    /// Checks the combination of options; the error says what to change.
    pub fn validate(&self) -> Result<(), String> {
        self.crisis_catalogues()?;
        if !(1024..=16 * 1024 * 1024).contains(&self.max_frame_bytes) {
            return Err("--max-frame-bytes must be between 1024 and 16777216".into());
        }
        if self.idle_timeout <= self.heartbeat_interval {
            return Err("--idle-timeout must be longer than --heartbeat-interval".into());
        }
        if self.session_queue_bytes < 16 * 1024 {
            return Err("--session-queue-bytes must be at least 16384".into());
        }
        if self.frames_per_second == 0
            || self.login_attempts_per_minute == 0
            || self.login_failures_per_ip_per_minute == 0
            || self.registrations_per_ip_per_hour == 0
            || self.max_password_jobs == 0
        {
            return Err("rate limits must be at least 1".into());
        }
        if !(1..=100_000).contains(&self.max_sockets_per_user) {
            return Err("--max-sockets-per-user must be between 1 and 100000".into());
        }
        if !(1..=1_000_000).contains(&self.max_sockets_per_ip) {
            return Err("--max-sockets-per-ip must be between 1 and 1000000".into());
        }
        if !(1..=1_000_000).contains(&self.max_unauthenticated_sockets) {
            return Err("--max-unauthenticated-sockets must be between 1 and 1000000".into());
        }
        if !(1..=1_000_000).contains(&self.max_conversations_per_patient) {
            return Err("--max-conversations-per-patient must be between 1 and 1000000".into());
        }
        if self.token_ttl < Duration::from_secs(1) {
            return Err("--token-ttl must be at least 1s".into());
        }
        if self.login_backoff_max < Duration::from_secs(1) {
            return Err("--login-backoff-max must be at least 1s".into());
        }
        if self.session_recheck < Duration::from_secs(1) {
            return Err("--session-recheck must be at least 1s".into());
        }
        if self.device_cookie_key.as_ref().is_some_and(|k| k.len() < 32) {
            return Err("--device-cookie-key must be at least 32 characters".into());
        }
        if self.ack_deadline_high.is_zero() || self.ack_deadline_moderate.is_zero() {
            return Err("acknowledgement deadlines must be longer than zero".into());
        }
        if self.follow_up_after < Duration::from_secs(1) || self.follow_up_after > Duration::from_secs(90 * 86_400) {
            return Err("--follow-up-after must be between 1s and 90 days".into());
        }
        if self.ack_deadline_high > self.ack_deadline_moderate {
            return Err("--ack-deadline-high must not be longer than --ack-deadline-moderate".into());
        }
        if self.data_rights_sweep < Duration::from_millis(50) || self.data_rights_sweep > Duration::from_secs(3600) {
            return Err("--data-rights-sweep must be between 50ms and 1h".into());
        }
        if self.erasure_grace > Duration::from_secs(365 * 86_400) {
            return Err("--erasure-grace must be at most 365d".into());
        }
        if self.escalation_sweep < Duration::from_millis(50) || self.escalation_sweep > Duration::from_secs(60) {
            return Err("--escalation-sweep must be between 50ms and 60s".into());
        }
        if self.rescreen_after < Duration::from_secs(1) || self.rescreen_after > Duration::from_secs(3600) {
            return Err("--rescreen-after must be between 1s and 1h".into());
        }
        if !(1..=256).contains(&self.llm_second_opinion_concurrency) {
            return Err("--llm-second-opinion-concurrency must be between 1 and 256".into());
        }
        if self.llm_second_opinion_queue_wait > Duration::from_secs(5) {
            return Err(
                "--llm-second-opinion-queue-wait must be at most 5s (a full bound sheds; it never queues long)".into(),
            );
        }
        if self.llm_second_opinion_timeout < Duration::from_millis(50)
            || self.llm_second_opinion_timeout > Duration::from_secs(60)
        {
            return Err("--llm-second-opinion-timeout must be between 50ms and 60s".into());
        }
        if !(1..=1000).contains(&self.llm_second_opinion_breaker_failures) {
            return Err("--llm-second-opinion-breaker-failures must be between 1 and 1000".into());
        }
        if self.llm_second_opinion_breaker_cooldown < Duration::from_millis(100)
            || self.llm_second_opinion_breaker_cooldown > Duration::from_secs(3600)
        {
            return Err("--llm-second-opinion-breaker-cooldown must be between 100ms and 1h".into());
        }
        if self.llm_second_opinion_context_chars > 8000 {
            return Err("--llm-second-opinion-context-chars must be at most 8000".into());
        }
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err("--redis-url must start with redis:// or rediss://".into());
        }
        if let Some(url) = &self.llm_base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err("--llm-base-url must start with http:// or https://".into());
            }
            if llm_api_key().is_none() {
                return Err("--llm-base-url needs an API key in HEALING_LLM_API_KEY (or GROQ_API_KEY)".into());
            }
        }
        Ok(())
    }
}

/// Parses `250ms`, `10s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("not a duration: {s:?} (try 500ms, 10s, 2m, 1h)"))?;
    let secs = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        other => {
            return Err(format!("unknown duration unit {other:?} (use ms, s, m, h, d)"));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("not a duration: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        serve: ServeConfig,
    }

    fn validated(args: &[&str]) -> Result<ServeConfig, String> {
        use clap::Parser;
        let mut argv = vec!["healing-space"];
        argv.extend_from_slice(args);
        let cfg = Only::try_parse_from(argv).map_err(|e| e.to_string())?.serve;
        cfg.validate().map(|()| cfg)
    }

    #[test]
    fn caps_have_documented_defaults_and_refuse_nonsense() {
        let cfg = validated(&[]).unwrap();
        assert_eq!(
            (
                cfg.max_sockets_per_user,
                cfg.max_sockets_per_ip,
                cfg.max_unauthenticated_sockets,
                cfg.max_conversations_per_patient
            ),
            (32, 5000, 1000, 1000)
        );
        for flag in [
            "--max-sockets-per-user",
            "--max-sockets-per-ip",
            "--max-unauthenticated-sockets",
            "--max-conversations-per-patient",
        ] {
            let err = validated(&[flag, "0"]).unwrap_err();
            assert!(err.contains(flag), "{flag} 0: {err}");
            assert!(validated(&[flag, "-1"]).is_err(), "{flag} -1 accepted");
            assert!(validated(&[flag, "7"]).is_ok(), "{flag} 7 refused");
        }
        assert!(validated(&["--max-sockets-per-ip", "1000001"]).is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }
}
