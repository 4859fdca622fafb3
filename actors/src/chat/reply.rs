//! Produces one AI reply: waits for the message's screening, then either the crisis response
//! (high risk), the holding reply (conversation paused for a clinician), or a streamed model
//! reply screened token by token. The whole reply is stored before `ai.end` is sent.

use std::sync::Arc;

use futures_util::StreamExt;
use healing_llm::{ChatRole, ChatTurn, LlmError};
use healing_protocol::{Author, Message, RiskLevel, ServerFrame};
use healing_storage::NewMessage;
use tokio::sync::oneshot;

use crate::output_guard::delta_completes_harm;
use crate::risk_detector::{Screened, screen};
use crate::services::Services;

pub(super) struct Reply {
    pub services: Arc<Services>,
    pub conversation_id: String,
    pub patient_id: String,
    pub prompt: Message,
    pub message_id: String,
}

enum Finish {
    Stop,
    Cancelled,
    Error(LlmError),
    /// The model's output was cut by the output guard.
    Safety,
}

impl Finish {
    fn as_str(&self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Cancelled => "cancelled",
            Finish::Error(_) => "error",
            Finish::Safety => "safety",
        }
    }
}

/// What produced the reply (stored in the message's `meta`, shown by "why did I get this answer?").
struct Origin {
    kind: &'static str,
    provider: &'static str,
    model: String,
    context_turns: usize,
}

impl Reply {
    fn push(&self, frame: &ServerFrame) {
        self.services.fanout.to_user(&self.patient_id, frame);
    }

    fn delta(&self, text: String) {
        self.push(&ServerFrame::AiDelta { message_id: self.message_id.clone(), text });
    }

    /// `screening`: every message this reply answers (a burst), with its pending screening.
    pub async fn run(self, screening: Vec<(String, oneshot::Receiver<Screened>)>, mut cancel: oneshot::Receiver<()>) {
        let services = self.services.clone();
        // Never answer an unscreened message: if a screening task vanished, screen here. The
        // reply follows the riskiest message of the burst.
        let mut screened: Option<Screened> = None;
        for (text, pending) in screening {
            let s = match pending.await {
                Ok(s) => s,
                Err(_) => screen(&text, &[]),
            };
            if screened.as_ref().is_none_or(|best| s.risk.level > best.risk.level) {
                screened = Some(s);
            }
        }
        let screened = screened.unwrap_or_else(|| screen(&self.prompt.text, &[]));
        // Paused for this conversation, or for the patient (a high-risk message in any of their
        // conversations pauses them all, new ones included, until a clinician resumes it).
        let paused = screened.risk.level == RiskLevel::High
            || services
                .store
                .conversation(&self.conversation_id)
                .await
                .map(|c| c.is_some_and(|c| c.summary.chat_paused))
                // If we cannot tell, behave as paused: a holding reply is safe, chat may not be.
                .unwrap_or(true)
            || services.store.patient_paused(&self.patient_id).await.unwrap_or(true);

        self.push(&ServerFrame::AiStart {
            conversation_id: self.conversation_id.clone(),
            message_id: self.message_id.clone(),
            reply_to: self.prompt.id.clone(),
        });

        // Every fixed text comes from the deployment's crisis catalogue.
        let crisis = services.clinical.crisis.default_catalogue();
        let mut text = String::new();
        let (finish, origin) = if paused {
            let fixed = if screened.risk.level == RiskLevel::High {
                &crisis.texts.crisis_response
            } else {
                &crisis.texts.paused_reply
            };
            for word in fixed.split_inclusive(' ') {
                text.push_str(word);
                self.delta(word.to_owned());
            }
            let kind = if screened.risk.level == RiskLevel::High { "crisis_response" } else { "paused_holding" };
            (Finish::Stop, Origin { kind, provider: "safety", model: "fixed-text".into(), context_turns: 0 })
        } else {
            self.stream_model(&mut text, &mut cancel).await
        };

        if let Finish::Error(e) = &finish {
            services.metrics.llm_errors.with_label_values(&[e.kind()]).inc();
            tracing::warn!(conversation = %self.conversation_id, kind = e.kind(), error = %e, "llm reply failed");
        }
        let notice = match &finish {
            Finish::Error(_) => Some(crisis.texts.error_notice.clone()),
            Finish::Safety => Some(crisis.texts.safe_replacement.clone()),
            _ => None,
        };
        if matches!(finish, Finish::Safety) {
            tracing::warn!(conversation = %self.conversation_id, "ai output cut by the output guard");
            text = crisis.texts.safe_replacement.clone();
        }
        let meta = serde_json::json!({
            "kind": origin.kind,
            "provider": origin.provider,
            "model": origin.model,
            "context_turns": origin.context_turns,
            "reply_to": self.prompt.id,
            "error": match &finish { Finish::Error(e) => Some(e.kind()), _ => None },
            "safety": {
                "input_screening": { "level": screened.risk.level, "reasons": screened.risk.reasons },
                "chat_paused": paused,
                "output_screening": if matches!(finish, Finish::Safety) { "cut" } else { "passed" },
            },
        });
        let stored = services
            .store
            .append_message(NewMessage {
                id: Some(self.message_id.clone()),
                patient_id: self.patient_id.clone(),
                conversation_id: Some(self.conversation_id.clone()),
                client_msg_id: None,
                author: Author::Ai,
                text,
                risk: None,
                finish: Some(finish.as_str().to_owned()),
                meta: Some(meta),
            })
            .await;
        match stored {
            Ok(appended) => {
                services.metrics.chat_messages.with_label_values(&["ai"]).inc();
                self.push(&ServerFrame::AiEnd {
                    message_id: self.message_id.clone(),
                    seq: appended.message.seq,
                    finish: finish.as_str(),
                    conversation_id: self.conversation_id.clone(),
                    notice,
                });
            }
            Err(e) => {
                tracing::error!(conversation = %self.conversation_id, error = %e, "ai reply could not be stored");
                self.push(&ServerFrame::error(
                    healing_protocol::ErrorCode::Unavailable,
                    "the reply could not be saved; please try again",
                    None,
                ));
            }
        }
    }

