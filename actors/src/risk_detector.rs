//! Risk detection in two lanes, so an alert never waits behind the sentence encoder.
//!
//! - The **rules lane** (`SyncArbiter`, [`RULE_THREADS`] threads at normal priority) grades a
//!   message with the engine's rules and the conversation's context ([`healing_risk::assess_rules`]):
//!   tens of microseconds. Whatever it finds is alerted at once.
//! - The **model lane** ([`MODEL_THREADS`] threads at a lower OS priority) runs the semantic
//!   detector ([`healing_risk::model_raise_batch`]) on every message — never sampled, never
//!   skipped under load — taking up to [`BATCH`] queued messages per pass of the encoder, which
//!   costs less per message the busier the node is. It can only raise the level the rules gave.
//!
//! A busy node therefore degrades in the right order: the model lane falls behind (and with it
//! the AI replies, which wait for a message's full screening), while the rules' alerts, socket
//! I/O and the clinicians' sessions keep the CPU first.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use actix::prelude::*;
use healing_protocol::{Risk, RiskLevel};
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

/// Threads grading messages by the rules.
pub const RULE_THREADS: usize = 1;
/// Threads running the sentence encoder. The encoder costs about 10 ms of one core for a
/// 15-word chat message alone and less in a batch (see docs/benchmarks.md).
pub const MODEL_THREADS: usize = 2;
/// Most messages encoded in one pass.
pub const BATCH: usize = 16;
/// Messages waiting for the model lane before producers wait (back-pressure, never dropping):
/// a producer past the bound is parked on the channel, not polling, so a long backlog costs
/// memory for the waiting tasks but no CPU.
const MODEL_QUEUE: usize = 8192;
/// Added to the model threads' nice value: the OS runs everything else first.
const MODEL_NICENESS: i32 = 10;

/// The reason label the engine gives an attempt in progress (escalated at once as `imminent`).
const ATTEMPT_IN_PROGRESS: &str = "C-SSRS 6: attempt in progress";

/// Grade one patient message by the rules, in the context of the same patient's earlier messages.
#[derive(Message)]
#[rtype(result = "Screened")]
pub struct Assess {
    pub text: String,
    /// Earlier patient messages of the conversation, oldest first.
    pub context: Vec<String>,
}

/// The engine's verdict in wire terms.
#[derive(Debug, Clone, MessageResponse)]
pub struct Screened {
    pub risk: Risk,
    /// An attempt in progress or someone in imminent danger.
    pub imminent: bool,
    pub seconds: f64,
}

pub struct RulesWorker;

impl Actor for RulesWorker {
    type Context = SyncContext<Self>;
}

pub fn level_of(level: healing_risk::Level) -> RiskLevel {
    match level {
        healing_risk::Level::None => RiskLevel::None,
        healing_risk::Level::Low => RiskLevel::Low,
        healing_risk::Level::Moderate => RiskLevel::Moderate,
        healing_risk::Level::High => RiskLevel::High,
    }
}

fn engine_level(level: RiskLevel) -> healing_risk::Level {
    match level {
        RiskLevel::None => healing_risk::Level::None,
        RiskLevel::Low => healing_risk::Level::Low,
        RiskLevel::Moderate => healing_risk::Level::Moderate,
        RiskLevel::High => healing_risk::Level::High,
    }
}

