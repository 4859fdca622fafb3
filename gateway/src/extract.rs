//! Authentication as an extractor: a handler that takes [`AuthUser`] only runs for a live bearer
//! token; everything else gets 401 before the handler is called.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use healing_protocol::{ErrorCode, Role, User};
use healing_storage::{Conversation, Store};

use crate::api_error::ApiError;
use crate::state::AppState;

/// The signed-in caller, and the token they presented (for logout).
pub struct AuthUser {
    pub user: User,
    pub token: String,
}

impl AuthUser {
    /// The patient's data is visible to the caller (the patient, or their care team); otherwise a
    /// 404 with `not_found` as its message — the same answer as for a patient that does not
    /// exist, so nothing leaks.
    pub async fn require_view(&self, store: &dyn Store, patient_id: &str, not_found: &str) -> Result<(), ApiError> {
        if store.can_view_patient(&self.user, patient_id).await? {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::NotFound, not_found))
        }
    }

    /// A conversation the caller may read (see [`AuthUser::require_view`]).
    pub async fn visible_conversation(
        &self,
        store: &dyn Store,
        id: &str,
        not_found: &str,
    ) -> Result<Conversation, ApiError> {
        let conversation =
            store.conversation(id).await?.ok_or_else(|| ApiError::new(ErrorCode::NotFound, not_found))?;
        self.require_view(store, &conversation.patient_id, not_found).await?;
        Ok(conversation)
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden, "your role cannot do this"))
        }
    }
}

/// The bearer token of a request, if any.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<AuthUser, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::new(ErrorCode::Internal, "server misconfigured"))?;
            let token = token.ok_or_else(|| {
                ApiError::new(ErrorCode::Unauthorized, "sign in first (Authorization: Bearer <token>)")
            })?;
            match state.services.auth.verify(&token).await? {
                Some(user) => Ok(AuthUser { user, token }),
                None => Err(ApiError::new(ErrorCode::Unauthorized, "invalid or expired token")),
            }
        })
    }
}

/// The caller's IP address as seen by this server (no proxy headers are trusted).
pub fn remote_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}
