//! What every HTTP handler can reach.

use std::sync::Arc;

use healing_actors::Services;

use crate::login_limit::LoginLimiter;

pub struct AppState {
    pub services: Arc<Services>,
    pub login_limiter: LoginLimiter,
    /// `--erasure-grace`: how long a requested erasure waits (contract §4.9).
    pub erasure_grace: std::time::Duration,
}
