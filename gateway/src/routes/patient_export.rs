//! `GET /api/v1/patients/{id}/export[?format=fhir]` (contract §1, §4.9): every record held about
//! a patient, for the patient themself or an admin. Clinicians and supervisors get `403` (the
//! contract names only the patient and admins: their care team reads clinical data through the
//! ordinary endpoints, audited one by one); another patient gets `404`, as for a patient that does
//! not exist. Every export is audited (`patient.export`).

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{Alert, ConversationSummary, ErrorCode, Escalation, Message, Role, User};
use healing_storage::{AlertQuery, EscalationQuery, PageCursor, Store};
use serde::Deserialize;
use serde_json::json;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Query {
    format: Option<String>,
}

const PAGE: u32 = 200;
const LIST_PAGE: u32 = 1000;

/// The patient a caller may act on as data subject or admin (export, erasure): themself, or any
/// patient for an admin. `403` for staff roles; `404` for someone else's id or no such patient.
pub(crate) async fn subject(caller: &AuthUser, store: &dyn Store, id: &str) -> Result<User, ApiError> {
    let missing = || ApiError::new(ErrorCode::NotFound, "no such patient");
    match caller.user.role {
        Role::Patient if caller.user.id == id => {}
        Role::Patient => return Err(missing()),
        Role::Admin => {}
        Role::Clinician | Role::Supervisor => {
            return Err(ApiError::new(ErrorCode::Forbidden, "only the patient or an admin can do this"));
        }
    }
    match store.user(id).await? {
        Some(u) if u.role == Role::Patient => Ok(u),
        _ => Err(missing()),
    }
}

async fn all_messages(store: &dyn Store, conversation_id: &str) -> Result<Vec<Message>, ApiError> {
    let mut out: Vec<Message> = Vec::new();
    let mut before = None;
    loop {
        let page = store.messages(conversation_id, before, PAGE).await?;
        let Some(first) = page.first() else { break };
        before = Some(first.seq);
        let full = page.len() == PAGE as usize;
        out.splice(0..0, page);
        if !full || before == Some(1) {
            break;
        }
    }
    Ok(out)
}

async fn all_alerts(store: &dyn Store, patient_id: &str) -> Result<Vec<Alert>, ApiError> {
    let mut out: Vec<Alert> = Vec::new();
    loop {
        let before = out.last().map(|a| PageCursor::after(a.created_at, &a.id));
        let query =
            AlertQuery { patient_id: Some(patient_id.to_owned()), before, limit: LIST_PAGE, ..AlertQuery::default() };
        let page = store.alerts(query).await?;
        let full = page.len() == LIST_PAGE as usize;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

async fn all_escalations(store: &dyn Store, patient_id: &str) -> Result<Vec<Escalation>, ApiError> {
    let mut out: Vec<Escalation> = Vec::new();
    loop {
        let before = out.last().map(|e| PageCursor::after(e.created_at, &e.id));
        let query = EscalationQuery {
            patient_id: Some(patient_id.to_owned()),
            before,
            limit: LIST_PAGE,
            ..EscalationQuery::default()
        };
        let page = store.escalations(query).await?;
        let full = page.len() == LIST_PAGE as usize;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
    query: web::Query<Query>,
) -> ApiResult<HttpResponse> {
    let fhir = match query.format.as_deref() {
        None | Some("json") => false,
        Some("fhir") => true,
        Some(_) => return Err(ApiError::new(ErrorCode::InvalidRequest, "format must be json or fhir")),
    };
    let store = state.services.store.as_ref();
    let patient = subject(&caller, store, &path).await?;
    let conversations: Vec<ConversationSummary> = store.conversations_of(&patient.id).await?;
    let mut with_messages = Vec::with_capacity(conversations.len());
    for c in &conversations {
        with_messages.push((c, all_messages(store, &c.id).await?));
    }
    let alerts = all_alerts(store, &patient.id).await?;
    let target = format!("patient:{}", patient.id);
    // Audited before anything is disclosed (a failed audit line answers an error instead).
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "patient.export",
        target.clone(),
        Some(format!("format={}", if fhir { "fhir" } else { "json" })),
    )
    .await?;
    let now = chrono::Utc::now();
    if fhir {
        let messages: Vec<Message> = with_messages.into_iter().flat_map(|(_, m)| m).collect();
        let bundle = crate::fhir::bundle(&patient, &messages, &alerts, now);
        return Ok(HttpResponse::Ok().content_type("application/fhir+json").json(bundle));
    }
    let escalations = all_escalations(store, &patient.id).await?;
    // Who read or changed the patient's records (their right of access); other people's
    // addresses are theirs, not the patient's, and are left out.
    let mut audit = store.audit_log(Some(&target), 10_000).await?;
    for e in &mut audit {
        if e.actor_id.as_deref() != Some(patient.id.as_str()) {
            e.remote_addr = None;
        }
    }
    let followups = store
        .followups(healing_storage::FollowupQuery {
            patient_id: Some(patient.id.clone()),
            limit: 1000,
            ..Default::default()
        })
        .await?;
    let erasure = store.erasure(&patient.id).await?;
    let mut patient_json = super::user_json(&patient);
    if let Some(e) = erasure {
        patient_json["erasure"] = json!(e);
    }
    let conversations: Vec<_> = with_messages
        .into_iter()
        .map(|(c, messages)| {
            let mut v = json!(c);
            v["messages"] = json!(messages);
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "format": "healing-space-export/1",
        "exported_at": now,
        "patient": patient_json,
        "conversations": conversations,
        "alerts": alerts,
        "escalations": escalations,
        "followups": followups,
        "audit": audit,
    })))
}
