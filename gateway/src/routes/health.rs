//! `GET /healthz` (the process is up) and `GET /readyz` (the store and the bus answer; when not,
//! 503 with a `reason`). A node whose Redis bus is down still serves chat on this node.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let services = &state.services;
    let mut reasons = Vec::new();
    let store_ok = match services.store.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store check failed");
            reasons.push(format!("store unavailable: {e}"));
            false
        }
    };
    let bus = &services.fanout.bus;
    let bus_ok = bus.healthy().await;
    if !bus_ok {
        reasons.push(format!("bus: {}", bus.problem().unwrap_or_else(|| "not answering".into())));
    }
    let mut body = serde_json::json!({
        "status": if store_ok && bus_ok { "ready" } else { "unavailable" },
        "store": if store_ok { "ok" } else { "error" },
        "bus": { "kind": bus.kind(), "status": if bus_ok { "ok" } else { "error" } },
    });
    if !reasons.is_empty() {
        // What is wrong, for whoever reads the probe (an addition: docs/protocol.md).
        body["reason"] = serde_json::Value::String(reasons.join("; "));
    }
    if store_ok && bus_ok { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
