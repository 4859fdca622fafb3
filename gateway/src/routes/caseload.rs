//! `GET /api/v1/caseload` — a clinician's patients with their latest risk level, last contact and
//! number of alerts not yet acknowledged. The latest risk is the grade of the patient's most recent
//! screened message, but never below the level of an alert still waiting for acknowledgement. Supervisors get 403: the store has no "patients of my
//! team" listing; they work from escalations (and can open any escalated patient's conversation).
//! Reading the caseload is reading clinical data, so it is audited.

use actix_web::{HttpRequest, HttpResponse, web};
use healing_protocol::{Author, ErrorCode, RiskLevel, Role};
use healing_storage::AlertQuery;

use crate::api_error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

/// How far back in the newest conversation to look for the latest screened patient message.
const RISK_LOOKBACK: u32 = 50;

pub async fn handle(req: HttpRequest, state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    if caller.user.role != Role::Clinician {
        return Err(ApiError::new(ErrorCode::Forbidden, "the caseload is for clinicians"));
    }
    let store = &state.services.store;
    let mut patients = Vec::new();
    for patient in store.caseload(&caller.user.id).await? {
        let conversations = store.conversations_of(&patient.id).await?;
        let last_contact = conversations.iter().map(|c| c.last_message_at).max();
        // Latest risk: the grade of the patient's most recent screened message.
        let mut latest_risk = RiskLevel::None;
        if let Some(newest) = conversations.iter().max_by_key(|c| c.last_message_at) {
            let messages = store.messages(&newest.id, None, RISK_LOOKBACK).await?;
            if let Some(risk) =
                messages.iter().rev().filter(|m| m.author == Author::Patient).find_map(|m| m.risk.as_ref())
            {
                latest_risk = risk.level;
            }
        }
        // Filtered in the store: acknowledged alerts, however many, never hide an open one.
        let open = store
            .alerts(AlertQuery {
                patient_id: Some(patient.id.clone()),
                clinician_id: Some(caller.user.id.clone()),
                unacknowledged: true,
                limit: 1000,
                ..AlertQuery::default()
            })
            .await?;
        // An alert nobody has acknowledged yet keeps its level showing, whatever came after it.
        if let Some(highest_open) = open.iter().map(|a| a.level).max() {
            latest_risk = latest_risk.max(highest_open);
        }
        let open_alerts = open.len();
        patients.push(serde_json::json!({
            "id": patient.id,
            "username": patient.username,
            "display_name": patient.display_name,
            "latest_risk": latest_risk,
            "last_contact": last_contact,
            "open_alerts": open_alerts,
        }));
    }
    crate::audit::record(
        &state,
        &req,
        &caller.user,
        "caseload.read",
        format!("user:{}", caller.user.id),
        Some(format!("{} patients", patients.len())),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "patients": patients })))
}
