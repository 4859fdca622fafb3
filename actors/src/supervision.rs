//! Supervisor desks: one actor per supervisor (that is, per team) owning the operations on its
//! escalation queue — claim and resolve — one at a time, so two sessions of a team acting on the
//! same escalation are ordered, and each outcome is pushed to every supervisor of the team.
//!
//! The queue itself lives in the store (durable, shared by nodes); a desk never holds the only
//! copy of anything.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use chrono::Utc;
use healing_protocol::{Escalation, EscalationStatus, Role, User};
use healing_storage::{EscalationQuery, Store};
use parking_lot::Mutex;

use crate::alerts::{announce_update, audit};
use crate::bus::Fanout;
use crate::error::ServiceError;
use crate::metrics::Metrics;

pub struct SupervisorDesk {
    store: Arc<dyn Store>,
    fanout: Arc<Fanout>,
    metrics: Arc<Metrics>,
}

impl Actor for SupervisorDesk {
    type Context = Context<Self>;
}

/// What a supervisor does to an escalation.
pub enum DeskAction {
    Claim,
    Resolve { note: String },
}

#[derive(Message)]
#[rtype(result = "Result<Escalation, ServiceError>")]
pub struct Act {
    pub escalation_id: String,
    pub by: User,
    pub action: DeskAction,
    pub remote: Option<String>,
}

impl Handler<Act> for SupervisorDesk {
    type Result = AtomicResponse<Self, Result<Escalation, ServiceError>>;

    fn handle(&mut self, msg: Act, _ctx: &mut Self::Context) -> Self::Result {
        let (store, fanout, metrics) = (self.store.clone(), self.fanout.clone(), self.metrics.clone());
        let fut = async move {
            if msg.by.role != Role::Supervisor {
                return Err(ServiceError::forbidden("only supervisors work escalations"));
            }
            let hidden = || ServiceError::forbidden("no such escalation in your team");
            let current = store.escalation(&msg.escalation_id).await?.ok_or_else(hidden)?;
            if !store.can_view_patient(&msg.by, &current.alert.patient_id).await? {
                return Err(hidden());
            }
            let now = Utc::now();
            let (changed, action) = match &msg.action {
                DeskAction::Claim => {
                    (store.claim_escalation(&msg.escalation_id, &msg.by.id, now).await?, "escalation.claim")
                }
                DeskAction::Resolve { note } => {
                    (store.resolve_escalation(&msg.escalation_id, &msg.by.id, note, now).await?, "escalation.resolve")
                }
            };
            let Some(updated) = changed else {
                // Already claimed/resolved by someone else: report the current state.
                return Ok(current);
            };
            if updated.status == EscalationStatus::Resolved {
                metrics.open_escalations.dec();
            }
            audit(&store, Some(&msg.by), action, format!("escalation:{}", updated.id), msg.remote.clone(), None).await;
            announce_update(&store, &fanout, &updated).await;
            Ok(updated)
        };
        // Atomic: this desk handles one action at a time.
        AtomicResponse::new(Box::pin(fut.into_actor(self)))
    }
}

/// The desks of this node, by supervisor id, started on first use.
#[derive(Default)]
pub struct DeskDirectory {
    desks: Mutex<HashMap<String, Addr<SupervisorDesk>>>,
}

impl DeskDirectory {
    pub fn desk(
        &self,
        supervisor_id: &str,
        store: &Arc<dyn Store>,
        fanout: &Arc<Fanout>,
        metrics: &Arc<Metrics>,
    ) -> Addr<SupervisorDesk> {
        self.desks
            .lock()
            .entry(supervisor_id.to_owned())
            .or_insert_with(|| {
                SupervisorDesk { store: store.clone(), fanout: fanout.clone(), metrics: metrics.clone() }.start()
            })
            .clone()
    }
}

/// The escalations a supervisor should see on connect: every unresolved one of the team.
pub async fn backlog(store: &Arc<dyn Store>, supervisor_id: &str) -> Result<Vec<Escalation>, ServiceError> {
    Ok(store
        .escalations(EscalationQuery {
            supervisor_id: Some(supervisor_id.to_owned()),
            unresolved: true,
            limit: crate::backlog::BACKLOG_LIMIT,
            ..EscalationQuery::default()
        })
        .await?)
}
