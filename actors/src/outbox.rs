//! A session's bounded outbound queue, measured in bytes.
//!
//! Why not the actor mailbox alone: a healthy client receiving a fast model stream gets thousands
//! of small frames in a burst, faster than its actor is scheduled — a mailbox of a few hundred
//! slots would evict it though it reads perfectly well. A byte budget absorbs bursts (one long
//! reply is ~0.5 MB of frames) while still bounding what a stalled client can pin: when the queue
//! would exceed its budget the client is evicted (close 4008), never buffered further.
//!
//! Producers (any thread) `push`; the session actor, woken by one `Wake` message at a time,
//! `drain`s everything queued into its socket.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use bytestring::ByteString;
use parking_lot::Mutex;

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

#[derive(Default)]
struct Queue {
    frames: VecDeque<ByteString>,
    bytes: usize,
}

pub struct Outbox {
    queue: Mutex<Queue>,
    limit_bytes: usize,
    wake_pending: AtomicBool,
    evicted: AtomicBool,
}

impl Outbox {
    pub fn new(limit_bytes: usize) -> Outbox {
        Outbox {
            queue: Mutex::new(Queue::default()),
            limit_bytes,
            wake_pending: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
        }
    }

    pub fn push(&self, frame: &ByteString) -> Pushed {
        if self.evicted.load(Ordering::Acquire) {
            return Pushed::Dropped;
        }
        {
            let mut q = self.queue.lock();
            if q.bytes + frame.len() > self.limit_bytes {
                // Free what it held: the client will never get it.
                q.frames.clear();
                q.bytes = 0;
                drop(q);
                return if self.evicted.swap(true, Ordering::AcqRel) { Pushed::Dropped } else { Pushed::Evicted };
            }
            q.bytes += frame.len();
            q.frames.push_back(frame.clone());
        }
        if self.wake_pending.swap(true, Ordering::AcqRel) { Pushed::Queued } else { Pushed::Wake }
    }

    /// Takes every queued frame (called by the session when woken).
    pub fn drain(&self) -> VecDeque<ByteString> {
        self.wake_pending.store(false, Ordering::Release);
        let mut q = self.queue.lock();
        q.bytes = 0;
        std::mem::take(&mut q.frames)
    }

    /// The session could not be woken (mailbox closed or full): allow the next push to try again.
    pub fn wake_failed(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }

    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    pub fn queued_bytes(&self) -> usize {
        self.queue.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
