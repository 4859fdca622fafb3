//! The session actor: one per WebSocket connection, holding the socket through actix-web-actors'
//! `WebsocketContext`.
//!
//! Lifecycle: connected → (`hello` or an `Authorization` header) → authenticated → closed. It owns
//! heartbeats (ping every `heartbeat_interval`, drop after `idle_timeout` of silence), the hello
//! deadline, per-session flood control (governor), and the slow-consumer eviction flag set by the
//! [`Hub`](crate::hub::Hub). What each frame does lives in [`dispatch`].

mod dispatch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix::prelude::*;
use actix_web_actors::ws;
use bytestring::ByteString;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use healing_protocol::{Cap, ErrorCode, ServerFrame, Timestamp, User};
use serde_json::Value;

use crate::admission::Admitted;
use crate::hub::{CLOSE_SLOW_CONSUMER, Push, SessionHandle};
use crate::outbox::{Outbox, Pushed};
use crate::services::Services;

/// Close code for a bad or missing token (PROTOCOL §2; all codes: [`healing_protocol::close`]).
pub const CLOSE_UNAUTHORIZED: u16 = healing_protocol::close::UNAUTHORIZED;
/// Rate-limited frames tolerated before a flooding client is disconnected with 1008.
const FLOOD_TOLERANCE: u32 = 50;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// The bearer token a session was opened with (contract §4.1: sessions follow their tokens).
#[derive(Debug, Clone)]
pub struct SessionToken {
    /// SHA-256 of the token, as stored ([`crate::auth::token_hash`]).
    pub hash: String,
    pub expires_at: Timestamp,
}

impl SessionToken {
    pub fn of(token: &str, expires_at: Timestamp) -> SessionToken {
        SessionToken { hash: crate::auth::token_hash(token), expires_at }
    }
}

/// Why a session is closed with `code`, for the close frame.
fn close_reason(code: u16) -> &'static str {
    match code {
        healing_protocol::close::UNAUTHORIZED => "signed out: the token was revoked or expired",
        healing_protocol::close::FORBIDDEN => "the account was disabled",
        CLOSE_SLOW_CONSUMER => "slow consumer: frames were not read in time",
        _ => "closed by the server",
    }
}

pub struct WsSession {
    id: u64,
    services: Arc<Services>,
    user: Option<User>,
    /// Authenticated from the upgrade request's `Authorization` header.
    pre_authenticated: Option<(User, SessionToken)>,
    /// When the token this session was opened with expires, once authenticated: checked at
    /// every frame, and a timer closes the socket then (close 4401).
    expires: Option<Instant>,
    remote: Option<SocketAddr>,
    last_seen: Instant,
    limiter: DefaultDirectRateLimiter,
    rate_violations: u32,
    outbox: Arc<Outbox>,
    /// The admission slots this socket holds (remote address; unauthenticated until welcome).
    admitted: Admitted,
}