/// The rules' grade of a message.
///
/// A message that carries no risk of its own raises nothing, whatever came before it (contract
/// §4.2): when the earlier turns lift a message above `none`, the message is graded again on
/// its own, and if that gives `none` the message is `none`. A message with some risk of its own
/// keeps the (possibly higher) grade its context gives it.
pub fn screen_rules(text: &str, context: &[String]) -> Screened {
    let started = Instant::now();
    let ctx: Vec<&str> = context.iter().map(String::as_str).collect();
    let mut a = healing_risk::assess_rules(text, &ctx);
    if a.level != healing_risk::Level::None && !ctx.is_empty() {
        let own = healing_risk::assess_rules(text, &[]);
        if own.level == healing_risk::Level::None {
            a = own;
        }
    }
    Screened {
        imminent: a.level == healing_risk::Level::High && a.reasons.iter().any(|r| r.item == ATTEMPT_IN_PROGRESS),
        risk: Risk { level: level_of(a.level), score: a.score, reasons: a.reason_strings() },
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// `rules` raised by the model's verdict, if it has one.
pub fn combine(rules: &Screened, raise: Option<healing_risk::Raise>, seconds: f64) -> Screened {
    let mut out = rules.clone();
    out.seconds += seconds;
    if let Some(r) = raise {
        let level = level_of(r.level);
        if level > out.risk.level {
            out.risk.level = level;
            out.risk.score = out.risk.score.max(f32::from(r.level.rank()) * 0.25);
            out.risk.reasons.insert(0, r.reason.to_string());
        }
    }
    out
}

/// The full detector in the calling thread (rules, then the model): for code without a running
/// node (tests, the fallback when the lanes are gone).
pub fn screen(text: &str, context: &[String]) -> Screened {
    screen_model(text, &screen_rules(text, context))
}

/// `rules` raised by the semantic detector, run in the calling thread.
fn screen_model(text: &str, rules: &Screened) -> Screened {
    let started = Instant::now();
    let raise = healing_risk::model_raise(text, engine_level(rules.risk.level));
    combine(rules, raise, started.elapsed().as_secs_f64())
}

impl Handler<Assess> for RulesWorker {
    type Result = Screened;

    fn handle(&mut self, msg: Assess, _ctx: &mut Self::Context) -> Screened {
        screen_rules(&msg.text, &msg.context)
    }
}

struct Job {
    text: String,
    floor: healing_risk::Level,
    reply: oneshot::Sender<(Option<healing_risk::Raise>, f64)>,
}

/// The two lanes (cheap to clone).
#[derive(Clone)]
pub struct Detector {
    rules: Addr<RulesWorker>,
    model: mpsc::Sender<Job>,
    /// Messages whose screening is under way on this node (see [`Detector::claim`]).
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// Messages handed to the model lane and not yet answered (queued, parked or encoding).
    waiting: Arc<AtomicUsize>,
}

/// Held while a message is being screened on this node; dropping it ends the claim.
pub struct Claim {
    id: String,
    in_flight: Arc<Mutex<HashSet<String>>>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.in_flight.lock().remove(&self.id);
    }
}

impl Detector {
    /// Starts both lanes (inside a running actix system).
    pub fn start() -> Detector {
        let rules = SyncArbiter::start(RULE_THREADS, || RulesWorker);
        let (model, jobs) = mpsc::channel::<Job>(MODEL_QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..MODEL_THREADS {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new().name(format!("risk-model-{i}")).spawn(move || model_lane(&jobs));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a risk model thread");
            }
        }
        Detector { rules, model, in_flight: Arc::default(), waiting: Arc::default() }
    }

    /// Claims the screening of a message on this node; `None` while another screening of it is
    /// under way here. Re-screening (`chat::rescreen`) skips a claimed message: under a long
    /// model backlog a message can be older than the re-screening age and still queued, and
    /// screening it again would only lengthen the queue it is waiting in.
    pub fn claim(&self, message_id: &str) -> Option<Claim> {
        self.in_flight
            .lock()
            .insert(message_id.to_owned())
            .then(|| Claim { id: message_id.to_owned(), in_flight: self.in_flight.clone() })
    }

    /// Whether a screening of the message is under way on this node.
    pub fn is_screening(&self, message_id: &str) -> bool {
        self.in_flight.lock().contains(message_id)
    }

    /// The rules' grade (the fast lane).
    pub async fn rules(&self, text: &str, context: &[String]) -> Screened {
        match self.rules.send(Assess { text: text.to_owned(), context: context.to_vec() }).await {
            Ok(s) => s,
            // The lane is gone (shutting down): grade here rather than not at all.
            Err(_) => screen_rules(text, context),
        }
    }

    /// `rules` raised by the semantic detector (the model lane). Waits for room in the lane's
    /// queue rather than skipping the model.
    pub async fn model(&self, text: &str, rules: &Screened) -> Screened {
        let floor = engine_level(rules.risk.level);
        if floor == healing_risk::Level::High {
            return rules.clone(); // nothing to raise
        }
        let (reply, answer) = oneshot::channel();
        let job = Job { text: text.to_owned(), floor, reply };
        let _waiting = Waiting::new(&self.waiting);
        if self.model.send(job).await.is_err() {
            // The lane is gone (shutting down): run the model here rather than not at all.
            return screen_model(text, rules);
        }
        match answer.await {
            Ok((raise, seconds)) => combine(rules, raise, seconds),
            // A model thread died with the job: run the model here rather than not at all.
            Err(_) => screen_model(text, rules),
        }
    }

    /// Messages waiting for the model lane (queued, parked at the queue's bound, or being encoded).
    pub fn model_backlog(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// Counts one message as waiting for the model lane while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn model_lane(jobs: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        // One thread takes a batch at a time; the other waits for the lock, then for work.
        let batch = {
            let mut rx = jobs.lock();
            let Some(first) = rx.blocking_recv() else { return };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            batch
        };
        let started = Instant::now();
        let items: Vec<(&str, healing_risk::Level)> = batch.iter().map(|j| (j.text.as_str(), j.floor)).collect();
        let raises = healing_risk::model_raise_batch(&items);
        let each = started.elapsed().as_secs_f64() / batch.len() as f64;
        for (job, raise) in batch.into_iter().zip(raises) {
            let _ = job.reply.send((raise, each));
        }
    }
}

/// Lowers this thread's scheduling priority (on Linux, nice applies per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), MODEL_NICENESS) {
        tracing::debug!(error = %e, "could not lower the risk model thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pizza_is_not_a_crisis_and_an_overdose_in_progress_is_imminent() {
        assert_eq!(screen("I could murder a pizza right now", &[]).risk.level, RiskLevel::None);
        let s = screen("I've just taken all my tablets, 40 of them", &[]);
        assert_eq!(s.risk.level, RiskLevel::High);
        assert!(s.imminent, "{:?}", s.risk.reasons);
        assert!(!s.risk.reasons.is_empty());
    }

    #[test]
    fn a_message_without_risk_of_its_own_is_none_whatever_came_before() {
        let context = vec!["I want to die, I have the pills here and I'm going to take them tonight".to_owned()];
        for text in ["thanks, that helps a bit", "ok", "I had pasta for dinner"] {
            let s = screen(text, &context);
            assert_eq!(s.risk.level, RiskLevel::None, "{text}: {:?}", s.risk.reasons);
        }
        // A message with risk of its own is still graded (context may raise it).
        assert!(screen("I just want it all to end", &context).risk.level >= RiskLevel::Low);
    }

    #[actix_rt::test]
    async fn the_two_lanes_grade_as_the_whole_detector_and_never_lower_the_rules() {
        let d = Detector::start();
        // An attempt in progress told without risk words (the kind of message the model is for).
        let text = "standing on the wrong side of the railing on the bridge now, the water is far down";
        let rules = d.rules(text, &[]).await;
        let full = d.model(text, &rules).await;
        assert!(full.risk.level >= rules.risk.level);
        assert_eq!(full.risk.level, screen(text, &[]).risk.level, "the lanes give what the detector gives");
        let high = d.rules("I've just taken all my tablets, 40 of them", &[]).await;
        assert_eq!(d.model("I've just taken all my tablets, 40 of them", &high).await.risk, high.risk);
    }
}
