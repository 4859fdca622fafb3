//! `GET /ws` — upgrades to a WebSocket served by a `WsSession` actor.
//!
//! Admission (README "Configuration", docs/protocol.md "Socket caps"): a cap that is known before
//! the upgrade refuses it with `429` and a JSON error naming the cap — sockets from this remote
//! address, unauthenticated sockets on the node, and sockets of the account when the token comes
//! in the `Authorization` header. The account's cap for a socket that authenticates with `hello`
//! is only known after the upgrade: the session refuses it with an error frame and close 4429.

use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use healing_actors::admission::{Admitted, Refused};
use healing_actors::session::WsSession;
use healing_protocol::Cap;

use crate::api_error::ApiError;
use crate::extract::bearer_token;
use crate::state::AppState;

/// `Retry-After` of a socket refused by a cap: sockets come and go; try again shortly.
const RETRY_AFTER_SECS: u64 = 5;

pub async fn handle(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let services = state.services.clone();
    let cfg = &services.config;
    let admission = services.hub.admission.clone();
    let remote = req.peer_addr();
    let refuse = |refused: Refused, who: String| -> actix_web::Error {
        services.metrics.cap_refused(refused.cap);
        tracing::info!(cap = refused.cap.as_str(), max = refused.max, remote = %who, "socket refused before upgrade: cap reached");
        let message = match refused.cap {
            Cap::SocketsPerIp => format!("too many connections from your network address (at most {})", refused.max),
            Cap::UnauthenticatedSockets => {
                "the server has too many connections waiting to sign in; retry shortly".into()
            }
            Cap::SocketsPerUser => format!(
                "this account already has {} connections open here (the limit); close a tab or window, then reconnect",
                refused.max
            ),
            Cap::ConversationsPerPatient => "limit reached".into(),
        };
        ApiError::cap(refused.cap, refused.max as u64, message, Some(RETRY_AFTER_SECS)).into()
    };
    let who = remote.map(|a| a.ip().to_string()).unwrap_or_default();
    let mut admitted = Admitted::default();
    // The address's allowance first, before any work is done for it (a token lookup included).
    if let Some(addr) = remote {
        admitted.address =
            Some(admission.admit_address(addr.ip(), cfg.max_sockets_per_ip).map_err(|r| refuse(r, who.clone()))?);
    }
    // Non-browser clients may authenticate on the upgrade request instead of with `hello`.
    let pre_authenticated = match bearer_token(&req) {
        Some(token) => match services.auth.session(&token).await.map_err(ApiError::from)? {
            Some(session) => {
                Some((session.user, healing_actors::session::SessionToken::of(&token, session.expires_at)))
            }
            None => {
                return Err(ApiError::new(healing_protocol::ErrorCode::Unauthorized, "invalid or expired token").into());
            }
        },
        None => None,
    };
    match &pre_authenticated {
        // Checked again, exactly, when the session registers (a racing tab gets close 4429).
        Some((user, _)) if services.hub.sessions_of(&user.id) >= cfg.max_sockets_per_user => {
            let refused = Refused { cap: Cap::SocketsPerUser, max: cfg.max_sockets_per_user };
            return Err(refuse(refused, who));
        }
        Some(_) => {}
        None => {
            admitted.unauthenticated = Some(
                admission.admit_unauthenticated(cfg.max_unauthenticated_sockets).map_err(|r| refuse(r, who.clone()))?,
            );
        }
    }
    let max_frame = cfg.max_frame_bytes;
    let session = WsSession::new(services.clone(), pre_authenticated, remote, admitted);
    ws::WsResponseBuilder::new(session, &req, stream).frame_size(max_frame).start()
}
