//! `GET /api/v1/me` — the signed-in account.

use actix_web::HttpResponse;

use crate::extract::AuthUser;

pub async fn handle(caller: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "user": super::user_json(&caller.user) }))
}
