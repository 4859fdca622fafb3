//! One WebSocket session as one pool account: connect (timed as `ws_connecting`), `hello` →
//! `welcome`, JSON frames in and out (counted as `ws_msgs_sent` / `ws_msgs_received`), and the
//! session's lifetime (`ws_session_duration`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{Shared, Vu, VuError};
use crate::config::Role;
use crate::net::Ws;

/// How long the server may take to answer `hello`.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Session {
    ws: Ws,
    shared: Arc<Shared>,
    opened: Instant,
    pub welcome: Value,
}

impl Session {
    /// Connects as the VU's account of `role` and completes the handshake.
    pub async fn open(vu: &Vu, role: Role) -> Result<Session, VuError> {
        let shared = vu.shared.clone();
        let token = shared.pool.account(role, vu.account).ok_or(VuError::NoAccount(role.as_str()))?.token.clone();
        let t0 = Instant::now();
        let ws = shared.connector.connect().await.map_err(VuError::Connect)?;
        shared.metrics.ws_connecting.add(t0.elapsed());
        shared.metrics.ws_sessions.inc();
        let mut s = Session { ws, shared, opened: Instant::now(), welcome: Value::Null };
        s.send(&json!({"type": "hello", "token": token})).await?;
        let first =
            tokio::time::timeout(WELCOME_TIMEOUT, s.next()).await.map_err(|_| VuError::Timeout("welcome"))??;
        if !s.shared.metrics.check("session welcomed", first["type"] == "welcome") {
            return Err(VuError::Protocol(format!("expected welcome, got {}", first["type"])));
        }
        s.welcome = first;
        Ok(s)
    }

    pub async fn send(&mut self, frame: &Value) -> Result<(), VuError> {
        self.ws.send(Message::Text(frame.to_string().into())).await.map_err(|e| VuError::Socket(e.to_string()))?;
        self.shared.metrics.ws_msgs_sent.inc();
        Ok(())
    }

    /// The next JSON text frame. Pings are answered by tungstenite; a close is an error.
    pub async fn next(&mut self) -> Result<Value, VuError> {
        loop {
            match self.ws.next().await {
                None => return Err(VuError::Closed(None)),
                Some(Err(e)) => return Err(VuError::Socket(e.to_string())),
                Some(Ok(Message::Text(t))) => {
                    self.shared.metrics.ws_msgs_received.inc();
                    return serde_json::from_str(&t).map_err(|e| VuError::Protocol(format!("bad JSON: {e}")));
                }
                Some(Ok(Message::Close(frame))) => return Err(VuError::Closed(frame.map(|f| u16::from(f.code)))),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Application-level keepalive.
    pub async fn ping(&mut self) -> Result<(), VuError> {
        self.send(&json!({"type": "ping"})).await
    }

    /// A clean close (1000); errors are irrelevant at this point.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.metrics.ws_session_duration.add(self.opened.elapsed());
    }
}

/// A keepalive timer whose first tick is one period away.
pub fn keepalive(period: Duration) -> tokio::time::Interval {
    let period = period.max(Duration::from_millis(100));
    let mut i = tokio::time::interval_at(Instant::now() + period, period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}
