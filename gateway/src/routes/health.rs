//! `GET /healthz` (the process is up) and `GET /readyz` (the store answers).

use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let services = &state.services;
    let store_ok = match services.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store check failed");
            false
        }
    };
    let bus = &services.fanout.bus;
    let bus_ok = bus.healthy().await;
    let body = serde_json::json!({
        "status": if store_ok && bus_ok { "ready" } else { "unavailable" },
        "store": if store_ok { "ok" } else { "error" },
        "bus": { "kind": bus.kind(), "status": if bus_ok { "ok" } else { "error" } },
    });
    if store_ok && bus_ok { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
