//! `GET /metrics` — Prometheus text.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>) -> HttpResponse {
    let services = &state.services;
    services.metrics.refresh(&services.hub, services.chats.live());
    HttpResponse::Ok().content_type(prometheus::TEXT_FORMAT).body(services.metrics.encode())
}
