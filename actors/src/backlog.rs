//! What a clinician or supervisor must see even if they were not connected when it happened:
//! every alert of the caseload not yet acknowledged and every pending follow-up of the caseload
//! (contract §4.7), every escalation of the team not yet resolved. Sent after `welcome`, and re-sent to everyone connected here when the cross-node
//! bus comes back after an outage (pushes from other nodes may have been lost meanwhile; clients
//! treat frames as upserts by id, so a repeat is harmless).

use std::sync::Arc;

use healing_protocol::{Alert, FollowupStatus, Role, ServerFrame, User};
use healing_storage::{AlertQuery, FollowupQuery, Store};

use crate::error::ServiceError;
use crate::services::Services;
use crate::supervision::backlog as open_escalations;

/// The frames `user` should hold, oldest first.
pub async fn frames_for(store: &Arc<dyn Store>, user: &User) -> Result<Vec<ServerFrame>, ServiceError> {
    Ok(match user.role {
        // Not yet acknowledged: open, or escalated while nobody on the caseload answered. Filtered
        // in the store, so acknowledged alerts, however many, never push an open one out.
        Role::Clinician => {
            let mut frames: Vec<ServerFrame> = unacknowledged_alerts(store, &user.id)
                .await?
                .into_iter()
                .rev()
                .map(|alert| ServerFrame::Alert { alert })
                .collect();
            let pending = store
                .followups(FollowupQuery {
                    clinician_id: Some(user.id.clone()),
                    status: Some(FollowupStatus::Pending),
                    limit: BACKLOG_LIMIT,
                    ..FollowupQuery::default()
                })
                .await?;
            frames.extend(pending.into_iter().rev().map(|followup| ServerFrame::Followup { followup }));
            frames
        }
        Role::Supervisor => open_escalations(store, &user.id)
            .await?
            .into_iter()
            .rev()
            .map(|escalation| ServerFrame::Escalation { escalation })
            .collect(),
        Role::Patient | Role::Admin => Vec::new(),
    })
}

/// Most items one backlog carries (newest first); a caseload with more open alerts than this
/// has a bigger problem than a long list, and the REST lists page through all of them.
pub const BACKLOG_LIMIT: u32 = 1000;

/// Every alert of the clinician's caseload nobody has acknowledged yet, newest first.
pub async fn unacknowledged_alerts(store: &Arc<dyn Store>, clinician_id: &str) -> Result<Vec<Alert>, ServiceError> {
    Ok(store
        .alerts(AlertQuery {
            clinician_id: Some(clinician_id.to_owned()),
            unacknowledged: true,
            limit: BACKLOG_LIMIT,
            ..AlertQuery::default()
        })
        .await?)
}

/// Re-sends the backlog to every clinician and supervisor connected to this node.
pub async fn resend_to_local_staff(services: Arc<Services>) {
    let staff = services.hub.users_with_roles(&[Role::Clinician, Role::Supervisor]);
    let mut sent = 0usize;
    for (user_id, role) in staff {
        let user = User {
            id: user_id.clone(),
            username: String::new(),
            role,
            display_name: String::new(),
            created_at: chrono::Utc::now(),
        };
        match frames_for(&services.store, &user).await {
            Ok(frames) => {
                for f in &frames {
                    services.hub.send_to_user(&user_id, &bytestring::ByteString::from(f.to_json()));
                }
                sent += frames.len();
            }
            Err(e) => tracing::warn!(user = %user_id, error = %e.message, "could not re-send backlog"),
        }
    }
    tracing::info!(frames = sent, "backlog re-sent to local staff after bus recovery");
}
