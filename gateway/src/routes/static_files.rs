//! The web front end, embedded in the binary (see the `web` crate).

use actix_web::{HttpRequest, HttpResponse};

pub async fn handle(req: HttpRequest) -> HttpResponse {
    let path = req.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match healing_web::asset(path) {
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header(("Cache-Control", "no-cache"))
            .body(asset.body),
        None => HttpResponse::NotFound()
            .json(serde_json::json!({"error": {"code": "not_found", "message": "no such page"}})),
    }
}
