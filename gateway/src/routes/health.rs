//! `GET /healthz` (the process is up) and `GET /readyz` (the store answers).

use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.services.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ready", "store": "ok", "bus": "in-process"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "unavailable", "store": "error"}))
        }
    }
}
