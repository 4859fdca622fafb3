//! A session's bounded outbound queue, measured in bytes, in two priority classes.
//!
//! Why not the actor mailbox alone: a healthy client receiving a fast model stream gets thousands
//! of small frames in a burst, faster than its actor is scheduled — a mailbox of a few hundred
//! slots would evict it though it reads perfectly well. A byte budget absorbs bursts (one long
//! reply is ~0.5 MB of frames) while still bounding what a stalled client can pin: when the queue
//! would exceed its budget the client is evicted (close 4008), never buffered further.
//!
//! **Alerts first.** Frames a person must see without delay — `safety`, `alert`,
//! `alert.updated`, `escalation`, `escalation.updated`, `chat.ack`, `welcome` — are
//! [`Class::Urgent`] and are written before every queued frame of the normal class (AI tokens,
//! history pages, pongs, errors). Within a class, order is kept. So a clinician whose tab is
//! behind on a patient's stream, or a patient whose own reply is streaming, gets the safety
//! frame at the head of the next write.
//!
//! **AI streams degrade first.** While a session is behind (frames still queued when the next
//! arrives), consecutive `ai.delta` frames of one reply are merged into one frame carrying the
//! text of both: the client receives the same text in fewer, larger frames, and a stream costs
//! the budget its text rather than its frame count. A client that keeps up sees every delta.
//!
//! Producers (any thread) `push`; the session actor, woken by one `Wake` message at a time,
//! `drain`s everything queued into its socket. The session's own replies (welcome, history
//! pages, errors, backlog) go through the same queue, so nothing a session writes escapes the
//! budget.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytestring::ByteString;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// What happened to a pushed frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Queued; the session must be woken.
    Wake,
    /// Queued; a wake-up is already pending.
    Queued,
    /// Over budget: the session is now evicted (reported once).
    Evicted,
    /// Already evicted earlier: dropped.
    Dropped,
}

/// A frame's priority class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Safety frames, alerts, escalations, acks: written first.
    Urgent,
    /// Everything else.
    Normal,
}

/// Frame types written before anything else queued (see the module documentation).
const URGENT_TYPES: &[&str] =
    &["safety", "alert", "alert.updated", "escalation", "escalation.updated", "chat.ack", "welcome"];

/// The `type` of a serialised server frame (`ServerFrame` serialises its tag first).
fn frame_type(frame: &str) -> Option<&str> {
    let rest = frame.strip_prefix(r#"{"type":""#)?;
    rest.split_once('"').map(|(t, _)| t)
}

impl Class {
    pub fn of(frame: &str) -> Class {
        match frame_type(frame) {
            Some(t) if URGENT_TYPES.contains(&t) => Class::Urgent,
            _ => Class::Normal,
        }
    }
}

/// An `ai.delta` frame, field for field (an unknown field means a frame this code does not
/// know how to merge: it is left alone).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Delta {
    r#type: String,
    message_id: String,
    text: String,
}

/// `later` appended to `earlier` when both are `ai.delta` frames of the same reply.
fn merged(earlier: &str, later: &str) -> Option<ByteString> {
    if frame_type(later) != Some("ai.delta") || frame_type(earlier) != Some("ai.delta") {
        return None;
    }
    let mut a: Delta = serde_json::from_str(earlier).ok()?;
    let b: Delta = serde_json::from_str(later).ok()?;
    if a.message_id != b.message_id {
        return None;
    }
    a.text.push_str(&b.text);
    serde_json::to_string(&a).ok().map(ByteString::from)
}

#[derive(Default)]
struct Queue {
    urgent: VecDeque<ByteString>,
    normal: VecDeque<ByteString>,
    bytes: usize,
}

pub struct Outbox {
    queue: Mutex<Queue>,
    limit_bytes: usize,
    wake_pending: AtomicBool,
    evicted: AtomicBool,
    /// The close code the session was told to close with (0: open). Once set, nothing more is
    /// queued and what was queued is dropped (contract §4.1: nothing more is sent).
    shut: std::sync::atomic::AtomicU16,
    /// `ai.delta` frames merged into the one before them (the stream degraded for this client).
    coalesced: AtomicU64,
}

impl Outbox {
    pub fn new(limit_bytes: usize) -> Outbox {
        Outbox {
            queue: Mutex::new(Queue::default()),
            limit_bytes,
            wake_pending: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            shut: std::sync::atomic::AtomicU16::new(0),
            coalesced: AtomicU64::new(0),
        }
    }

