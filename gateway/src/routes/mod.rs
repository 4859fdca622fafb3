//! HTTP routes, one endpoint per file. Only this module (with `extract` and `api_error`) knows
//! HTTP and JSON bodies; handlers translate to service calls and back.

mod admin_assignments;
mod admin_audit;
mod admin_audit_export;
mod admin_duty;
mod admin_teams;
mod admin_unassigned;
mod admin_user_access;
mod admin_users;
mod alerts;
mod caseload;
mod conversations;
mod crisis;
mod escalations;
mod explanation;
mod follow_ups;
mod health;
mod login;
mod logout;
mod me;
mod messages;
mod metrics;
mod paging;
mod patient_conversations;
mod patient_erasure;
mod patient_export;
mod register;
mod resume;
mod static_files;
mod ws;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            // API answers hold personal and clinical data: never kept by a browser or a proxy.
            .wrap(actix_web::middleware::DefaultHeaders::new().add(("Cache-Control", "no-store")))
            .route("/auth/register", web::post().to(register::handle))
            .route("/auth/login", web::post().to(login::handle))
            .route("/auth/logout", web::post().to(logout::handle))
            .route("/me", web::get().to(me::handle))
            .route("/crisis", web::get().to(crisis::handle))
            .route("/admin/users", web::post().to(admin_users::handle))
            .route("/admin/users/{id}/disable", web::post().to(admin_user_access::disable))
            .route("/admin/users/{id}/enable", web::post().to(admin_user_access::enable))
            .route("/admin/assignments", web::post().to(admin_assignments::handle))
            .route("/admin/teams", web::post().to(admin_teams::handle))
            .route("/admin/duty", web::post().to(admin_duty::handle))
            .route("/admin/unassigned-patients", web::get().to(admin_unassigned::handle))
            .route("/admin/audit", web::get().to(admin_audit::handle))
            .route("/admin/audit/export", web::get().to(admin_audit_export::handle))
            .route("/conversations", web::get().to(conversations::handle))
            .route("/conversations/{id}/messages", web::get().to(messages::handle))
            .route("/conversations/{id}/resume", web::post().to(resume::handle))
            .route("/alerts", web::get().to(alerts::handle))
            .route("/escalations", web::get().to(escalations::handle))
            .route("/follow-ups", web::get().to(follow_ups::handle))
            .route("/messages/{id}/explanation", web::get().to(explanation::handle))
            .route("/caseload", web::get().to(caseload::handle))
            .route("/patients/{id}/conversations", web::get().to(patient_conversations::handle))
            .route("/patients/{id}/export", web::get().to(patient_export::handle))
            .route("/patients/{id}", web::delete().to(patient_erasure::schedule))
            .route("/patients/{id}/erasure/cancel", web::post().to(patient_erasure::cancel))
            .default_service(web::to(not_found)),
    )
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(metrics::handle))
    .route("/ws", web::get().to(ws::handle))
    .default_service(web::get().to(static_files::handle));
}

async fn not_found() -> Result<actix_web::HttpResponse, crate::api_error::ApiError> {
    Err(crate::api_error::ApiError::new(healing_protocol::ErrorCode::NotFound, "no such endpoint"))
}

/// The account JSON every route returns.
pub fn user_json(u: &healing_protocol::User) -> serde_json::Value {
    serde_json::json!({
        "id": u.id, "username": u.username, "role": u.role, "display_name": u.display_name, "created_at": u.created_at
    })
}
