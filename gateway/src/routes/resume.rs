//! `POST /api/v1/conversations/{id}/resume` — a clinician (caseload) or supervisor (team) resumes
//! AI chat in a conversation paused after a high-risk message, once a person has been in touch.
//! The pause is the patient's, so this resumes every conversation of theirs; the patient's
//! sessions get `conversation.resumed` for each one that was paused.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{Role, ServerFrame};

use crate::api_error::ApiResult;
use crate::extract::AuthUser;
use crate::state::AppState;

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Clinician, Role::Supervisor])?;
    let id = path.into_inner();
    let services = &state.services;
    let conversation = caller.visible_conversation(services.store.as_ref(), &id, "conversation not found").await?;
    // The pause is the patient's (contract §4.2): resuming lifts it from all their conversations.
    services.store.set_chat_paused(&id, false).await?;
    let mut resumed = services.store.set_patient_paused(&conversation.patient_id, false).await?;
    resumed.retain(|c| *c != id);
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "conversation.resume",
        format!("patient:{}", conversation.patient_id),
        Some(format!("conversation:{id}")),
    )
    .await?;
    for other in resumed {
        services.push_to_user(&conversation.patient_id, &ServerFrame::ConversationResumed { conversation_id: other });
    }
    services.push_to_user(&conversation.patient_id, &ServerFrame::ConversationResumed { conversation_id: id });
    Ok(HttpResponse::NoContent().finish())
}