    /// Streams the model's reply into `text`, screening every delta before it is sent.
    async fn stream_model(&self, text: &mut String, cancel: &mut oneshot::Receiver<()>) -> (Finish, Origin) {
        let services = &self.services;
        let history = services
            .store
            .messages(&self.conversation_id, Some(self.prompt.seq + 1), services.config.context_messages)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(conversation = %self.conversation_id, error = %e, "context unavailable, answering without it");
                vec![self.prompt.clone()]
            });
        let turns: Vec<ChatTurn> = history
            .iter()
            .filter_map(|m| match m.author {
                Author::Patient => Some(ChatTurn { role: ChatRole::User, text: m.text.clone() }),
                // Ordinary AI replies only: crisis and holding texts are not the model's words.
                Author::Ai if !m.text.is_empty() && m.meta.as_ref().is_none_or(|x| x["kind"] == "model") => {
                    Some(ChatTurn { role: ChatRole::Assistant, text: m.text.clone() })
                }
                _ => None,
            })
            .collect();
        let request = healing_llm::build_request(&turns, services.config.context_token_budget)
            .with_crisis_guidance(&services.clinical.crisis.default_catalogue().texts.model_guidance);
        let info = services.llm.info();
        let origin =
            Origin { kind: "model", provider: info.kind, model: info.model, context_turns: request.context_turns() };
        let started = std::time::Instant::now();
        let _streaming = Streaming::new(&services.metrics.ai_streams);
        let mut pending = Coalescer::new(&services.metrics, services.config.ai_coalesce_above_streams);
        let finish = 'stream: {
            let mut stream = tokio::select! {
                biased;
                _ = &mut *cancel => break 'stream Finish::Cancelled,
                started = services.llm.stream(request) => match started {
                    Ok(s) => s,
                    Err(e) => break 'stream Finish::Error(e),
                },
            };
            loop {
                tokio::select! {
                    biased;
                    _ = &mut *cancel => break 'stream Finish::Cancelled,
                    item = stream.next() => match item {
                        None => break 'stream Finish::Stop,
                        Some(Ok(delta)) => {
                            if text.is_empty() {
                                services.metrics.ai_first_token_seconds.observe(started.elapsed().as_secs_f64());
                            }
                            text.push_str(&delta);
                            // The guard sees the reply so far (a bounded tail of it), so a phrase
                            // split across deltas is caught before its last piece is sent.
                            if delta_completes_harm(text, delta.len()) {
                                break 'stream Finish::Safety;
                            }
                            if let Some(ready) = pending.add(delta) {
                                self.delta(ready);
                            }
                        }
                        Some(Err(e)) => break 'stream Finish::Error(e),
                    },
                }
            }
        };
        // What was held back for coalescing was screened token by token like the rest; a cut
        // reply sends nothing more of the model's words.
        if let (Some(rest), false) = (pending.take(), matches!(finish, Finish::Safety)) {
            self.delta(rest);
        }
        (finish, origin)
    }
}

/// Longest a token is held back while coalescing.
const COALESCE_WINDOW: std::time::Duration = std::time::Duration::from_millis(200);

/// Counts a streaming reply in `healing_ai_streams` while it lives.
struct Streaming<'a>(&'a prometheus::IntGauge);

impl<'a> Streaming<'a> {
    fn new(gauge: &'a prometheus::IntGauge) -> Streaming<'a> {
        gauge.inc();
        Streaming(gauge)
    }
}

impl Drop for Streaming<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// AI streams degrade first: while more than `ai_coalesce_above_streams` (default 200) replies
/// stream on this node, a reply's tokens are sent at most every [`COALESCE_WINDOW`], several to a frame — the
/// same text in a fraction of the frames, leaving the CPU to alerts and acks. Below that, every
/// token goes out as it comes. (A session that falls behind has its queued tokens merged too, in
/// its outbox.)
struct Coalescer<'a> {
    metrics: &'a crate::metrics::Metrics,
    above: i64,
    held: String,
    held_tokens: u64,
    last_sent: std::time::Instant,
}

impl<'a> Coalescer<'a> {
    fn new(metrics: &'a crate::metrics::Metrics, above: u32) -> Coalescer<'a> {
        Coalescer {
            metrics,
            above: i64::from(above),
            held: String::new(),
            held_tokens: 0,
            last_sent: std::time::Instant::now(),
        }
    }

    /// The text to send now, if any.
    fn add(&mut self, delta: String) -> Option<String> {
        let busy = self.metrics.ai_streams.get() > self.above;
        if !busy && self.held.is_empty() {
            return Some(delta);
        }
        self.held.push_str(&delta);
        self.held_tokens += 1;
        if !busy || self.last_sent.elapsed() >= COALESCE_WINDOW { self.take() } else { None }
    }

    fn take(&mut self) -> Option<String> {
        self.last_sent = std::time::Instant::now();
        if self.held.is_empty() {
            return None;
        }
        self.metrics.ai_deltas_coalesced.inc_by(self.held_tokens.saturating_sub(1));
        self.held_tokens = 0;
        Some(std::mem::take(&mut self.held))
    }
}
