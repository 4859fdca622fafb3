//! What each client frame does, by role. Every frame is checked for role and relationship here,
//! before it touches a service.

use actix::prelude::*;
use actix_web_actors::ws;
use healing_protocol::{ClientFrame, ErrorCode, Role, ServerFrame, User};
use healing_storage::NewMessage;
use serde_json::Value;

use super::{CLOSE_UNAUTHORIZED, WsSession};
use crate::alerts::{Acknowledge, CompleteFollowup};
use crate::error::ServiceError;
use crate::supervision::{Act, DeskAction};

type Ctx = ws::WebsocketContext<WsSession>;

impl WsSession {
    pub(super) fn dispatch(&mut self, frame: ClientFrame, reference: Option<Value>, ctx: &mut Ctx) {
        let Some(user) = self.user.clone() else {
            return self.before_hello(frame, reference, ctx);
        };
        match frame {
            ClientFrame::Hello { .. } => {
                self.send_error(ctx, ErrorCode::InvalidRequest, "already authenticated", reference)
            }
            ClientFrame::Ping => self.send(ctx, &ServerFrame::Pong { server_time: chrono::Utc::now(), reference }),
            ClientFrame::ChatSend { client_msg_id, conversation_id, text } => {
                if user.role != Role::Patient {
                    return self.send_error(
                        ctx,
                        ErrorCode::Forbidden,
                        "only patients chat with the AI companion",
                        reference,
                    );
                }
                self.chat_send(user, client_msg_id, conversation_id, text, reference, ctx);
            }
            ClientFrame::ChatCancel { message_id } => {
                if user.role != Role::Patient {
                    return self.send_error(ctx, ErrorCode::Forbidden, "only the patient can stop a reply", reference);
                }
                if !self.services.chats.cancel(&message_id, &user.id) {
                    self.send_error(ctx, ErrorCode::InvalidRequest, "no reply with that id is streaming", reference);
                }
            }
            ClientFrame::HistoryGet { conversation_id, before_seq, limit } => {
                self.history(user, conversation_id, before_seq, limit, reference, ctx)
            }
            ClientFrame::AlertAck { .. }
            | ClientFrame::EscalationClaim { .. }
            | ClientFrame::EscalationResolve { .. }
            | ClientFrame::FollowupDone { .. } => self.clinical_frame(user, frame, reference, ctx),
        }
    }

    fn before_hello(&mut self, frame: ClientFrame, reference: Option<Value>, ctx: &mut Ctx) {
        let ClientFrame::Hello { token } = frame else {
            return self.send_error(ctx, ErrorCode::Unauthorized, "send hello with your token first", reference);
        };
        let auth = self.services.auth.clone();
        // `wait` holds back every later frame until the hello is settled, so a client may send
        // hello and chat.send back to back.
        ctx.wait(async move { auth.session(&token).await.map(|s| s.map(|s| (s, token))) }.into_actor(self).map(
            move |verified, act, ctx| match verified {
                Ok(Some((session, token))) => {
                    let token = super::SessionToken::of(&token, session.expires_at);
                    act.welcome(session.user, token, reference, ctx)
                }
                Ok(None) => {
                    act.send_error(ctx, ErrorCode::Unauthorized, "invalid or expired token", reference);
                    act.close(ctx, CLOSE_UNAUTHORIZED, "unauthorized");
                }
                Err(e) => act.send_error(ctx, e.code, &e.message, reference),
            },
        ));
    }

