//! Screens one patient message the moment it is stored, independently of the reply queue:
//! the alert and the patient's crisis resources must never wait behind an AI reply that is still
//! streaming for an earlier message — nor behind the sentence encoder.
//!
//! Two steps (see [`crate::risk_detector`]): the rules grade the message in microseconds and
//! whatever they find is alerted at once; then the semantic detector (the model lane) may raise
//! the level, which updates the patient's episode (a higher alert, or a first one). The reply for
//! this message starts only after both, so the patient sees crisis resources before any AI text
//! that answers it.
//!
//! A message with no risk of its own raises and updates nothing, whatever came before it (see
//! [`crate::risk_detector::screen_rules`]); a risky one joins the patient's open episode if there
//! is one (see [`crate::alerts`]).
//!
//! A message's `risk` is written last, once every alert it called for is stored: an unset risk
//! means "screening did not finish", which is what [`super::rescreen`] looks for after a crash.
//!
//! Then, for a message graded below high and a model configured, the LLM second opinion
//! ([`crate::second_opinion`]) runs in its own task; a higher grade is acted on by the same
//! [`act_on`] as the engine's (one rule for what a level does), a lower one is ignored.

use std::sync::Arc;
use std::time::Instant;

use actix::Addr;
use healing_protocol::{Author, Message, Risk, RiskLevel, ServerFrame};
use tokio::sync::oneshot;

use super::{HighRisk, TherapyChat, rescreen};
use crate::alerts::Raise;
use crate::risk_detector::Screened;
use crate::second_opinion;
use crate::services::Services;

pub(super) async fn run(
    services: Arc<Services>,
    patient_id: String,
    message: Message,
    stored_at: Instant,
    chat: Addr<TherapyChat>,
    done: oneshot::Sender<Screened>,
) {
    // Held until the message is screened: re-screening on this node leaves it alone meanwhile.
    let _claim = services.risk.claim(&message.id);
    let earlier = earlier_patient_messages(&services, &message).await;
    // A node that crashed after acknowledging an earlier message may never have screened it.
    rescreen::left_behind(&services, &patient_id, &earlier);
    let context: Vec<String> = earlier.into_iter().map(|m| m.text).collect();
    let (screened, stored) = screen_and_act(&services, &patient_id, &message, &context, stored_at, Some(&chat)).await;
    if stored {
        spawn_second_look(&services, &patient_id, &message, context, &screened, Some(chat));
    }
    let _ = done.send(screened);
}

/// Asks the model for a second opinion on a message the engine graded below high, once the
/// engine's result is stored and acted on (`act_on` returned true), in its own task: a slow or
/// failing model never delays the engine's alert, its `safety` frame or the reply.
pub(super) fn spawn_second_look(
    services: &Arc<Services>,
    patient_id: &str,
    message: &Message,
    context: Vec<String>,
    engine: &Screened,
    chat: Option<Addr<TherapyChat>>,
) {
    if !services.second_opinion.wanted(engine.risk.level) {
        return;
    }
    actix::spawn(second_look(services.clone(), patient_id.to_owned(), message.clone(), context, engine.clone(), chat));
}

/// The patient's messages before `message` in its conversation, oldest first (the risk engine's
/// context). A read failure gives no context rather than no screening.
pub(super) async fn earlier_patient_messages(services: &Services, message: &Message) -> Vec<Message> {
    services
        .store
        .messages(&message.conversation_id, Some(message.seq), services.clinical.risk_context_messages)
        .await
        .map(|msgs| msgs.into_iter().filter(|m| m.author == Author::Patient).collect())
        .unwrap_or_default()
}

/// Screens `message` in both lanes and acts on each result as it comes: the rules' alert at
/// once, a model raise after it. Records the final risk last and returns it. If an alert could
/// not be stored, the risk is left unset, so the message is screened again later (then `false`).
pub(super) async fn screen_and_act(
    services: &Services,
    patient_id: &str,
    message: &Message,
    context: &[String],
    stored_at: Instant,
    chat: Option<&Addr<TherapyChat>>,
) -> (Screened, bool) {
    let rules = services.risk.rules(&message.text, context).await;
    let mut stored = act_on(services, patient_id, message, &rules, stored_at, chat).await;
    services.metrics.risk_model_backlog.set(i64::try_from(services.risk.model_backlog()).unwrap_or(i64::MAX));
    let screened = services.risk.model(&message.text, &rules).await;
    if screened.risk.level > rules.risk.level {
        services.metrics.risk_model_raises.with_label_values(&[screened.risk.level.as_str()]).inc();
        tracing::info!(message = %message.id, from = rules.risk.level.as_str(), to = screened.risk.level.as_str(), "risk model raised the level");
        stored &= act_on(services, patient_id, message, &screened, stored_at, chat).await;
    }
    // A message the engine cannot read (not English) is not "no risk": a review item.
    let screened = match crate::language::unscreened_language(&message.text) {
        Some(reason) if screened.risk.level == RiskLevel::None => {
            let review = Screened {
                risk: Risk { level: RiskLevel::Low, score: 0.0, reasons: vec![reason] },
                imminent: false,
                seconds: screened.seconds,
            };
            tracing::info!(message = %message.id, reason = %review.risk.reasons[0], "message not screened in its language; raised for review");
            stored &= raise_review(services, patient_id, message, &review, stored_at).await;
            review
        }
        _ => screened,
    };
    let level = screened.risk.level;
    services.metrics.risk_assessments.with_label_values(&[level.as_str()]).inc();
    services.metrics.risk_assessment_seconds.observe(screened.seconds);
    if stored && let Err(e) = services.store.set_message_risk(&message.id, &screened.risk).await {
        tracing::warn!(message = %message.id, error = %e, "could not store the risk of a message");
    }
    (screened, stored)
}

