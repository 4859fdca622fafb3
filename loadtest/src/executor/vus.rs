//! Closed-model executors: a number of looping VUs, constant or following `stages`.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::schedule::ramping_vus_at;
use super::{ScenarioCtx, vu_loop};
use crate::config::Stage;

/// How often `ramping-vus` re-reads its target.
const TICK: Duration = Duration::from_millis(50);

pub async fn constant(mut ctx: ScenarioCtx, vus: u64, duration: Duration) {
    let start = Instant::now();
    let (stop, rx) = watch::channel(false);
    let mut set = JoinSet::new();
    ctx.shared.metrics.vus_max.add(vus as i64);
    for id in 0..vus {
        set.spawn(vu_loop(ctx.vu(id, rx.clone())));
    }
    ctx.sleep_until(start + duration).await;
    let _ = stop.send(true);
    ctx.wind_down(&mut set).await;
}

struct Running {
    stop: watch::Sender<bool>,
    task: AbortHandle,
}

pub async fn ramping(mut ctx: ScenarioCtx, start_vus: u64, stages: &[Stage], graceful_ramp_down: Duration) {
    let start = Instant::now();
    let end = start + stages.iter().map(|s| s.duration).sum::<Duration>();
    let mut set = JoinSet::new();
    let mut running: Vec<Running> = Vec::new();
    let mut retiring: Vec<(Instant, AbortHandle)> = Vec::new();
    let mut allocated = 0u64;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let target = ramping_vus_at(start_vus, stages, now - start);
        while (running.len() as u64) < target {
            let id = running.len() as u64;
            if id >= allocated {
                allocated = id + 1;
                ctx.shared.metrics.vus_max.add(1);
            }
            // Each VU has its own stop signal: ramping down stops the newest first.
            let (stop, rx) = watch::channel(false);
            let task = set.spawn(vu_loop(ctx.vu(id, rx)));
            running.push(Running { stop, task });
        }
        while (running.len() as u64) > target {
            if let Some(r) = running.pop() {
                let _ = r.stop.send(true);
                retiring.push((now + graceful_ramp_down, r.task));
            }
        }
        retiring.retain(|(deadline, task)| {
            if *deadline <= now {
                task.abort();
            }
            *deadline > now && !task.is_finished()
        });
        while set.try_join_next().is_some() {}
        if ctx.sleep_until(now + TICK).await {
            break;
        }
    }
    for r in &running {
        let _ = r.stop.send(true);
    }
    ctx.wind_down(&mut set).await;
}