    fn chat_send(
        &mut self,
        user: User,
        client_msg_id: String,
        conversation_id: Option<String>,
        text: String,
        reference: Option<Value>,
        ctx: &mut Ctx,
    ) {
        let services = self.services.clone();
        let new = NewMessage {
            id: None,
            patient_id: user.id.clone(),
            conversation_id,
            client_msg_id: Some(client_msg_id.clone()),
            author: healing_protocol::Author::Patient,
            text,
            risk: None,
            finish: None,
            meta: None,
        };
        let received = std::time::Instant::now();
        let max_conversations = services.config.max_conversations_per_patient;
        let fut = async move {
            // Only a message that would start a conversation is checked against the cap.
            let stored = services.store.append_message_within(new, Some(max_conversations)).await;
            let elapsed = received.elapsed().as_secs_f64();
            services.metrics.store_op_seconds.with_label_values(&["append_message"]).observe(elapsed);
            stored
        };
        ctx.spawn(fut.into_actor(self).map(move |stored, act, ctx| match stored {
            Ok(appended) => {
                let message = appended.message;
                if !appended.duplicate {
                    act.services.metrics.chat_messages.with_label_values(&["patient"]).inc();
                }
                act.send(
                    ctx,
                    &ServerFrame::ChatAck {
                        client_msg_id,
                        conversation_id: message.conversation_id.clone(),
                        message_id: message.id.clone(),
                        seq: message.seq,
                        reference,
                    },
                );
                act.services.metrics.chat_ack_seconds.observe(received.elapsed().as_secs_f64());
                if !appended.duplicate {
                    act.services.chats.deliver(&act.services, &user.id, message, received);
                }
            }
            Err(healing_storage::StoreError::NotFound) => {
                act.send_error(ctx, ErrorCode::Forbidden, "that conversation does not exist or is not yours", reference)
            }
            Err(healing_storage::StoreError::Limit(why)) => {
                let cap = healing_protocol::Cap::ConversationsPerPatient;
                act.services.metrics.cap_refused(cap);
                tracing::info!(
                    cap = cap.as_str(),
                    max = max_conversations,
                    session = act.id,
                    user = %user.id,
                    detail = %why,
                    "new conversation refused: the patient has the most conversations allowed"
                );
                let message = format!(
                    "you have reached the limit of {max_conversations} conversations; nothing was sent. Continue one \
                     of your conversations (send with its conversation_id)"
                );
                act.send(ctx, &ServerFrame::limit_error(cap, message, u64::from(max_conversations), reference))
            }
            Err(e) => {
                let e = ServiceError::from(e);
                act.send_error(ctx, e.code, &e.message, reference)
            }
        }));
    }

