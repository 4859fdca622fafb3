//! `patient-chat`: one session per iteration; `messages_per_session` messages, each drawn from the
//! risky corpus with probability `risky_share`, with a jittered think time (0.5–1.5×) between a
//! reply's end and the next send — the server's per-socket frame limit (20/s by default) is never
//! approached. Measures `chat_ack_latency` (send → `chat.ack`), `ai_first_token_latency` (send →
//! first `ai.delta`) and `ai_stream_duration` (`ai.start` → `ai.end`), and registers every acked
//! message id with the correlator so clinician VUs can time the alert.

use rand::Rng;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::session::Session;
use super::{Vu, VuError};
use crate::config::{PatientChat, Role};
use crate::correlate::Event;

pub async fn run(vu: &mut Vu, p: &PatientChat) -> Result<(), VuError> {
    let mut s = Session::open(vu, Role::Patient).await?;
    let mut conversation: Option<String> = None;
    for i in 0..p.messages_per_session {
        if vu.stopped() {
            break;
        }
        if i > 0 {
            let jitter = rand::rng().random_range(0.5..1.5);
            if !vu.sleep(p.think_time.mul_f64(jitter)).await {
                break;
            }
        }
        let (risky, text) = {
            let mut rng = rand::rng();
            let risky = rng.random_bool(p.risky_share);
            let list = if risky { &p.risky_corpus } else { &p.corpus };
            (risky, list[rng.random_range(0..list.len())].clone())
        };
        let outcome = exchange(vu, &mut s, conversation.as_deref(), &text, risky, p).await?;
        // A high-risk message pauses its conversation; carry on in a fresh one.
        conversation = if outcome.paused { None } else { outcome.conversation_id };
    }
    s.close().await;
    Ok(())
}

struct Outcome {
    conversation_id: Option<String>,
    paused: bool,
}

/// Sends one message and reads frames up to its reply's `ai.end`.
async fn exchange(
    vu: &Vu,
    s: &mut Session,
    conversation: Option<&str>,
    text: &str,
    risky: bool,
    p: &PatientChat,
) -> Result<Outcome, VuError> {
    let m = &vu.shared.metrics;
    let client_msg_id = uuid::Uuid::new_v4().to_string();
    let mut frame = json!({"type": "chat.send", "client_msg_id": client_msg_id, "text": text, "ref": client_msg_id});
    if let Some(c) = conversation {
        frame["conversation_id"] = json!(c);
    }
    let sent = Instant::now();
    s.send(&frame).await?;
    let deadline = sent + p.reply_timeout;
    let mut out = Outcome { conversation_id: conversation.map(str::to_owned), paused: false };
    let (mut message_id, mut reply_id): (Option<String>, Option<String>) = (None, None);
    let (mut reply_started, mut first_token, mut safety) = (None::<Instant>, false, false);
    loop {
        let f: Value = match tokio::time::timeout_at(deadline, s.next()).await {
            Ok(f) => f?,
            Err(_) => {
                m.check("chat acked", message_id.is_some());
                m.check("ai reply finished", false);
                return Err(VuError::Timeout("reply"));
            }
        };
        let now = Instant::now();
        match f["type"].as_str().unwrap_or_default() {
            "chat.ack" if f["client_msg_id"] == client_msg_id.as_str() => {
                m.chat_ack_latency.add(now - sent);
                m.check("chat acked", true);
                let id = f["message_id"].as_str().unwrap_or_default().to_owned();
                for (event, latency) in vu.shared.correlator.message_sent(&id, sent.into_std()) {
                    match event {
                        Event::Alert => m.alert_delivery_latency.add(latency),
                        Event::Escalation => m.escalation_latency.add(latency),
                    }
                }
                out.conversation_id = f["conversation_id"].as_str().map(str::to_owned);
                message_id = Some(id);
                if !p.wait_for_reply {
                    return Ok(out);
                }
            }
            "safety" => {
                safety = true;
                out.paused |= f["chat_paused"].as_bool().unwrap_or(false);
            }
            "ai.start" if message_id.is_some() && f["reply_to"].as_str() == message_id.as_deref() => {
                reply_started = Some(now);
                reply_id = f["message_id"].as_str().map(str::to_owned);
            }
            "ai.delta" if !first_token && reply_id.is_some() && f["message_id"].as_str() == reply_id.as_deref() => {
                first_token = true;
                m.ai_first_token_latency.add(now - sent);
            }
            "ai.end" if reply_id.is_some() && f["message_id"].as_str() == reply_id.as_deref() => {
                if let Some(start) = reply_started {
                    m.ai_stream_duration.add(now - start);
                }
                let finish = f["finish"].as_str().unwrap_or_default();
                m.check("ai reply finished", matches!(finish, "stop" | "safety"));
                if risky {
                    m.check("risky message answered with safety", safety);
                }
                return Ok(out);
            }
            "error" => {
                m.error(&format!("server_error_{}", f["code"].as_str().unwrap_or("unknown")));
                if f["ref"] == client_msg_id.as_str() {
                    m.check("chat acked", false);
                    return Err(VuError::Protocol(format!("chat.send refused: {}", f["code"])));
                }
            }
            _ => {}
        }
    }
}
