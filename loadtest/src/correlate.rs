//! Cross-session matching: a patient VU learns its message's id from `chat.ack`; a clinician VU
//! sees the same id in `alert.message_id`, a supervisor VU in `escalation.alert.message_id`.
//! Whichever side comes first waits here for the other. Each alert and escalation is measured once
//! (at its first delivery), however many sessions receive it.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// What a clinician or supervisor saw about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Alert,
    Escalation,
}

#[derive(Default)]
pub struct Correlator {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Patient send time by message id.
    sent: HashMap<String, Instant>,
    /// Deliveries seen before the patient's ack was processed.
    early: HashMap<String, Vec<(Event, Instant)>>,
    /// Message ids already measured, per event.
    measured: HashSet<(String, Event)>,
    /// Alert / escalation ids some VU has taken on (acknowledge, claim).
    taken: HashSet<String>,
    /// Risky message ids whose alert (or episode update) some clinician must receive.
    expected: HashSet<String>,
}

impl Correlator {
    /// A patient's message was acked; `sent_at` is when `chat.send` left. Returns the latencies
    /// of deliveries that raced ahead of the ack.
    pub fn message_sent(&self, message_id: &str, sent_at: Instant) -> Vec<(Event, Duration)> {
        let mut g = self.inner.lock();
        g.sent.insert(message_id.to_owned(), sent_at);
        let early = g.early.remove(message_id).unwrap_or_default();
        early.into_iter().map(|(e, at)| (e, at.saturating_duration_since(sent_at))).collect()
    }

    /// A clinician/supervisor received `event` about `message_id` at `at`. Returns the latency if
    /// this is the first delivery and the send is known; an unknown id is kept until its ack.
    pub fn delivered(&self, event: Event, message_id: &str, at: Instant) -> Option<Duration> {
        let mut g = self.inner.lock();
        if !g.measured.insert((message_id.to_owned(), event)) {
            return None;
        }
        match g.sent.get(message_id) {
            Some(sent) => Some(at.saturating_duration_since(*sent)),
            None => {
                g.early.entry(message_id.to_owned()).or_default().push((event, at));
                None
            }
        }
    }

    /// Whether the patient's send of `message_id` is known (for escalations, which fall back to
    /// the alert's `created_at` otherwise).
    pub fn knows(&self, message_id: &str) -> bool {
        self.inner.lock().sent.contains_key(message_id)
    }

    /// A risky message was acked: a clinician must receive an alert or `alert.updated` naming it.
    pub fn expect_alert(&self, message_id: &str) {
        self.inner.lock().expected.insert(message_id.to_owned());
    }

    /// Risky messages whose alert no clinician VU has received (`alerts_missing`).
    pub fn missing_alerts(&self) -> u64 {
        let g = self.inner.lock();
        g.expected.iter().filter(|id| !g.measured.contains(&((*id).clone(), Event::Alert))).count() as u64
    }

    /// The first caller for an id gets `true`: one VU acknowledges an alert, one claims an
    /// escalation, however many sessions saw it.
    pub fn take(&self, id: &str) -> bool {
        self.inner.lock().taken.insert(id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_after_ack_is_measured_once() {
        let c = Correlator::default();
        let t0 = Instant::now();
        assert!(c.message_sent("m1", t0).is_empty());
        let d = c.delivered(Event::Alert, "m1", t0 + Duration::from_millis(7));
        assert_eq!(d, Some(Duration::from_millis(7)));
        assert_eq!(c.delivered(Event::Alert, "m1", t0 + Duration::from_millis(9)), None);
        assert_eq!(
            c.delivered(Event::Escalation, "m1", t0 + Duration::from_millis(12)),
            Some(Duration::from_millis(12))
        );
    }

    #[test]
    fn delivery_before_ack_waits_for_it() {
        let c = Correlator::default();
        let t0 = Instant::now();
        assert_eq!(c.delivered(Event::Alert, "m2", t0 + Duration::from_millis(5)), None);
        assert!(!c.knows("m2"));
        assert_eq!(c.message_sent("m2", t0), vec![(Event::Alert, Duration::from_millis(5))]);
        assert!(c.knows("m2"));
        assert!(c.message_sent("m2", t0).is_empty());
    }

    #[test]
    fn only_one_taker() {
        let c = Correlator::default();
        assert!(c.take("a1"));
        assert!(!c.take("a1"));
        assert!(c.take("a2"));
    }
}
