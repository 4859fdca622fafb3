//! Open-model executors: iterations start on the [`RateSchedule`] whatever the response times.
//! Each needs an idle VU: one of `pre_allocated_vus`, or a new one while fewer than `max_vus`
//! exist; otherwise the iteration is dropped (`dropped_iterations`), as in k6.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::schedule::RateSchedule;
use super::{ActiveVu, ScenarioCtx, iterate};

/// The VU ids an arrival-rate executor can hand out.
#[derive(Debug)]
pub struct VuPool {
    idle: Vec<u64>,
    allocated: u64,
    max: u64,
}

impl VuPool {
    pub fn new(pre_allocated: u64, max: u64) -> VuPool {
        VuPool { idle: (0..pre_allocated).rev().collect(), allocated: pre_allocated, max: max.max(pre_allocated) }
    }

    /// An idle VU, else a newly allocated one (`true` when new), else `None`.
    pub fn acquire(&mut self) -> Option<(u64, bool)> {
        if let Some(id) = self.idle.pop() {
            return Some((id, false));
        }
        (self.allocated < self.max).then(|| {
            self.allocated += 1;
            (self.allocated - 1, true)
        })
    }

    pub fn release(&mut self, id: u64) {
        self.idle.push(id);
    }
}

pub async fn run(mut ctx: ScenarioCtx, schedule: RateSchedule, pre_allocated: u64, max_vus: u64) {
    let start = Instant::now();
    let pool = Arc::new(Mutex::new(VuPool::new(pre_allocated, max_vus)));
    let metrics = ctx.shared.metrics.clone();
    metrics.vus_max.add(pre_allocated as i64);
    let (stop, rx) = watch::channel(false);
    let mut set = JoinSet::new();
    for k in 0.. {
        let Some(at) = schedule.start_of(k) else { break };
        if ctx.sleep_until(start + at).await {
            break;
        }
        while set.try_join_next().is_some() {}
        let acquired = pool.lock().acquire();
        match acquired {
            None => metrics.dropped_iterations.inc(),
            Some((id, new)) => {
                if new {
                    metrics.vus_max.add(1);
                }
                let mut vu = ctx.vu(id, rx.clone());
                let pool = pool.clone();
                set.spawn(async move {
                    let _active = ActiveVu::new(&vu.shared.metrics);
                    iterate(&mut vu).await;
                    pool.lock().release(id);
                });
            }
        }
    }
    // Hold out to the schedule's end even if the last iteration started early.
    let total = schedule.end();
    ctx.sleep_until(start + total).await;
    let _ = stop.send(true);
    ctx.wind_down(&mut set).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vus_are_reused_then_grown_then_iterations_dropped() {
        let mut p = VuPool::new(2, 3);
        assert_eq!(p.acquire(), Some((0, false)));
        assert_eq!(p.acquire(), Some((1, false)));
        assert_eq!(p.acquire(), Some((2, true)));
        assert_eq!(p.acquire(), None);
        p.release(1);
        assert_eq!(p.acquire(), Some((1, false)));
        assert_eq!(p.acquire(), None);
    }
}