/// Raises the alert and tells the patient what help there is; `false` if the alert could not be
/// stored. `chat` is the conversation's live actor, told to stop a streaming reply at high risk.
/// Every verdict goes through here — the rules', the semantic model's raise, and a raising LLM
/// second opinion — so there is one rule for what a level does.
async fn act_on(
    services: &Services,
    patient_id: &str,
    message: &Message,
    screened: &Screened,
    stored_at: Instant,
    chat: Option<&Addr<TherapyChat>>,
) -> bool {
    let level = screened.risk.level;
    if level >= RiskLevel::Low {
        let (stored_tx, stored_rx) = oneshot::channel();
        services.alerts.do_send(Raise {
            patient_id: patient_id.to_owned(),
            message: message.clone(),
            screened: screened.clone(),
            stored_at,
            stored: Some(stored_tx),
        });
        let paused = level == RiskLevel::High;
        if paused {
            // Stop any ordinary reply still streaming for an earlier message, in this
            // conversation and in the patient's others on this node.
            if let Some(chat) = chat {
                chat.do_send(HighRisk);
            }
            services.chats.high_risk(patient_id);
        }
        let crisis = services.clinical.crisis.default_catalogue();
        services.push_to_user(
            patient_id,
            &ServerFrame::Safety {
                level,
                message: crisis.safety_message(level, paused).to_owned(),
                resources: crisis.resources_for(level),
                chat_paused: paused,
                conversation_id: message.conversation_id.clone(),
            },
        );
        // The pause is the patient's (contract §4.2): every conversation of theirs, new ones
        // included, stays paused until a clinician resumes it. Stored, so every node honours it.
        if paused && let Err(e) = services.store.set_patient_paused(patient_id, true).await {
            tracing::error!(patient = %patient_id, conversation = %message.conversation_id, error = %e, "could not pause the AI for the patient");
            if let Err(e) = services.store.set_chat_paused(&message.conversation_id, true).await {
                tracing::error!(conversation = %message.conversation_id, error = %e, "could not pause the conversation");
            }
        }
        if !stored_rx.await.unwrap_or(false) {
            // Leave the risk unset: the message stays "unscreened" and is screened again.
            tracing::error!(message = %message.id, level = level.as_str(), "alert not stored; message left for re-screening");
            return false;
        }
    }
    true
}

/// Raises a review item (a `low` alert naming why the engine could not read the message) for the
/// care team. Unlike a risk verdict it sends the patient no `safety` frame: nothing they wrote is
/// known to be risky. `false` if the alert could not be stored (the message is screened again).
async fn raise_review(
    services: &Services,
    patient_id: &str,
    message: &Message,
    review: &Screened,
    stored_at: Instant,
) -> bool {
    let (stored_tx, stored_rx) = oneshot::channel();
    services.alerts.do_send(Raise {
        patient_id: patient_id.to_owned(),
        message: message.clone(),
        screened: review.clone(),
        stored_at,
        stored: Some(stored_tx),
    });
    let stored = stored_rx.await.unwrap_or(false);
    if !stored {
        tracing::error!(message = %message.id, "review item not stored; message left for re-screening");
    }
    stored
}

/// Asks the model; when it grades the message higher than the engine did, acts on the higher
/// level exactly as on an engine verdict of that level ([`act_on`]): the patient's episode is
/// updated (`alert.updated`, level only rises) or an alert raised, a `high` pauses the AI for the
/// patient and stops a streaming reply, and the patient gets the `safety` frame of the new level.
/// An equal or lower grade, or no answer, changes nothing.
async fn second_look(
    services: Arc<Services>,
    patient_id: String,
    message: Message,
    context: Vec<String>,
    engine: Screened,
    chat: Option<Addr<TherapyChat>>,
) {
    let Ok(opinion) =
        services.second_opinion.consult(services.llm.as_ref(), &services.metrics, &message.text, &context).await
    else {
        return; // counted and logged; the engine's grade stands
    };
    let outcome = second_opinion::Outcome::of(opinion.level, engine.risk.level);
    services.metrics.second_opinions.with_label_values(&[outcome.as_str()]).inc();
    if outcome != second_opinion::Outcome::Raised {
        return; // never lowers, and an equal grade adds nothing
    }
    tracing::info!(message = %message.id, from = engine.risk.level.as_str(), to = opinion.level.as_str(), "llm second opinion raised the level");
    let mut reasons = vec![format!("LLM second opinion ({}): {}", opinion.level.as_str(), opinion.reason)];
    reasons.extend(engine.risk.reasons.iter().cloned());
    let risk = Risk { level: opinion.level, score: engine.risk.score.max(RAISED_SCORE), reasons };
    let raised = Screened { risk, imminent: false, seconds: engine.seconds };
    // Delivery latency is measured from now: the alert path's own latency, not the model's
    // (that is `healing_second_opinion_seconds`).
    if act_on(&services, &patient_id, &message, &raised, Instant::now(), chat.as_ref()).await
        && let Err(e) = services.store.set_message_risk(&message.id, &raised.risk).await
    {
        tracing::warn!(message = %message.id, error = %e, "could not store the raised risk of a message");
    }
}

/// The score a raising second opinion carries at least (the model gives a level, not a score).
const RAISED_SCORE: f32 = 0.75;
