//! Accounts, tokens, caseloads and teams.

use std::collections::BTreeSet;

use futures_util::future::try_join_all;
use healing_protocol::{Role, Timestamp, User};
use scylla::errors::ExecutionError;
use scylla::response::query_result::QueryResult;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::value::CqlTimestamp;

use super::rows::{UserRow, cql_ts, ms, now};
use super::{Cas, Inner, all_rows, cas_outcome, exec_err, first_row, plan};
use crate::error::{Result, StoreError};
use crate::identity::{username_key, username_skeleton};
use crate::store::{Credentials, NewUser, TokenSession};

impl Inner {
    pub(crate) async fn create_user(&self, u: NewUser) -> Result<User> {
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            username: u.username.clone(),
            role: u.role,
            display_name: u.display_name.clone(),
            created_at: now(),
        };
        let key = username_key(&user.username);
        let skeleton = username_skeleton(&user.username);
        if user.role == Role::Patient {
            // Registry rows first, like every index: readers skip ids with no account.
            self.st
                .patient_registry_insert
                .run(&self.session, (DUTY_SHARD, cql_ts(user.created_at), user.id.clone()))
                .await
                .map_err(|e| exec_err("register patient", e))?;
        }
        // The account row first (under a fresh id nobody knows yet), then the username claim: a
        // claimed username therefore always names an existing account.
        self.st
            .user_insert
            .run(
                &self.session,
                (
                    user.id.clone(),
                    user.username.clone(),
                    key.clone(),
                    u.password_hash,
                    user.role.as_str().to_owned(),
                    user.display_name.clone(),
                    cql_ts(user.created_at),
                ),
            )
            .await
            .map_err(|e| exec_err("insert user", e))?;
        // The skeleton first: a lookalike of an existing name is refused before its username is
        // claimed (and a skeleton claimed for a username that turns out taken is given back).
        let claim = self.st.skeleton_claim.run(&self.session, (skeleton.clone(), user.id.clone())).await;
        let skeleton_mine = match cas_outcome("claim skeleton", claim)? {
            Cas::Applied => true,
            Cas::NotApplied => false,
            Cas::Unknown(err) => {
                let r = self.st.skeleton_get_serial.run(&self.session, (skeleton.clone(),)).await;
                let owner: Option<(Option<String>,)> = first_row(r.map_err(|e| exec_err("read skeleton", e))?)?;
                match owner.and_then(|o| o.0) {
                    Some(id) => id == user.id,
                    None => return Err(err),
                }
            }
        };
        if !skeleton_mine {
            let _ = self.st.user_delete.run(&self.session, (user.id.clone(),)).await;
            let taken = self.credentials(&user.username).await?.is_some();
            return Err(StoreError::Conflict(if taken { "username is taken".into() } else { LOOKALIKE.into() }));
        }
        let claim = self.st.username_claim.run(&self.session, (key.clone(), user.id.clone())).await;
        let mine = match cas_outcome("claim username", claim)? {
            Cas::Applied => true,
            Cas::NotApplied => false,
            Cas::Unknown(err) => {
                let r = self.st.username_get_serial.run(&self.session, (key,)).await;
                let owner: Option<(Option<String>,)> = first_row(r.map_err(|e| exec_err("read username", e))?)?;
                match owner.and_then(|o| o.0) {
                    Some(id) => id == user.id,
                    None => return Err(err),
                }
            }
        };
        if !mine {
            // Best effort: the orphan account row is unreachable anyway.
            let _ = self.st.user_delete.run(&self.session, (user.id.clone(),)).await;
            let _ = self.st.skeleton_release.run(&self.session, (skeleton, user.id.clone())).await;
            return Err(StoreError::Conflict("username is taken".into()));
        }
        Ok(user)
    }

    async fn user_row(&self, id: &str) -> Result<Option<(User, Option<String>)>> {
        let r = self.st.user_get.run(&self.session, (id.to_owned(),)).await.map_err(|e| exec_err("read user", e))?;
        first_row::<UserRow>(r)?.map(UserRow::into_user).transpose()
    }

    pub(crate) async fn user(&self, id: &str) -> Result<Option<User>> {
        Ok(self.user_row(id).await?.map(|(u, _)| u))
    }

    pub(crate) async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let r = self
            .st
            .username_get
            .run(&self.session, (username_key(username),))
            .await
            .map_err(|e| exec_err("read username", e))?;
        let Some((Some(id),)) = first_row::<(Option<String>,)>(r)? else { return Ok(None) };
        let (row, state) = futures_util::future::try_join(self.user_row(&id), self.account_state(&id)).await?;
        Ok(row.map(|(user, hash)| Credentials {
            user,
            password_hash: hash.unwrap_or_default(),
            disabled: state.is_some_and(|s| s.0 == Some(true)),
        }))
    }

    async fn account_state(&self, user_id: &str) -> Result<Option<AccountState>> {
        let r = self
            .st
            .account_state_get
            .run(&self.session, (user_id.to_owned(),))
            .await
            .map_err(|e| exec_err("read account state", e))?;
        first_row::<AccountState>(r)
    }

    pub(crate) async fn token_session(&self, hash: String, now: Timestamp) -> Result<Option<TokenSession>> {
        let r = self.st.token_session_get.run(&self.session, (hash,)).await.map_err(|e| exec_err("read token", e))?;
        let Some((Some(user_id), created_at, Some(expires_at), None)) =
            first_row::<(Option<String>, Option<CqlTimestamp>, Option<CqlTimestamp>, Option<CqlTimestamp>)>(r)?
        else {
            return Ok(None);
        };
        if expires_at.0 <= ms(now) {
            return Ok(None);
        }
        let (user, state) = futures_util::future::try_join(self.user(&user_id), self.account_state(&user_id)).await?;
        if let Some((disabled, revoked_before)) = state {
            let issued = created_at.map_or(i64::MIN, |c| c.0);
            if disabled == Some(true) || revoked_before.is_some_and(|r| issued <= r.0) {
                return Ok(None);
            }
        }
        Ok(user.map(|user| TokenSession { user, expires_at: super::rows::ts(expires_at) }))
    }

    pub(crate) async fn set_user_disabled(&self, user_id: String, disabled: bool) -> Result<()> {
        if self.user(&user_id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let r = if disabled {
            self.st.account_disable.run(&self.session, (true, cql_ts(now()), user_id)).await
        } else {
            self.st.account_enable.run(&self.session, (false, user_id)).await
        };
        r.map_err(|e| exec_err("set account state", e))?;
        Ok(())
    }

    pub(crate) async fn user_disabled(&self, user_id: String) -> Result<bool> {
        Ok(self.account_state(&user_id).await?.is_some_and(|s| s.0 == Some(true)))
    }

    pub(crate) async fn insert_token(&self, hash: String, user_id: String, expires_at: Timestamp) -> Result<()> {
        let created = now();
        let ttl = plan::token_ttl(ms(expires_at), ms(created));
        self.st
            .token_insert
            .run(&self.session, (hash, user_id, cql_ts(created), cql_ts(expires_at), ttl))
            .await
            .map_err(|e| exec_err("insert token", e))?;
        Ok(())
    }

    async fn token(&self, hash: &str) -> Result<Option<TokenRow>> {
        let r =
            self.st.token_get.run(&self.session, (hash.to_owned(),)).await.map_err(|e| exec_err("read token", e))?;
        first_row::<TokenRow>(r)
    }

    pub(crate) async fn revoke_token(&self, hash: String, now: Timestamp) -> Result<()> {
        // Read first: an UPDATE of a missing row would create one, and the revocation cell must
        // expire with the row (its remaining TTL; `0` = the row has none), never before it.
        let Some((Some(_), _, None, ttl)) = self.token(&hash).await? else { return Ok(()) };
        self.st
            .token_revoke
            .run(&self.session, (ttl.unwrap_or(0).max(0), cql_ts(now), hash))
            .await
            .map_err(|e| exec_err("revoke token", e))?;
        Ok(())
    }

    async fn role_of(&self, id: &str) -> Result<Option<Role>> {
        Ok(self.user(id).await?.map(|u| u.role))
    }

    pub(crate) async fn assign(&self, clinician_id: String, patient_id: String) -> Result<()> {
        if self.role_of(&clinician_id).await? != Some(Role::Clinician) {
            return Err(StoreError::Invalid("clinician_id is not a clinician".into()));
        }
        if self.role_of(&patient_id).await? != Some(Role::Patient) {
            return Err(StoreError::Invalid("patient_id is not a patient".into()));
        }
        let at = CqlTimestamp(ms(chrono::Utc::now()));
        // Both sides in one logged batch: eventually both or neither, whatever fails midway.
        let batch = self.logged_batch(&[
            &self.st.caseload_insert_by_patient.prepared,
            &self.st.caseload_insert_by_clinician.prepared,
        ]);
        self.session
            .batch(&batch, ((patient_id.clone(), clinician_id.clone(), at), (clinician_id, patient_id, at)))
            .await
            .map_err(|e| exec_err("assign", e))?;
        Ok(())
    }

    pub(crate) async fn add_to_team(&self, supervisor_id: String, clinician_id: String) -> Result<()> {
        if self.role_of(&supervisor_id).await? != Some(Role::Supervisor) {
            return Err(StoreError::Invalid("supervisor_id is not a supervisor".into()));
        }
        if self.role_of(&clinician_id).await? != Some(Role::Clinician) {
            return Err(StoreError::Invalid("clinician_id is not a clinician".into()));
        }
        let at = CqlTimestamp(ms(chrono::Utc::now()));
        let batch = self
            .logged_batch(&[&self.st.team_insert_by_clinician.prepared, &self.st.team_insert_by_supervisor.prepared]);
        self.session
            .batch(&batch, ((clinician_id.clone(), supervisor_id.clone(), at), (supervisor_id, clinician_id, at)))
            .await
            .map_err(|e| exec_err("add to team", e))?;
        Ok(())
    }

    fn ids(&self, r: std::result::Result<QueryResult, ExecutionError>, what: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = all_rows(r.map_err(|e| exec_err(what, e))?)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Clustering order is the id, so these come sorted.
    pub(crate) async fn clinicians_of(&self, patient_id: String) -> Result<Vec<String>> {
        self.ids(self.st.patient_clinicians.run(&self.session, (patient_id,)).await, "clinicians of")
    }

    pub(crate) async fn supervisors_of(&self, patient_id: String) -> Result<Vec<String>> {
        let clinicians = self.clinicians_of(patient_id).await?;
        let per = try_join_all(clinicians.into_iter().map(|c| async move {
            self.ids(self.st.clinician_supervisors.run(&self.session, (c,)).await, "supervisors of")
        }))
        .await?;
        Ok(per.into_iter().flatten().collect::<BTreeSet<_>>().into_iter().collect())
    }

    /// Patient ids on a clinician's caseload.
    pub(crate) async fn caseload_ids(&self, clinician_id: String) -> Result<Vec<String>> {
        self.ids(self.st.caseload_patients.run(&self.session, (clinician_id,)).await, "caseload")
    }

    /// Patient ids on the caseloads of a supervisor's team.
    pub(crate) async fn team_patient_ids(&self, supervisor_id: String) -> Result<BTreeSet<String>> {
        let clinicians = self.ids(self.st.team_clinicians.run(&self.session, (supervisor_id,)).await, "team")?;
        let per = try_join_all(clinicians.into_iter().map(|c| self.caseload_ids(c))).await?;
        Ok(per.into_iter().flatten().collect())
    }

    pub(crate) async fn caseload(&self, clinician_id: String) -> Result<Vec<User>> {
        let ids = self.caseload_ids(clinician_id).await?;
        let users = try_join_all(ids.iter().map(|id| self.user(id))).await?;
        let mut users: Vec<User> = users.into_iter().flatten().collect();
        users.sort_by(|a, b| (&a.display_name, &a.id).cmp(&(&b.display_name, &b.id)));
        Ok(users)
    }

    pub(crate) async fn can_view_patient(&self, viewer: User, patient_id: String) -> Result<bool> {
        match viewer.role {
            Role::Patient => Ok(viewer.id == patient_id),
            Role::Admin => Ok(false),
            Role::Clinician => {
                let r = self.st.caseload_has.run(&self.session, (viewer.id, patient_id)).await;
                Ok(!self.ids(r, "caseload")?.is_empty())
            }
            Role::Supervisor => {
                let team = self.ids(self.st.team_clinicians.run(&self.session, (viewer.id.clone(),)).await, "team")?;
                let team: BTreeSet<String> = team.into_iter().collect();
                if self.clinicians_of(patient_id.clone()).await?.iter().any(|c| team.contains(c)) {
                    return Ok(true);
                }
                // A duty supervisor covers a patient with no care team.
                Ok(self.duty_supervisors().await?.contains(&viewer.id)
                    && self.role_of(&patient_id).await? == Some(Role::Patient)
                    && self.supervisors_of(patient_id).await?.is_empty())
            }
        }
    }
}

impl Inner {
    pub(crate) async fn add_duty_supervisor(&self, supervisor_id: String) -> Result<()> {
        if self.role_of(&supervisor_id).await? != Some(Role::Supervisor) {
            return Err(StoreError::Invalid("supervisor_id is not a supervisor".into()));
        }
        self.st
            .duty_insert
            .run(&self.session, (DUTY_SHARD, supervisor_id, cql_ts(now())))
            .await
            .map_err(|e| exec_err("add duty supervisor", e))?;
        Ok(())
    }

    /// Clustering order is the id, so these come sorted.
    pub(crate) async fn duty_supervisors(&self) -> Result<Vec<String>> {
        self.ids(self.st.duty_list.run(&self.session, (DUTY_SHARD,)).await, "duty supervisors")
    }

    /// Walks the patient registry page by page until `limit` patients on no caseload are found.
    pub(crate) async fn unassigned_patients(&self, limit: u32) -> Result<Vec<User>> {
        let limit = limit.clamp(1, 10_000) as usize;
        let mut out = Vec::new();
        let mut state = PagingState::start();
        loop {
            let (res, more) = self
                .st
                .patient_registry_list
                .page(&self.session, (DUTY_SHARD,), state)
                .await
                .map_err(|e| exec_err("list patients", e))?;
            let rows: Vec<(CqlTimestamp, String)> = all_rows(res)?;
            for chunk in rows.chunks(32) {
                let found = try_join_all(chunk.iter().map(|(_, id)| async move {
                    let Some(user) = self.user(id).await? else { return Ok::<_, StoreError>(None) };
                    let unassigned = user.role == Role::Patient && self.clinicians_of(id.clone()).await?.is_empty();
                    Ok(unassigned.then_some(user))
                }))
                .await?;
                for user in found.into_iter().flatten() {
                    out.push(user);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            match more {
                PagingStateResponse::HasMorePages { state: next } => state = next,
                PagingStateResponse::NoMorePages => return Ok(out),
            }
        }
    }
}

/// The one partition of the small cluster-wide lists (duty supervisors, their escalations, the
/// patient registry).
pub(crate) const DUTY_SHARD: i32 = 0;

/// The message of a refused lookalike username.
const LOOKALIKE: &str = "username looks like an existing name; choose another";

/// `disabled, tokens_revoked_at` of `account_state`.
type AccountState = (Option<bool>, Option<CqlTimestamp>);

/// `user_id, expires_at, revoked_at, TTL(user_id)`.
type TokenRow = (Option<String>, Option<CqlTimestamp>, Option<CqlTimestamp>, Option<i32>);
