//! `GET /api/v1/crisis?lang=` — the deployment's crisis services and crisis texts, for anyone:
//! no sign-in, because a person in crisis on the sign-in page needs the numbers too. `lang` picks
//! a language of the catalogue (its primary tag: `en-GB` is `en`); a language the deployment has
//! no catalogue for gets the deployment's own, never an error. The web page reads its numbers
//! from here and hard-codes none.

use actix_web::{HttpResponse, web};
use healing_protocol::RiskLevel;
use serde::Deserialize;

use crate::state::AppState;

#[derive(Deserialize)]
pub struct Query {
    lang: Option<String>,
}

pub async fn handle(state: web::Data<AppState>, query: web::Query<Query>) -> HttpResponse {
    let catalogues = &state.services.clinical.crisis;
    let c = catalogues.get(query.lang.as_deref());
    let t = &c.texts;
    let all: Vec<_> = c.resources.iter().map(|r| r.to_wire()).collect();
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=300")).json(serde_json::json!({
        "deployment": c.deployment,
        "region": c.region,
        "language": c.language,
        "language_name": c.language_name,
        "languages": catalogues.languages(),
        "resources": all,
        "levels": {
            "high": c.resources_for(RiskLevel::High),
            "moderate": c.resources_for(RiskLevel::Moderate),
            "low": c.resources_for(RiskLevel::Low),
        },
        "texts": {
            "safety": t.safety,
            "safety_paused": t.safety_paused,
            "crisis_response": t.crisis_response,
            "paused_reply": t.paused_reply,
            "safe_replacement": t.safe_replacement,
            "error_notice": t.error_notice,
        },
        "page": c.page,
    }))
}