    pub fn push(&self, frame: &ByteString) -> Pushed {
        if self.evicted.load(Ordering::Acquire) || self.shut.load(Ordering::Acquire) != 0 {
            return Pushed::Dropped;
        }
        let class = Class::of(frame);
        {
            let mut q = self.queue.lock();
            // Behind on a stream: fold this token into the queued one before it.
            if class == Class::Normal
                && let Some(last) = q.normal.back()
                && let Some(joined) = merged(last, frame)
            {
                let grown = joined.len().saturating_sub(last.len());
                if q.bytes + grown <= self.limit_bytes {
                    q.bytes += grown;
                    if let Some(slot) = q.normal.back_mut() {
                        *slot = joined;
                    }
                    drop(q);
                    self.coalesced.fetch_add(1, Ordering::Relaxed);
                    return if self.wake_pending.swap(true, Ordering::AcqRel) { Pushed::Queued } else { Pushed::Wake };
                }
            }
            if q.bytes + frame.len() > self.limit_bytes {
                // Free what it held: the client will never get it.
                q.urgent.clear();
                q.normal.clear();
                q.bytes = 0;
                drop(q);
                return if self.evicted.swap(true, Ordering::AcqRel) { Pushed::Dropped } else { Pushed::Evicted };
            }
            q.bytes += frame.len();
            match class {
                Class::Urgent => q.urgent.push_back(frame.clone()),
                Class::Normal => q.normal.push_back(frame.clone()),
            }
        }
        if self.wake_pending.swap(true, Ordering::AcqRel) { Pushed::Queued } else { Pushed::Wake }
    }

    /// Takes every queued frame, urgent ones first (called by the session when woken).
    pub fn drain(&self) -> Vec<ByteString> {
        self.wake_pending.store(false, Ordering::Release);
        let mut q = self.queue.lock();
        q.bytes = 0;
        let mut out = Vec::with_capacity(q.urgent.len() + q.normal.len());
        out.extend(q.urgent.drain(..));
        out.extend(q.normal.drain(..));
        out
    }

    /// The session could not be woken (mailbox closed or full): allow the next push to try again.
    pub fn wake_failed(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }

    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    /// Orders the session closed with `code`: drops what is queued and refuses every later frame.
    /// The first code set wins.
    pub fn shut(&self, code: u16) {
        let _ = self.shut.compare_exchange(0, code.max(1), Ordering::AcqRel, Ordering::Acquire);
        let mut q = self.queue.lock();
        q.urgent.clear();
        q.normal.clear();
        q.bytes = 0;
    }

    /// The code the session was ordered to close with, if any.
    pub fn shut_code(&self) -> Option<u16> {
        Some(self.shut.load(Ordering::Acquire)).filter(|c| *c != 0)
    }

    pub fn queued_bytes(&self) -> usize {
        self.queue.lock().bytes
    }

    /// Takes the count of merged `ai.delta` frames since the last call (for the metrics).
    pub fn take_coalesced(&self) -> u64 {
        self.coalesced.swap(0, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(id: &str, text: &str) -> ByteString {
        ByteString::from(format!(r#"{{"type":"ai.delta","message_id":"{id}","text":"{text}"}}"#))
    }

    #[test]
    fn absorbs_bursts_within_budget_and_evicts_once_beyond() {
        let o = Outbox::new(1000);
        let frame = ByteString::from("x".repeat(100));
        assert_eq!(o.push(&frame), Pushed::Wake);
        for _ in 0..8 {
            assert_eq!(o.push(&frame), Pushed::Queued);
        }
        assert_eq!(o.drain().len(), 9);
        assert_eq!(o.queued_bytes(), 0);
        for _ in 0..10 {
            o.push(&frame);
        }
        assert_eq!(o.push(&frame), Pushed::Evicted);
        assert_eq!(o.push(&frame), Pushed::Dropped);
        assert!(o.is_evicted());
        assert_eq!(o.queued_bytes(), 0, "an evicted session keeps nothing queued");
    }

    #[test]
    fn a_safety_frame_or_alert_overtakes_queued_tokens_and_keeps_its_own_order() {
        let o = Outbox::new(1 << 20);
        o.push(&ByteString::from(r#"{"type":"ai.start","message_id":"r"}"#));
        o.push(&delta("r", "hello "));
        o.push(&ByteString::from(r#"{"type":"safety","level":"high"}"#));
        o.push(&ByteString::from(r#"{"type":"history","messages":[]}"#));
        o.push(&ByteString::from(r#"{"type":"alert","alert":{"id":"a"}}"#));
        let types: Vec<String> = o.drain().iter().map(|f| frame_type(f).unwrap_or_default().to_owned()).collect();
        assert_eq!(types, ["safety", "alert", "ai.start", "ai.delta", "history"]);
    }

    #[test]
    fn tokens_of_one_reply_merge_while_the_client_is_behind_and_lose_no_text() {
        let o = Outbox::new(1 << 20);
        for w in ["I ", "hear ", "you", "\\\"quoted\\\" "] {
            o.push(&delta("r1", w));
        }
        o.push(&delta("r2", "other"));
        o.push(&delta("r1", " late"));
        let frames = o.drain();
        assert_eq!(frames.len(), 3, "{frames:?}");
        let first: Delta = serde_json::from_str(&frames[0]).unwrap();
        assert_eq!((first.message_id.as_str(), first.text.as_str()), ("r1", "I hear you\"quoted\" "));
        assert_eq!(o.take_coalesced(), 3);
        // A client that keeps up (drained between pushes) gets every delta as sent.
        o.push(&delta("r1", "a"));
        assert_eq!(o.drain().len(), 1);
        o.push(&delta("r1", "b"));
        assert_eq!(o.drain().len(), 1);
    }
}
