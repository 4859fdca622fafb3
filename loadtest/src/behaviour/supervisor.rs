//! `supervisor`: holds a session; every `escalation` is timed against the patient's send of the
//! message behind it (`escalation_latency`, first delivery only) and, unless `resolve = false`,
//! claimed `resolve_delay` later by exactly one supervisor VU and then resolved (checked by the
//! `escalation.updated` frames that follow).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::session::{Session, keepalive};
use super::{Vu, VuError, until};
use crate::config::{Hold, Role};
use crate::correlate::Event;

pub async fn run(vu: &mut Vu, hold: &Hold, resolve_delay: Option<Duration>) -> Result<(), VuError> {
    let mut s = Session::open(vu, Role::Supervisor).await?;
    let shared = vu.shared.clone();
    let m = &shared.metrics;
    let end = Vu::hold_until(hold);
    let mut ping = keepalive(hold.ping_interval);
    let mut due: VecDeque<(Instant, String)> = VecDeque::new();
    let (mut claiming, mut resolving): (HashSet<String>, HashSet<String>) = Default::default();
    loop {
        let next_claim = due.front().map(|(at, _)| *at);
        tokio::select! {
            _ = vu.stop_requested() => break,
            _ = until(end) => break,
            _ = until(next_claim) => {
                if let Some((_, id)) = due.pop_front() {
                    s.send(&json!({"type": "escalation.claim", "escalation_id": id})).await?;
                    claiming.insert(id);
                }
            }
            _ = ping.tick() => s.ping().await?,
            frame = s.next() => {
                let f = frame?;
                match f["type"].as_str().unwrap_or_default() {
                    "escalation" => {
                        let e = &f["escalation"];
                        let message_id = e["alert"]["message_id"].as_str().unwrap_or_default();
                        if let Some(latency) = shared.correlator.delivered(Event::Escalation, message_id, std::time::Instant::now()) {
                            m.escalation_latency.add(latency);
                        }
                        if let (Some(delay), Some(id), true) = (resolve_delay, e["id"].as_str(), e["status"] == "open")
                            && shared.correlator.take(id)
                        {
                            due.push_back((Instant::now() + delay, id.to_owned()));
                        }
                    }
                    "escalation.updated" => {
                        let e = &f["escalation"];
                        let id = e["id"].as_str().unwrap_or_default().to_owned();
                        if claiming.remove(&id) {
                            m.check("escalation claimed", e["status"] == "claimed");
                            let note = "followed up (load test)";
                            s.send(&json!({"type": "escalation.resolve", "escalation_id": id, "note": note})).await?;
                            resolving.insert(id);
                        } else if resolving.remove(&id) {
                            m.check("escalation resolved", e["status"] == "resolved");
                        }
                    }
                    "error" => m.error(&format!("server_error_{}", f["code"].as_str().unwrap_or("unknown"))),
                    _ => {}
                }
            }
        }
    }
    s.close().await;
    Ok(())
}