impl WsSession {
    pub fn new(
        services: Arc<Services>,
        pre_authenticated: Option<(User, SessionToken)>,
        remote: Option<SocketAddr>,
        admitted: Admitted,
    ) -> WsSession {
        let cfg = &services.config;
        let per_second = std::num::NonZeroU32::new(cfg.frames_per_second.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        let burst = std::num::NonZeroU32::new(cfg.frame_burst.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        let outbox = Arc::new(Outbox::new(cfg.session_queue_bytes));
        WsSession {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
            limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            services,
            user: None,
            pre_authenticated,
            expires: None,
            remote,
            last_seen: Instant::now(),
            rate_violations: 0,
            outbox,
            admitted,
        }
    }

    /// Sends one of the session's own frames (welcome, replies, history pages, errors, backlog)
    /// through its outbox like every pushed frame: it counts against the same byte budget and
    /// keeps its class's order (urgent frames first).
    fn send(&self, ctx: &mut ws::WebsocketContext<Self>, frame: &ServerFrame) {
        if self.outbox.push(&ByteString::from(frame.to_json())) == Pushed::Evicted {
            self.services.hub.stats.slow_consumer_disconnects.fetch_add(1, Ordering::Relaxed);
        }
        self.flush(ctx);
    }

    /// Writes everything queued in the outbox to the socket (or closes an evicted session).
    fn flush(&self, ctx: &mut ws::WebsocketContext<Self>) {
        if let Some(code) = self.outbox.shut_code() {
            self.close(ctx, code, close_reason(code));
            return;
        }
        if self.outbox.is_evicted() {
            self.close(ctx, CLOSE_SLOW_CONSUMER, "slow consumer: frames were not read in time");
            return;
        }
        let frames = self.outbox.drain();
        let metrics = &self.services.metrics;
        metrics.ws_frames.with_label_values(&["out"]).inc_by(frames.len() as u64);
        metrics.ai_deltas_coalesced.inc_by(self.outbox.take_coalesced());
        for frame in frames {
            ctx.text(frame);
        }
    }

    fn send_error(
        &self,
        ctx: &mut ws::WebsocketContext<Self>,
        code: ErrorCode,
        message: &str,
        reference: Option<Value>,
    ) {
        self.send(ctx, &ServerFrame::error(code, message, reference));
    }

    fn close(&self, ctx: &mut ws::WebsocketContext<Self>, code: u16, why: &str) {
        ctx.close(Some(ws::CloseReason { code: ws::CloseCode::Other(code), description: Some(why.to_owned()) }));
        ctx.stop();
    }

    /// Completes authentication: queues `welcome`, registers with the hub, then writes.
    /// `welcome` is queued before the session can receive anything pushed to its user, so it is
    /// always the first frame even when an alert arrives at the same moment. When the account
    /// already has `max_sockets_per_user` sockets here, this one is refused instead (an error
    /// naming the cap, then close 4429); the account's other sockets are untouched.
    fn welcome(
        &mut self,
        user: User,
        token: SessionToken,
        reference: Option<Value>,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let welcome = ServerFrame::Welcome {
            user: healing_protocol::server::WelcomeUser {
                id: user.id.clone(),
                username: user.username.clone(),
                role: user.role,
                display_name: user.display_name.clone(),
            },
            session_id: self.id.to_string(),
            server_time: chrono::Utc::now(),
            reference: reference.clone(),
        };
        self.outbox.push(&ByteString::from(welcome.to_json()));
        let max = self.services.config.max_sockets_per_user;
        let joined = self.services.hub.try_join(
            &user.id,
            SessionHandle {
                session_id: self.id,
                role: user.role,
                recipient: ctx.address().recipient(),
                outbox: self.outbox.clone(),
                token_hash: Some(token.hash.clone()),
            },
            max,
        );
        let first_here = match joined {
            Ok(first) => first,
            Err(refused) => {
                self.services.metrics.cap_refused(refused.cap);
                tracing::info!(
                    cap = refused.cap.as_str(),
                    max = refused.max,
                    session = self.id,
                    user = %user.id,
                    role = user.role.as_str(),
                    "socket refused: the account has the most sockets allowed on this node"
                );
                // Not registered, so nothing but the queued `welcome` is in the outbox: drop it.
                drop(self.outbox.drain());
                let message = format!(
                    "this account already has {max} connections open here (the limit); close a tab or window, then \
                     reconnect"
                );
                self.send(ctx, &ServerFrame::limit_error(Cap::SocketsPerUser, message, max as u64, reference));
                self.close(ctx, healing_protocol::close::TOO_MANY_SOCKETS, "too many connections for this account");
                return;
            }
        };
        // Authenticated: no longer counted against the node's unauthenticated sockets.
        self.admitted.unauthenticated = None;
        if first_here {
            self.services.fanout.bus.user_joined(&user.id, user.role);
        }
        tracing::debug!(session = self.id, user = %user.id, role = user.role.as_str(), "session authenticated");
        self.follow_token(&user, token, ctx);
        self.flush(ctx);
        self.send_backlog(&user, ctx);
        self.user = Some(user);
    }

    /// Contract §4.1: the session lives only as long as its token. Three guards, so no single
    /// one is trusted alone: logout and disable close it at once through the hub (and the bus,
    /// for other nodes); a timer closes it at expiry, and every frame checks the expiry instant
    /// first ([`WsSession::token_expired`]); every `token_recheck` the token is read again from
    /// the store (a revocation whose bus message was lost closes the socket then).
    fn follow_token(&mut self, user: &User, token: SessionToken, ctx: &mut ws::WebsocketContext<Self>) {
        let left = (token.expires_at - chrono::Utc::now()).to_std().unwrap_or_default();
        self.expires = Some(Instant::now() + left);
        ctx.run_later(left, |act, ctx| {
            if act.token_expired() {
                act.close_for_token(ctx, healing_protocol::close::UNAUTHORIZED, "expired");
            }
        });
        let (hash, user_id) = (token.hash, user.id.clone());
        ctx.run_interval(self.services.config.token_recheck, move |act, ctx| {
            let (services, hash, user_id) = (act.services.clone(), hash.clone(), user_id.clone());
            let check = async move {
                match services.auth.session_by_hash(&hash).await {
                    Ok(Some(_)) | Err(_) => None,
                    Ok(None) => Some(match services.store.user_disabled(&user_id).await {
                        Ok(true) => healing_protocol::close::FORBIDDEN,
                        _ => healing_protocol::close::UNAUTHORIZED,
                    }),
                }
            };
            ctx.spawn(check.into_actor(act).map(|code, act, ctx| {
                if let Some(code) = code {
                    act.close_for_token(ctx, code, "recheck");
                }
            }));
        });
    }

    /// Whether the session's token has expired (checked at every frame).
    fn token_expired(&self) -> bool {
        self.expires.is_some_and(|at| Instant::now() >= at)
    }

    /// Closes the socket because its token stopped working: nothing queued is written. `reason`
    /// is `expired` (the expiry instant passed) or `recheck` (the store no longer knows the token
    /// as live), as counted in `healing_sessions_revoked_total`.
    fn close_for_token(&self, ctx: &mut ws::WebsocketContext<Self>, code: u16, reason: &'static str) {
        if self.outbox.shut_code().is_none() {
            self.services.metrics.sessions_revoked.with_label_values(&[reason]).inc();
        }
        self.outbox.shut(code);
        let user = self.user.as_ref().map(|u| u.id.as_str()).unwrap_or_default();
        tracing::info!(session = self.id, user = %user, code, reason, "session closed: its token stopped working");
        self.close(ctx, code, close_reason(code));
    }
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // The mailbox carries only wake-ups and control messages; frames wait in the outbox.
        ctx.set_mailbox_capacity(16);
        let cfg = self.services.config.clone();
        ctx.run_interval(cfg.heartbeat_interval, move |act, ctx| {
            if act.token_expired() {
                act.close_for_token(ctx, healing_protocol::close::UNAUTHORIZED, "expired");
                return;
            }
            if act.outbox.is_evicted() {
                act.close(ctx, CLOSE_SLOW_CONSUMER, "slow consumer: frames were not read in time");
                return;
            }
            if act.last_seen.elapsed() > cfg.idle_timeout {
                tracing::debug!(session = act.id, "idle timeout");
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Away,
                    description: Some("idle timeout".into()),
                }));
                ctx.stop();
                return;
            }
            ctx.ping(b"");
        });
        if let Some((user, token)) = self.pre_authenticated.take() {
            self.welcome(user, token, None, ctx);
        } else {
            ctx.run_later(cfg.hello_timeout, |act, ctx| {
                if act.user.is_none() {
                    act.send_error(ctx, ErrorCode::Unauthorized, "no hello received in time", None);
                    act.close(ctx, CLOSE_UNAUTHORIZED, "unauthorized");
                }
            });
        }
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        if let Some(user) = &self.user
            && self.services.hub.leave(&user.id, self.id)
        {
            self.services.fanout.bus.user_left(&user.id);
        }
        Running::Stop
    }
}

