//! `GET /api/v1/messages/{id}/explanation` — what produced an AI reply ("Why did I get this
//! answer?"): the owner patient, or a clinician/supervisor whose caseload/team holds the owner.
//! Built from the stored message's `meta`. Reads by staff are audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{Author, ErrorCode};
use serde_json::{Value, json};

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let message_id = path.into_inner();
    let store = &state.services.store;
    // A missing message, someone else's, and a non-AI one all answer the same, so nothing leaks.
    let hidden = || ApiError::new(ErrorCode::NotFound, "no AI reply with that id");
    let message = store.message(&message_id).await?.ok_or_else(hidden)?;
    if message.author != Author::Ai {
        return Err(hidden());
    }
    let conversation =
        caller.visible_conversation(store.as_ref(), &message.conversation_id, "no AI reply with that id").await?;
    if caller.user.id != conversation.patient_id {
        crate::audit::record(
            &state,
            &req,
            &caller.user,
            "message.explanation.read",
            format!("patient:{}", conversation.patient_id),
            Some(format!("message:{message_id}")),
        )
        .await?;
    }
    let meta = message.meta.clone().unwrap_or(Value::Null);
    Ok(HttpResponse::Ok().json(explain(&message.id, message.finish.as_deref(), &meta)))
}

/// The explanation document for an AI reply with this `meta` (missing fields become `null`).
fn explain(message_id: &str, finish: Option<&str>, meta: &Value) -> Value {
    let safety = &meta["safety"];
    let input = &safety["input_screening"];
    let mut checks = vec![json!({
        "check": "input_screening",
        "outcome": input["level"].as_str().unwrap_or("unknown"),
        "reasons": input["reasons"].as_array().cloned().unwrap_or_default(),
    })];
    if let Some(paused) = safety["chat_paused"].as_bool() {
        checks.push(json!({ "check": "chat_paused", "outcome": if paused { "paused" } else { "not_paused" } }));
    }
    checks.push(json!({
        "check": "output_screening",
        "outcome": safety["output_screening"].as_str().unwrap_or("unknown"),
    }));
    json!({
        "message_id": message_id,
        "produced_by": { "kind": meta["kind"], "provider": meta["provider"], "model": meta["model"] },
        "context_turns": meta["context_turns"],
        "safety_checks": checks,
        "reply_to": meta["reply_to"],
        "finish": finish,
        "error": meta["error"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanation_is_built_from_meta() {
        let meta = json!({
            "kind": "model", "provider": "offline", "model": "offline-companion", "context_turns": 3,
            "reply_to": "m1", "error": null,
            "safety": { "input_screening": { "level": "low", "reasons": ["C-SSRS 1"] },
                        "chat_paused": false, "output_screening": "passed" },
        });
        let e = explain("m2", Some("stop"), &meta);
        assert_eq!(e["message_id"], "m2");
        assert_eq!(e["produced_by"]["provider"], "offline");
        assert_eq!(e["context_turns"], 3);
        assert_eq!(e["reply_to"], "m1");
        assert_eq!(e["safety_checks"][0]["outcome"], "low");
        assert_eq!(e["safety_checks"][0]["reasons"][0], "C-SSRS 1");
        assert_eq!(e["safety_checks"][1]["outcome"], "not_paused");
        assert_eq!(e["safety_checks"][2]["outcome"], "passed");
    }

    #[test]
    fn missing_meta_still_answers() {
        let e = explain("m", None, &Value::Null);
        assert!(e["produced_by"]["kind"].is_null());
        assert_eq!(e["safety_checks"].as_array().map(Vec::len), Some(2));
    }
}
