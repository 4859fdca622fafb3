//! `patient-open`: the open-loop patient. One session for the whole scenario; a message every
//! `send_interval` (the first after a random phase, so N VUs offer N / interval messages a second
//! evenly) **whatever the server answers** — sends never wait for an ack or a reply, which is
//! how real patients load a service and what a closed loop hides (issue 10). Frames are read
//! concurrently: `chat_ack_latency` (send → its `chat.ack`), `ai_first_token_latency` (send of
//! the message a reply answers → its first `ai.delta`), `ai_stream_duration`; every acked message
//! id is registered with the correlator (alert latency, measured by clinician VUs), and risky ones
//! are remembered so the run can count those whose alert reached no clinician
//! (`alerts_missing`).

use std::collections::HashMap;

use rand::Rng;
use serde_json::{Value, json};
use tokio::time::{Instant, MissedTickBehavior};

use super::session::{Session, keepalive};
use super::{Vu, VuError, until};
use crate::config::{PatientOpen, Role};
use crate::correlate::Event;

pub async fn run(vu: &mut Vu, p: &PatientOpen) -> Result<(), VuError> {
    let mut s = Session::open(vu, Role::Patient).await?;
    let shared = vu.shared.clone();
    let m = &shared.metrics;
    let end = Vu::hold_until(&p.hold);
    let phase = p.send_interval.mul_f64(rand::rng().random_range(0.0..1.0));
    let mut tick = tokio::time::interval_at(Instant::now() + phase, p.send_interval);
    // Open loop: a late tick (a busy client) is sent at once, the schedule kept.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut ping = keepalive(p.hold.ping_interval);
    let mut conversation: Option<String> = None;
    // client_msg_id → (sent, risky); message id → sent (for the first token of its reply).
    let mut pending: HashMap<String, (Instant, bool)> = HashMap::new();
    let mut acked: HashMap<String, Instant> = HashMap::new();
    // reply id → (send of the message it answers, its ai.start, first token seen)
    let mut replies: HashMap<String, (Instant, Instant, bool)> = HashMap::new();
    loop {
        tokio::select! {
            _ = vu.stop_requested() => break,
            _ = until(end) => break,
            _ = ping.tick() => s.ping().await?,
            _ = tick.tick() => {
                let (risky, text) = {
                    let mut rng = rand::rng();
                    let risky = rng.random_bool(p.risky_share);
                    let list = if risky { &p.risky_corpus } else { &p.corpus };
                    (risky, list[rng.random_range(0..list.len())].clone())
                };
                let client_msg_id = uuid::Uuid::new_v4().to_string();
                let mut frame = json!({"type": "chat.send", "client_msg_id": client_msg_id, "text": text, "ref": client_msg_id});
                if let Some(c) = &conversation {
                    frame["conversation_id"] = json!(c);
                }
                pending.insert(client_msg_id, (Instant::now(), risky));
                s.send(&frame).await?;
            }
            frame = s.next() => {
                let f: Value = frame?;
                let now = Instant::now();
                match f["type"].as_str().unwrap_or_default() {
                    "chat.ack" => {
                        let Some((sent, risky)) = f["client_msg_id"].as_str().and_then(|c| pending.remove(c)) else { continue };
                        m.chat_ack_latency.add(now - sent);
                        m.check("chat acked", true);
                        let id = f["message_id"].as_str().unwrap_or_default().to_owned();
                        for (event, latency) in shared.correlator.message_sent(&id, sent.into_std()) {
                            match event {
                                Event::Alert => m.alert_delivery_latency.add(latency),
                                Event::Escalation => m.escalation_latency.add(latency),
                            }
                        }
                        if risky {
                            shared.correlator.expect_alert(&id);
                        }
                        if conversation.is_none() {
                            conversation = f["conversation_id"].as_str().map(str::to_owned);
                        }
                        acked.insert(id, sent);
                    }
                    "ai.start" => {
                        if let (Some(reply), Some(to)) = (f["message_id"].as_str(), f["reply_to"].as_str()) {
                            let asked = acked.remove(to).unwrap_or(now);
                            replies.insert(reply.to_owned(), (asked, now, false));
                        }
                    }
                    "ai.delta" => {
                        if let Some(r) = f["message_id"].as_str().and_then(|id| replies.get_mut(id))
                            && !r.2
                        {
                            r.2 = true;
                            m.ai_first_token_latency.add(now - r.0);
                        }
                    }
                    "ai.end" => {
                        if let Some((_, started, _)) = f["message_id"].as_str().and_then(|id| replies.remove(id)) {
                            m.ai_stream_duration.add(now - started);
                            let finish = f["finish"].as_str().unwrap_or_default();
                            m.check("ai reply finished", matches!(finish, "stop" | "safety"));
                        }
                        // Messages the reply answered as a burst get no reply of their own.
                        acked.retain(|_, sent| now.duration_since(*sent) < p.reply_timeout);
                    }
                    "error" => {
                        m.error(&format!("server_error_{}", f["code"].as_str().unwrap_or("unknown")));
                        if let Some(c) = f["ref"].as_str() && pending.remove(c).is_some() {
                            m.check("chat acked", false);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    // Sends never acked by the end are failures of the ack path.
    let unacked =
        pending.values().filter(|(sent, _)| sent.elapsed() > p.reply_timeout.min(p.send_interval * 5)).count();
    for _ in 0..unacked {
        m.check("chat acked", false);
    }
    s.close().await;
    Ok(())
}
