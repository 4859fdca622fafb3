//! The therapy-chat actor: one per live conversation.
//!
//! It owns the order of AI replies in its conversation: replies are produced one at a time, in
//! `seq` order (messages sent while a reply streams are answered together, by one reply to the
//! latest); a reply streams to every session of the patient (two tabs see the same
//! stream, and either can cancel it). The streaming itself runs in [`reply`], off the actor, so
//! the actor stays responsive to cancels while tokens flow.

mod directory;
mod reply;
pub mod rescreen;
mod screening;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use healing_protocol::Message as ChatMessage;
use tokio::sync::oneshot;

pub use directory::ChatDirectory;

use crate::risk_detector::Screened;
use crate::services::Services;

/// An idle conversation actor stops after this long without messages.
const IDLE_RETIRE_AFTER: Duration = Duration::from_secs(120);

/// A patient message, already durably stored and acknowledged.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PatientMessage {
    pub message: ChatMessage,
    /// When it was stored (alert-delivery latency is measured from here).
    pub stored_at: Instant,
}

/// Screening found high risk: stop any ordinary reply that is still streaming.
#[derive(Message)]
#[rtype(result = "()")]
pub struct HighRisk;

/// `chat.cancel` for the reply `message_id`, from the patient `patient_id`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Cancel {
    pub message_id: String,
    pub patient_id: String,
}

/// Node shutdown: cancel the current reply, drop the queue (those messages are stored; the
/// patient can resend), stop once the partial reply is stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

#[derive(Message)]
#[rtype(result = "()")]
struct ReplyDone;

struct Streaming {
    message_id: String,
    cancel: Option<oneshot::Sender<()>>,
    done: Vec<oneshot::Sender<()>>,
}

pub struct TherapyChat {
    services: Arc<Services>,
    conversation_id: String,
    patient_id: String,
    queue: VecDeque<(ChatMessage, oneshot::Receiver<Screened>)>,
    current: Option<Streaming>,
    undelivered: Arc<AtomicUsize>,
    idle_timer: Option<SpawnHandle>,
}

impl TherapyChat {
    fn new(
        services: Arc<Services>,
        conversation_id: String,
        patient_id: String,
        undelivered: Arc<AtomicUsize>,
    ) -> TherapyChat {
        TherapyChat {
            services,
            conversation_id,
            patient_id,
            queue: VecDeque::new(),
            current: None,
            undelivered,
            idle_timer: None,
        }
    }

    fn start_next(&mut self, ctx: &mut Context<Self>) {
        if self.current.is_some() {
            return;
        }
        // A burst of messages gets one reply, to the latest, once every message in the burst is
        // screened (so a patient typing fast cannot queue unbounded AI work, and a risky message
        // early in a burst still decides the reply).
        let burst: Vec<(ChatMessage, oneshot::Receiver<Screened>)> = self.queue.drain(..).collect();
        let Some(message) = burst.iter().map(|(m, _)| m).max_by_key(|m| m.seq).cloned() else {
            self.arm_idle_timer(ctx);
            return;
        };
        let screening: Vec<(String, oneshot::Receiver<Screened>)> =
            burst.into_iter().map(|(m, rx)| (m.text, rx)).collect();
        if let Some(t) = self.idle_timer.take() {
            ctx.cancel_future(t);
        }
        let message_id = uuid::Uuid::new_v4().to_string();
        let (cancel_tx, cancel_rx) = oneshot::channel();
        self.services.chats.streaming(&message_id, &self.conversation_id);
        self.current = Some(Streaming { message_id: message_id.clone(), cancel: Some(cancel_tx), done: Vec::new() });
        let job = reply::Reply {
            services: self.services.clone(),
            conversation_id: self.conversation_id.clone(),
            patient_id: self.patient_id.clone(),
            prompt: message,
            message_id,
        };
        let me = ctx.address();
        actix::spawn(async move {
            job.run(screening, cancel_rx).await;
            me.do_send(ReplyDone);
        });
    }

    fn arm_idle_timer(&mut self, ctx: &mut Context<Self>) {
        if self.idle_timer.is_some() {
            return;
        }
        self.idle_timer = Some(ctx.run_later(IDLE_RETIRE_AFTER, |act, ctx| {
            act.idle_timer = None;
            if act.current.is_none()
                && act.queue.is_empty()
                && act.services.chats.retire(&act.conversation_id, &act.undelivered)
            {
                ctx.stop();
            }
        }));
    }
}

impl Actor for TherapyChat {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1024);
    }
}

impl Handler<PatientMessage> for TherapyChat {
    type Result = ();

    fn handle(&mut self, msg: PatientMessage, ctx: &mut Self::Context) {
        self.undelivered.fetch_sub(1, Ordering::AcqRel);
        let (done, screened) = oneshot::channel();
        actix::spawn(screening::run(
            self.services.clone(),
            self.patient_id.clone(),
            msg.message.clone(),
            msg.stored_at,
            ctx.address(),
            done,
        ));
        self.queue.push_back((msg.message, screened));
        self.start_next(ctx);
    }
}

impl Handler<HighRisk> for TherapyChat {
    type Result = ();

    fn handle(&mut self, _: HighRisk, _ctx: &mut Self::Context) {
        if let Some(cancel) = self.current.as_mut().and_then(|c| c.cancel.take()) {
            let _ = cancel.send(());
        }
    }
}

impl Handler<Cancel> for TherapyChat {
    type Result = ();

    fn handle(&mut self, msg: Cancel, _ctx: &mut Self::Context) {
        if msg.patient_id != self.patient_id {
            return;
        }
        let current = self.current.as_mut().filter(|c| c.message_id == msg.message_id);
        if let Some(cancel) = current.and_then(|c| c.cancel.take()) {
            let _ = cancel.send(());
        }
    }
}

impl Handler<ReplyDone> for TherapyChat {
    type Result = ();

    fn handle(&mut self, _: ReplyDone, ctx: &mut Self::Context) {
        if let Some(done) = self.current.take() {
            self.services.chats.stream_ended(&done.message_id);
            for waiter in done.done {
                let _ = waiter.send(());
            }
        }
        self.start_next(ctx);
    }
}

impl Handler<Shutdown> for TherapyChat {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Shutdown, _ctx: &mut Self::Context) -> Self::Result {
        self.queue.clear();
        let Some(current) = self.current.as_mut() else {
            return Box::pin(async {});
        };
        if let Some(cancel) = current.cancel.take() {
            let _ = cancel.send(());
        }
        let (tx, rx) = oneshot::channel();
        current.done.push(tx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}
