//! Streams one AI reply: context from the store, deltas from the provider to every session of the
//! patient, and the whole reply stored before `ai.end` is sent.

use std::sync::Arc;

use bytestring::ByteString;
use futures_util::StreamExt;
use healing_llm::{ChatRole, ChatTurn, LlmError};
use healing_protocol::{Author, Message, ServerFrame};
use healing_storage::NewMessage;
use tokio::sync::oneshot;

use crate::services::Services;

/// Shown to the patient when a reply could not be completed.
pub const CALM_ERROR_NOTICE: &str = "Sorry, I couldn't finish that reply just now. Nothing you wrote has been lost. \
You can try again in a moment. If you need to talk to someone now, Samaritans are free on 116 123, any time.";

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
}

impl Finish {
    fn as_str(&self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Cancelled => "cancelled",
            Finish::Error(_) => "error",
        }
    }
}

impl Reply {
    fn push(&self, frame: &ServerFrame) {
        self.services
            .hub
            .send_to_user(&self.patient_id, &ByteString::from(frame.to_json()));
    }

    pub async fn run(self, mut cancel: oneshot::Receiver<()>) {
        let services = self.services.clone();
        self.push(&ServerFrame::AiStart {
            conversation_id: self.conversation_id.clone(),
            message_id: self.message_id.clone(),
            reply_to: self.prompt.id.clone(),
        });
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
                Author::Patient => Some(ChatTurn {
                    role: ChatRole::User,
                    text: m.text.clone(),
                }),
                Author::Ai if !m.text.is_empty() => Some(ChatTurn {
                    role: ChatRole::Assistant,
                    text: m.text.clone(),
                }),
                _ => None,
            })
            .collect();
        let request = healing_llm::build_request(&turns, services.config.context_token_budget);
        let context_turns = request.turns.len().saturating_sub(1);
        let info = services.llm.info();

        let mut text = String::new();
        let started = std::time::Instant::now();
        let finish = 'stream: {
            let mut stream = tokio::select! {
                biased;
                _ = &mut cancel => break 'stream Finish::Cancelled,
                started = services.llm.stream(request) => match started {
                    Ok(s) => s,
                    Err(e) => break 'stream Finish::Error(e),
                },
            };
            loop {
                tokio::select! {
                    biased;
                    _ = &mut cancel => break 'stream Finish::Cancelled,
                    item = stream.next() => match item {
                        None => break 'stream Finish::Stop,
                        Some(Ok(delta)) => {
                            if text.is_empty() {
                                services.metrics.ai_first_token_seconds.observe(started.elapsed().as_secs_f64());
                            }
                            text.push_str(&delta);
                            self.push(&ServerFrame::AiDelta { message_id: self.message_id.clone(), text: delta });
                        }
                        Some(Err(e)) => break 'stream Finish::Error(e),
                    },
                }
            }
        };
        if let Finish::Error(e) = &finish {
            services
                .metrics
                .llm_errors
                .with_label_values(&[e.kind()])
                .inc();
            tracing::warn!(conversation = %self.conversation_id, kind = e.kind(), error = %e, "llm reply failed");
        }
        let notice = matches!(finish, Finish::Error(_)).then(|| CALM_ERROR_NOTICE.to_owned());
        let meta = serde_json::json!({
            "provider": info.kind,
            "model": info.model,
            "context_turns": context_turns,
            "reply_to": self.prompt.id,
            "error": match &finish { Finish::Error(e) => Some(e.kind()), _ => None },
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
                services
                    .metrics
                    .chat_messages
                    .with_label_values(&["ai"])
                    .inc();
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
}
