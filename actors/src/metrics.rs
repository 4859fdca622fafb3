//! Prometheus metrics of a node. Labels are bounded sets (roles, levels, kinds) — never user or
//! conversation ids.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::hub::Hub;

/// Latency buckets from 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub struct Metrics {
    registry: Registry,
    pub ws_connections: IntGaugeVec,
    pub ws_frames: IntCounterVec,
    pub chat_messages: IntCounterVec,
    pub chat_ack_seconds: Histogram,
    pub ai_first_token_seconds: Histogram,
    pub risk_assessments: IntCounterVec,
    pub risk_assessment_seconds: Histogram,
    /// Messages the semantic detector graded above the rules, by the level it gave.
    pub risk_model_raises: IntCounterVec,
    /// Messages waiting for the model lane (sampled when a message is screened).
    pub risk_model_backlog: IntGauge,
    pub alerts: IntCounterVec,
    /// Open alerts updated by a later risky message of the same patient (risk episodes).
    pub alert_updates: IntCounterVec,
    pub alert_delivery_seconds: Histogram,
    pub escalations: IntCounterVec,
    pub open_escalations: IntGauge,
    pub store_op_seconds: HistogramVec,
    pub llm_errors: IntCounterVec,
    pub rate_limited: IntCounter,
    pub slow_consumer_disconnects: IntCounter,
    /// `ai.delta` frames merged into the one before them because a session was behind.
    pub ai_deltas_coalesced: IntCounter,
    /// AI replies streaming on this node now.
    pub ai_streams: IntGauge,
    /// Sockets and conversations refused by a configured cap, by cap (`healing_protocol::Cap`).
    pub cap_refusals: IntCounterVec,
    /// Sockets closed because their token stopped working (contract §4.1), by reason.
    pub sessions_revoked: IntCounterVec,
    /// Sockets upgraded and not yet authenticated (sampled at each scrape).
    pub ws_unauthenticated: IntGauge,
    /// Patient messages screened late because a node stopped between acknowledging and screening.
    pub rescreened: IntCounter,
    /// Re-screening sweeps of the store completed (whatever they found).
    pub rescreen_sweeps: IntCounter,
    pub live_conversations: IntGauge,
    /// LLM second opinions by outcome (`second_opinion::Outcome`).
    pub second_opinions: IntCounterVec,
    /// Time of one second-opinion call to the model (calls made: answered, failed or timed out).
    pub second_opinion_seconds: Histogram,
    /// 1 while the second opinion's circuit breaker is open (or half-open), else 0.
    pub second_opinion_circuit_open: IntGauge,
}

fn histogram(name: &str, help: &str) -> Histogram {
    #[allow(clippy::expect_used)] // constant, valid options
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec())).expect("valid histogram")
}

