//! Screens one patient message the moment it is stored, independently of the reply queue:
//! the alert and the patient's crisis resources must never wait behind an AI reply that is still
//! streaming for an earlier message.
//!
//! Order for a risky message: alert raised (stored, then pushed) and `safety` pushed to the
//! patient → the reply for this message starts only after screening has finished, so the
//! patient sees crisis resources before any AI text that answers it.

use std::sync::Arc;
use std::time::Instant;

use actix::Addr;
use healing_protocol::{Author, Message, Risk, RiskLevel, ServerFrame};
use tokio::sync::oneshot;

use super::{HighRisk, TherapyChat};
use crate::alerts::Raise;
use crate::crisis::safety_message;
use crate::risk_detector::{Assess, Screened, screen};
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
    let context: Vec<String> = services
        .store
        .messages(&message.conversation_id, Some(message.seq), services.clinical.risk_context_messages)
        .await
        .map(|msgs| msgs.into_iter().filter(|m| m.author == Author::Patient).map(|m| m.text).collect())
        .unwrap_or_default();
    let screened = match services.risk.send(Assess { text: message.text.clone(), context: context.clone() }).await {
        Ok(s) => s,
        // The detector pool is gone (shutting down): screen here rather than not at all.
        Err(_) => screen(&message.text, &context),
    };
    let level = screened.risk.level;
    services.metrics.risk_assessments.with_label_values(&[level.as_str()]).inc();
    services.metrics.risk_assessment_seconds.observe(screened.seconds);

    if level >= RiskLevel::Low {
        services.alerts.do_send(Raise {
            patient_id: patient_id.clone(),
            message: message.clone(),
            screened: screened.clone(),
            stored_at,
        });
        let paused = level == RiskLevel::High;
        if paused {
            // Stop any ordinary reply still streaming for an earlier message.
            chat.do_send(HighRisk);
        }
        services.push_to_user(
            &patient_id,
            &ServerFrame::Safety {
                level,
                message: safety_message(level, paused),
                resources: services.clinical.crisis_resources.clone(),
                chat_paused: paused,
                conversation_id: message.conversation_id.clone(),
            },
        );
        if paused && let Err(e) = services.store.set_chat_paused(&message.conversation_id, true).await {
            tracing::error!(conversation = %message.conversation_id, error = %e, "could not pause the conversation");
        }
    }
    if let Err(e) = services.store.set_message_risk(&message.id, &screened.risk).await {
        tracing::warn!(message = %message.id, error = %e, "could not store the risk of a message");
    }
    if services.clinical.llm_second_opinion && second_opinion::is_ambiguous(level) {
        // After the engine's alert, in its own task: a slow model never delays anything.
        actix::spawn(second_look(services.clone(), patient_id, message, context, screened.clone(), stored_at));
    }
    let _ = done.send(screened);
}

/// Raises a further alert when the model grades the message higher than the engine did.
async fn second_look(
    services: Arc<Services>,
    patient_id: String,
    message: Message,
    context: Vec<String>,
    engine: Screened,
    stored_at: Instant,
) {
    let Some(opinion) = second_opinion::ask(services.llm.as_ref(), &message.text, &context).await else { return };
    if opinion.level <= engine.risk.level {
        return; // never lowers, and an equal grade adds nothing
    }
    tracing::info!(message = %message.id, from = engine.risk.level.as_str(), to = opinion.level.as_str(), "llm second opinion raised the level");
    let mut reasons = vec![format!("LLM second opinion ({}): {}", opinion.level.as_str(), opinion.reason)];
    reasons.extend(engine.risk.reasons.iter().cloned());
    let risk = Risk { level: opinion.level, score: engine.risk.score.max(0.75), reasons };
    let raised = Screened { risk: risk.clone(), imminent: false, seconds: engine.seconds };
    services.alerts.do_send(Raise {
        patient_id: patient_id.clone(),
        message: message.clone(),
        screened: raised,
        stored_at,
    });
    if opinion.level >= RiskLevel::Moderate {
        services.push_to_user(
            &patient_id,
            &ServerFrame::Safety {
                level: opinion.level,
                message: safety_message(opinion.level, false),
                resources: services.clinical.crisis_resources.clone(),
                chat_paused: false,
                conversation_id: message.conversation_id.clone(),
            },
        );
    }
    if let Err(e) = services.store.set_message_risk(&message.id, &risk).await {
        tracing::warn!(message = %message.id, error = %e, "could not store the raised risk");
    }
}