    fn history(
        &mut self,
        user: User,
        conversation_id: String,
        before_seq: Option<i64>,
        limit: u32,
        reference: Option<Value>,
        ctx: &mut Ctx,
    ) {
        let services = self.services.clone();
        let remote = self.remote.map(|a| a.ip().to_string());
        let fut = async move {
            let denied = || ServiceError::forbidden("that conversation does not exist or is not yours to read");
            let conversation = services.store.conversation(&conversation_id).await?.ok_or_else(denied)?;
            if !services.store.can_view_patient(&user, &conversation.patient_id).await? {
                return Err(denied());
            }
            let messages = services.store.messages(&conversation_id, before_seq, limit).await?;
            if user.id != conversation.patient_id {
                services
                    .audit
                    .log(
                        Some(&user),
                        "messages.read",
                        format!("patient:{}", conversation.patient_id),
                        remote,
                        Some(format!("conversation:{conversation_id} via websocket")),
                    )
                    .await?;
            }
            Ok::<_, ServiceError>((conversation_id, messages))
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Ok((conversation_id, messages)) => {
                act.send(ctx, &ServerFrame::History { conversation_id, messages, reference })
            }
            Err(e) => act.send_error(ctx, e.code, &e.message, reference),
        }));
    }

    fn clinical_frame(&mut self, user: User, frame: ClientFrame, reference: Option<Value>, ctx: &mut Ctx) {
        let services = self.services.clone();
        let remote = self.remote.map(|a| a.ip().to_string());
        match frame {
            ClientFrame::AlertAck { alert_id, note } => {
                if !matches!(user.role, Role::Clinician | Role::Supervisor) {
                    return self.send_error(ctx, ErrorCode::Forbidden, "only clinicians acknowledge alerts", reference);
                }
                let fut = async move {
                    services
                        .alerts
                        .send(Acknowledge { alert_id, by: user, note, remote })
                        .await
                        .map_err(|_| ServiceError::new(ErrorCode::Unavailable, "alerts are restarting; retry"))?
                };
                ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
                    // Every watching session (this one included) gets `alert.updated` from the
                    // router; a no-op ack (already handled) is answered here with the state.
                    Ok((alert, false)) => act.send(ctx, &ServerFrame::AlertUpdated { alert }),
                    Ok((_, true)) => {}
                    Err(e) => act.send_error(ctx, e.code, &e.message, reference),
                }));
            }
            ClientFrame::FollowupDone { followup_id, note } => {
                if !matches!(user.role, Role::Clinician | Role::Supervisor) {
                    return self.send_error(
                        ctx,
                        ErrorCode::Forbidden,
                        "only clinicians complete follow-ups",
                        reference,
                    );
                }
                let fut = async move {
                    services
                        .alerts
                        .send(CompleteFollowup { followup_id, by: user, note, remote })
                        .await
                        .map_err(|_| ServiceError::new(ErrorCode::Unavailable, "alerts are restarting; retry"))?
                };
                ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
                    // Every clinician of the patient (this session included) gets
                    // `followup.updated` from the router; a no-op is answered here with the state.
                    Ok((followup, false)) => act.send(ctx, &ServerFrame::FollowupUpdated { followup }),
                    Ok((_, true)) => {}
                    Err(e) => act.send_error(ctx, e.code, &e.message, reference),
                }));
            }
            ClientFrame::EscalationClaim { escalation_id } => {
                self.desk_action(user, escalation_id, DeskAction::Claim, remote, reference, ctx)
            }
            ClientFrame::EscalationResolve { escalation_id, note } => {
                self.desk_action(user, escalation_id, DeskAction::Resolve { note }, remote, reference, ctx)
            }
            _ => {}
        }
    }

    fn desk_action(
        &mut self,
        user: User,
        escalation_id: String,
        action: DeskAction,
        remote: Option<String>,
        reference: Option<Value>,
        ctx: &mut Ctx,
    ) {
        if user.role != Role::Supervisor {
            return self.send_error(ctx, ErrorCode::Forbidden, "only supervisors work escalations", reference);
        }
        let s = &self.services;
        let desk = s.desks.desk(&user.id, &s.store, &s.fanout, &s.metrics);
        let fut = async move {
            desk.send(Act { escalation_id, by: user, action, remote })
                .await
                .map_err(|_| ServiceError::new(ErrorCode::Unavailable, "escalations are restarting; retry"))?
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Ok(_) => {} // `escalation.updated` reaches every supervisor of the team, this one included
            Err(e) => act.send_error(ctx, e.code, &e.message, reference),
        }));
    }

    /// After `welcome`: what a clinician or supervisor missed while offline.
    pub(super) fn send_backlog(&mut self, user: &User, ctx: &mut Ctx) {
        let store = self.services.store.clone();
        let auditor = self.services.audit.clone();
        let user = user.clone();
        let remote = self.remote.map(|a| a.ip().to_string());
        let fut = async move {
            let frames = crate::backlog::frames_for(&store, &user).await?;
            // Alerts and escalations carry patient data: reading them on connect is audited.
            if !frames.is_empty() {
                let detail = Some(format!("{} alerts/escalations/follow-ups on connect", frames.len()));
                auditor.log(Some(&user), "backlog.read", format!("user:{}", user.id), remote, detail).await?;
            }
            Ok::<_, ServiceError>(frames)
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(frames) => frames.iter().for_each(|f| act.send(ctx, f)),
            Err(e) => act.send_error(ctx, e.code, &format!("could not load what you missed: {}", e.message), None),
        }));
    }
}