impl Handler<Push> for WsSession {
    type Result = ();

    fn handle(&mut self, msg: Push, ctx: &mut Self::Context) {
        if let Some(code) = self.outbox.shut_code() {
            return self.close(ctx, code, close_reason(code));
        }
        if self.outbox.is_evicted() {
            self.close(ctx, CLOSE_SLOW_CONSUMER, "slow consumer: frames were not read in time");
            return;
        }
        match msg {
            Push::Wake => self.flush(ctx),
            Push::Close(code, reason) => self.close(ctx, code, reason),
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        match item {
            Ok(ws::Message::Text(text)) => self.on_text(text, ctx),
            Ok(ws::Message::Binary(_)) => {
                self.send_error(ctx, ErrorCode::InvalidRequest, "binary frames are not supported; send JSON text", None)
            }
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            Ok(ws::Message::Pong(_)) => {}
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Ok(ws::Message::Continuation(_)) => {
                self.send_error(ctx, ErrorCode::InvalidRequest, "fragmented frames are not supported", None)
            }
            Ok(ws::Message::Nop) => {}
            Err(ws::ProtocolError::Overflow) => {
                tracing::info!(session = self.id, "frame over the size limit; closing");
                let limit = self.services.config.max_frame_bytes;
                self.send_error(ctx, ErrorCode::TooLarge, &format!("frames are limited to {limit} bytes"), None);
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Size,
                    description: Some("frame too large".into()),
                }));
                ctx.stop();
            }
            Err(e) => {
                tracing::info!(session = self.id, error = %e, "websocket protocol error; closing");
                ctx.close(Some(ws::CloseReason { code: ws::CloseCode::Protocol, description: None }));
                ctx.stop();
            }
        }
    }
}

impl WsSession {
    fn on_text(&mut self, text: ByteString, ctx: &mut ws::WebsocketContext<Self>) {
        self.services.metrics.ws_frames.with_label_values(&["in"]).inc();
        // Nothing is accepted on a session whose token stopped working (contract §4.1).
        if let Some(code) = self.outbox.shut_code() {
            return self.close(ctx, code, close_reason(code));
        }
        if self.token_expired() {
            return self.close_for_token(ctx, healing_protocol::close::UNAUTHORIZED, "expired");
        }
        if self.limiter.check().is_err() {
            self.services.metrics.rate_limited.inc();
            self.rate_violations += 1;
            if self.rate_violations > FLOOD_TOLERANCE {
                tracing::warn!(session = self.id, "flooding past the rate limit; closing");
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Policy,
                    description: Some("rate limit".into()),
                }));
                ctx.stop();
            } else {
                self.send_error(ctx, ErrorCode::RateLimited, "too many frames; slow down", None);
            }
            return;
        }
        match healing_protocol::parse_client_frame(&text) {
            Ok((frame, reference)) => self.dispatch(frame, reference, ctx),
            Err(e) => {
                tracing::debug!(session = self.id, "invalid frame");
                self.send_error(ctx, ErrorCode::InvalidRequest, &e.message, e.reference);
            }
        }
    }
}