impl Metrics {
    #[allow(clippy::expect_used)] // constant names and labels: a failure is a programming error caught by tests
    pub fn new() -> Metrics {
        let counter_vec = |n: &str, h: &str, l: &[&str]| IntCounterVec::new(Opts::new(n, h), l).expect("valid counter");
        let m = Metrics {
            registry: Registry::new(),
            ws_connections: IntGaugeVec::new(
                Opts::new("healing_ws_connections", "Authenticated WebSocket sessions by role"),
                &["role"],
            )
            .expect("valid gauge"),
            ws_frames: counter_vec("healing_ws_frames_total", "WebSocket frames by direction", &["direction"]),
            chat_messages: counter_vec("healing_chat_messages_total", "Chat messages stored, by author", &["author"]),
            chat_ack_seconds: histogram("healing_chat_ack_seconds", "chat.send received to chat.ack sent"),
            ai_first_token_seconds: histogram("healing_ai_first_token_seconds", "Reply start to first AI token"),
            risk_assessments: counter_vec("healing_risk_assessments_total", "Risk assessments by level", &["level"]),
            risk_assessment_seconds: histogram("healing_risk_assessment_seconds", "Time to assess one message"),
            risk_model_raises: counter_vec(
                "healing_risk_model_raises_total",
                "Messages the semantic detector graded above the rules, by its level",
                &["level"],
            ),
            risk_model_backlog: IntGauge::new("healing_risk_model_backlog", "Messages waiting for the risk model lane")
                .expect("valid gauge"),
            alerts: counter_vec("healing_alerts_total", "Alerts raised by level", &["level"]),
            alert_updates: counter_vec(
                "healing_alert_updates_total",
                "Open alerts updated by a later risky message (risk episodes), by level after the update",
                &["level"],
            ),
            alert_delivery_seconds: histogram(
                "healing_alert_delivery_seconds",
                "Patient message stored to alert pushed",
            ),
            escalations: counter_vec("healing_escalations_total", "Escalations by reason", &["reason"]),
            open_escalations: IntGauge::new(
                "healing_open_escalations",
                "Escalations raised and not yet resolved by this node",
            )
            .expect("valid gauge"),
            store_op_seconds: HistogramVec::new(
                HistogramOpts::new("healing_store_op_seconds", "Store operation latency")
                    .buckets(LATENCY_BUCKETS.to_vec()),
                &["op"],
            )
            .expect("valid histogram"),
            llm_errors: counter_vec("healing_llm_errors_total", "Failed AI replies by kind", &["kind"]),
            rate_limited: IntCounter::new("healing_rate_limited_total", "Requests or frames refused by a rate limit")
                .expect("valid counter"),
            rescreened: IntCounter::new(
                "healing_rescreened_messages_total",
                "Patient messages found unscreened after a node stopped, and screened late",
            )
            .expect("valid counter"),
            rescreen_sweeps: IntCounter::new(
                "healing_rescreen_sweeps_total",
                "Sweeps of the store for messages a stopped node left unscreened, completed",
            )
            .expect("valid counter"),
            slow_consumer_disconnects: IntCounter::new(
                "healing_slow_consumer_disconnects_total",
                "Sessions evicted because they stopped reading",
            )
            .expect("valid counter"),
            ai_deltas_coalesced: IntCounter::new(
                "healing_ai_deltas_coalesced_total",
                "AI tokens merged into the frame before them because a session or the node was behind",
            )
            .expect("valid counter"),
            ai_streams: IntGauge::new("healing_ai_streams", "AI replies streaming on this node now")
                .expect("valid gauge"),
            cap_refusals: counter_vec(
                "healing_cap_refusals_total",
                "Sockets and new conversations refused by a configured cap, by cap \
                 (sockets_per_user|sockets_per_ip|unauthenticated_sockets|conversations_per_patient)",
                &["cap"],
            ),
            sessions_revoked: counter_vec(
                "healing_sessions_revoked_total",
                "Sockets closed because their token stopped working, by reason \
                 (logout|disabled: ordered here or by another node; expired; recheck: found revoked in the store)",
                &["reason"],
            ),
            ws_unauthenticated: IntGauge::new(
                "healing_ws_unauthenticated",
                "WebSocket connections upgraded and not yet authenticated",
            )
            .expect("valid gauge"),
            live_conversations: IntGauge::new("healing_live_conversations", "Conversation actors alive on this node")
                .expect("valid gauge"),
            second_opinions: counter_vec(
                "healing_second_opinion_total",
                "LLM second opinions on messages graded below high, by outcome \
                 (raised|same|lower|failed|timeout|shed|circuit_open)",
                &["outcome"],
            ),
            second_opinion_seconds: histogram(
                "healing_second_opinion_seconds",
                "One LLM second-opinion call (answered, failed or timed out)",
            ),
            second_opinion_circuit_open: IntGauge::new(
                "healing_second_opinion_circuit_open",
                "1 while the LLM second opinion's circuit breaker is open or half-open",
            )
            .expect("valid gauge"),
        };
        let r = &m.registry;
        for c in [
            Box::new(m.ws_connections.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.ws_frames.clone()),
            Box::new(m.chat_messages.clone()),
            Box::new(m.chat_ack_seconds.clone()),
            Box::new(m.ai_first_token_seconds.clone()),
            Box::new(m.risk_assessments.clone()),
            Box::new(m.risk_assessment_seconds.clone()),
            Box::new(m.risk_model_raises.clone()),
            Box::new(m.risk_model_backlog.clone()),
            Box::new(m.alerts.clone()),
            Box::new(m.alert_updates.clone()),
            Box::new(m.alert_delivery_seconds.clone()),
            Box::new(m.escalations.clone()),
            Box::new(m.open_escalations.clone()),
            Box::new(m.store_op_seconds.clone()),
            Box::new(m.llm_errors.clone()),
            Box::new(m.rate_limited.clone()),
            Box::new(m.slow_consumer_disconnects.clone()),
            Box::new(m.ai_deltas_coalesced.clone()),
            Box::new(m.ai_streams.clone()),
            Box::new(m.cap_refusals.clone()),
            Box::new(m.sessions_revoked.clone()),
            Box::new(m.ws_unauthenticated.clone()),
            Box::new(m.rescreened.clone()),
            Box::new(m.rescreen_sweeps.clone()),
            Box::new(m.live_conversations.clone()),
            Box::new(m.second_opinions.clone()),
            Box::new(m.second_opinion_seconds.clone()),
            Box::new(m.second_opinion_circuit_open.clone()),
        ] {
            r.register(c).expect("unique metric names");
        }
        // Make labelled series visible from the first scrape.
        for role in ["patient", "clinician", "supervisor", "admin"] {
            m.ws_connections.with_label_values(&[role]).set(0);
        }
        for d in ["in", "out"] {
            m.ws_frames.with_label_values(&[d]);
        }
        for level in ["none", "low", "moderate", "high"] {
            m.risk_assessments.with_label_values(&[level]);
        }
        for level in ["low", "moderate", "high"] {
            m.risk_model_raises.with_label_values(&[level]);
            m.alerts.with_label_values(&[level]);
            m.alert_updates.with_label_values(&[level]);
        }
        for reason in ["ack_timeout", "no_clinician_online", "imminent"] {
            m.escalations.with_label_values(&[reason]);
        }
        for author in ["patient", "ai"] {
            m.chat_messages.with_label_values(&[author]);
        }
        for op in ["append_message", "read"] {
            m.store_op_seconds.with_label_values(&[op]);
        }
        for cap in healing_protocol::Cap::ALL {
            m.cap_refusals.with_label_values(&[cap.as_str()]);
        }
        for reason in ["logout", "disabled", "expired", "recheck"] {
            m.sessions_revoked.with_label_values(&[reason]);
        }
        for outcome in crate::second_opinion::Outcome::ALL {
            m.second_opinions.with_label_values(&[outcome.as_str()]);
        }
        for kind in ["rate_limited", "upstream_status", "timeout", "dropped", "transport", "invalid_response"] {
            m.llm_errors.with_label_values(&[kind]);
        }
        m
    }

