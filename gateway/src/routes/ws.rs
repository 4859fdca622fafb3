//! `GET /ws` — upgrades to a WebSocket served by a `WsSession` actor.

use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use healing_actors::session::WsSession;

use crate::extract::bearer_token;
use crate::state::AppState;

pub async fn handle(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let services = state.services.clone();
    // Non-browser clients may authenticate on the upgrade request instead of with `hello`.
    let pre_authenticated = match bearer_token(&req) {
        Some(token) => match services.auth.verify(&token).await.map_err(crate::api_error::ApiError::from)? {
            Some(user) => Some(user),
            None => {
                return Err(crate::api_error::ApiError::new(
                    healing_protocol::ErrorCode::Unauthorized,
                    "invalid or expired token",
                )
                .into());
            }
        },
        None => None,
    };
    let max_frame = services.config.max_frame_bytes;
    let session = WsSession::new(services, pre_authenticated, req.peer_addr());
    ws::WsResponseBuilder::new(session, &req, stream).frame_size(max_frame).start()
}
