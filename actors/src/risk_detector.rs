//! The risk-detection actor: runs the pure risk engine (`healing-risk`) on a pool of dedicated
//! threads (`SyncArbiter`), so screening never competes with socket I/O on the actix workers and
//! a burst of long messages cannot stall chat.

use actix::prelude::*;
use healing_protocol::{Risk, RiskLevel};

/// Threads assessing messages. The full detector (rules + sentence encoder) costs about 10 ms of
/// one core for a 15-word chat message (see docs/benchmarks.md), so two threads screen about 200
/// chat messages per second; every message is screened in full, never sampled.
pub const THREADS: usize = 2;

/// The reason label the engine gives an attempt in progress (escalated at once as `imminent`).
const ATTEMPT_IN_PROGRESS: &str = "C-SSRS 6: attempt in progress";

/// Assess one patient message in the context of the same patient's earlier messages.
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

pub struct RiskDetector;

impl Actor for RiskDetector {
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

/// Runs the engine (also used directly where no actor system is running).
///
/// A message that carries no risk of its own raises nothing, whatever came before it (contract
/// §4.2): when the earlier turns lift a message above `none`, the message is graded again on
/// its own, and if that gives `none` the message is `none`. A message with some risk of its own
/// keeps the (possibly higher) grade its context gives it.
pub fn screen(text: &str, context: &[String]) -> Screened {
    let started = std::time::Instant::now();
    let ctx: Vec<&str> = context.iter().map(String::as_str).collect();
    let mut a = healing_risk::assess(text, &ctx);
    if a.level != healing_risk::Level::None && !ctx.is_empty() {
        let own = healing_risk::assess(text, &[]);
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

impl Handler<Assess> for RiskDetector {
    type Result = Screened;

    fn handle(&mut self, msg: Assess, _ctx: &mut Self::Context) -> Screened {
        screen(&msg.text, &msg.context)
    }
}

/// Starts the detector pool.
pub fn start() -> Addr<RiskDetector> {
    SyncArbiter::start(THREADS, || RiskDetector)
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
}
