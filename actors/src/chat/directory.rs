//! Finds or starts the one [`TherapyChat`] actor of a live conversation, and retires idle ones.
//!
//! Why a counter of undelivered messages: an idle actor may decide to stop at the very moment a
//! new patient message is handed to it. Delivery and retirement both take the directory lock, and
//! an actor is retired only when nothing was handed to it that it has not yet handled — so a
//! message can never land in the mailbox of an actor that is going away.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use actix::{Actor, Addr};
use healing_protocol::Message;
use parking_lot::Mutex;

use super::{Cancel, HighRisk, PatientMessage, Shutdown, TherapyChat};
use crate::services::Services;

struct Entry {
    addr: Addr<TherapyChat>,
    undelivered: Arc<AtomicUsize>,
    patient_id: String,
}

#[derive(Default)]
struct Inner {
    by_conversation: HashMap<String, Entry>,
    /// AI reply being streamed → its conversation (for `chat.cancel`).
    by_reply: HashMap<String, String>,
}

/// The live conversations of this node.
#[derive(Default)]
pub struct ChatDirectory {
    inner: Mutex<Inner>,
}

impl ChatDirectory {
    /// Hands a stored patient message to its conversation's actor, starting one if needed.
    pub fn deliver(&self, services: &Arc<Services>, patient_id: &str, message: Message, stored_at: Instant) {
        let mut inner = self.inner.lock();
        let entry = inner.by_conversation.entry(message.conversation_id.clone()).or_insert_with(|| {
            let undelivered = Arc::new(AtomicUsize::new(0));
            let addr = TherapyChat::new(
                services.clone(),
                message.conversation_id.clone(),
                patient_id.to_owned(),
                undelivered.clone(),
            )
            .start();
            Entry { addr, undelivered, patient_id: patient_id.to_owned() }
        });
        entry.undelivered.fetch_add(1, Ordering::AcqRel);
        entry.addr.do_send(PatientMessage { message, stored_at });
    }

    /// A high-risk message pauses the AI for the patient: stops any ordinary reply still
    /// streaming in any of their conversations live on this node.
    pub fn high_risk(&self, patient_id: &str) {
        let inner = self.inner.lock();
        for entry in inner.by_conversation.values().filter(|e| e.patient_id == patient_id) {
            entry.addr.do_send(HighRisk);
        }
    }

    /// Asks the conversation streaming `message_id` to stop, if the caller owns it.
    /// Returns false when no such reply is streaming for this patient.
    pub fn cancel(&self, message_id: &str, patient_id: &str) -> bool {
        let inner = self.inner.lock();
        let Some(conversation) = inner.by_reply.get(message_id) else {
            return false;
        };
        let Some(entry) = inner.by_conversation.get(conversation) else {
            return false;
        };
        entry.addr.do_send(Cancel { message_id: message_id.to_owned(), patient_id: patient_id.to_owned() });
        true
    }

    pub(super) fn streaming(&self, message_id: &str, conversation_id: &str) {
        self.inner.lock().by_reply.insert(message_id.to_owned(), conversation_id.to_owned());
    }

    pub(super) fn stream_ended(&self, message_id: &str) {
        self.inner.lock().by_reply.remove(message_id);
    }

    /// Removes an idle actor unless a message is on its way to it. True when removed.
    pub(super) fn retire(&self, conversation_id: &str, undelivered: &Arc<AtomicUsize>) -> bool {
        let mut inner = self.inner.lock();
        let mine = inner
            .by_conversation
            .get(conversation_id)
            .is_some_and(|e| Arc::ptr_eq(&e.undelivered, undelivered) && e.undelivered.load(Ordering::Acquire) == 0);
        if mine {
            inner.by_conversation.remove(conversation_id);
        }
        mine
    }

    /// Live conversation actors on this node.
    pub fn live(&self) -> usize {
        self.inner.lock().by_conversation.len()
    }

    /// Graceful shutdown: every streaming reply is cancelled (its partial text stored) and every
    /// queued message answered or left stored; resolves when all actors have stopped.
    pub async fn shutdown(&self) {
        let addrs: Vec<Addr<TherapyChat>> =
            self.inner.lock().by_conversation.values().map(|e| e.addr.clone()).collect();
        for addr in addrs {
            let _ = addr.send(Shutdown).await;
        }
    }
}
