//! `clinician`: holds a session; every `alert` is timed against its patient's send
//! (`alert_delivery_latency`, first delivery of each alert only) and, unless `acknowledge =
//! false`, acknowledged `ack_delay` later by exactly one clinician VU (checked by the
//! `alert.updated` that follows).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::session::{Session, keepalive};
use super::{Vu, VuError, until};
use crate::config::{Hold, Role};
use crate::correlate::Event;

pub async fn run(vu: &mut Vu, hold: &Hold, ack_delay: Option<Duration>) -> Result<(), VuError> {
    let mut s = Session::open(vu, Role::Clinician).await?;
    let shared = vu.shared.clone();
    let m = &shared.metrics;
    let end = Vu::hold_until(hold);
    let mut ping = keepalive(hold.ping_interval);
    let mut due: VecDeque<(Instant, String)> = VecDeque::new();
    let mut acked: HashSet<String> = HashSet::new();
    loop {
        let next_ack = due.front().map(|(at, _)| *at);
        tokio::select! {
            _ = vu.stop_requested() => break,
            _ = until(end) => break,
            _ = until(next_ack) => {
                if let Some((_, alert_id)) = due.pop_front() {
                    s.send(&json!({"type": "alert.ack", "alert_id": alert_id, "note": "seen (load test)"})).await?;
                    acked.insert(alert_id);
                }
            }
            _ = ping.tick() => s.ping().await?,
            frame = s.next() => {
                let f = frame?;
                match f["type"].as_str().unwrap_or_default() {
                    "alert" => {
                        let alert = &f["alert"];
                        let message_id = alert["message_id"].as_str().unwrap_or_default();
                        if let Some(latency) = shared.correlator.delivered(Event::Alert, message_id, std::time::Instant::now()) {
                            m.alert_delivery_latency.add(latency);
                        }
                        let open = matches!(alert["status"].as_str(), Some("open" | "escalated"));
                        if let (Some(delay), Some(id), true) = (ack_delay, alert["id"].as_str(), open)
                            && shared.correlator.take(id)
                        {
                            due.push_back((Instant::now() + delay, id.to_owned()));
                        }
                    }
                    "alert.updated" => {
                        let alert = &f["alert"];
                        // A later risky message folded into an open episode (contract §4.2) is
                        // delivered by this update: measure it like an alert.
                        let now = std::time::Instant::now();
                        for id in alert["message_ids"].as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
                            if let Some(latency) = shared.correlator.delivered(Event::Alert, id, now) {
                                m.alert_delivery_latency.add(latency);
                            }
                        }
                        // An episode update of an alert whose acknowledgement is in flight is not its answer.
                        let episode_update = alert["status"] == "open";
                        if !episode_update && alert["id"].as_str().is_some_and(|id| acked.remove(id)) {
                            // A supervisor may have resolved the escalated alert first; either way it was handled.
                            m.check("alert acknowledged or resolved", matches!(alert["status"].as_str(), Some("acknowledged" | "resolved")));
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