    /// Updates gauges that are read from live state rather than counted.
    pub fn refresh(&self, hub: &Hub, live_conversations: usize) {
        let counts = hub.count_by_role();
        for role in [
            healing_protocol::Role::Patient,
            healing_protocol::Role::Clinician,
            healing_protocol::Role::Supervisor,
            healing_protocol::Role::Admin,
        ] {
            self.ws_connections.with_label_values(&[role.as_str()]).set(counts.get(&role).copied().unwrap_or(0) as i64);
        }
        self.live_conversations.set(live_conversations as i64);
        self.ws_unauthenticated.set(hub.admission.unauthenticated() as i64);
        for (reason, closed) in [("logout", &hub.stats.revoked_logout), ("disabled", &hub.stats.revoked_disabled)] {
            let closed = closed.load(std::sync::atomic::Ordering::Relaxed);
            let counter = self.sessions_revoked.with_label_values(&[reason]);
            if closed > counter.get() {
                counter.inc_by(closed - counter.get());
            }
        }
        let evicted = hub.stats.slow_consumer_disconnects.load(std::sync::atomic::Ordering::Relaxed);
        let seen = self.slow_consumer_disconnects.get();
        if evicted > seen {
            self.slow_consumer_disconnects.inc_by(evicted - seen);
        }
    }

    /// Counts one refusal by a configured cap.
    pub fn cap_refused(&self, cap: healing_protocol::Cap) {
        self.cap_refusals.with_label_values(&[cap.as_str()]).inc();
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        buf
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
