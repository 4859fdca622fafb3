//! Creates this run's accounts through the public API (as an admin), puts every patient on a
//! clinician's caseload and every clinician on a supervisor's team, and signs each account in
//! once. VUs share the resulting [`Pool`] (several sessions per user are legal), so provisioning
//! costs O(accounts), not O(VUs), and happens before the timed part.

use std::time::Instant;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::config::{PoolSpec, Role};
use crate::error::LoadError;
use crate::http::Api;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub token: String,
}

#[derive(Debug, Default)]
pub struct Pool {
    pub patients: Vec<Account>,
    pub clinicians: Vec<Account>,
    pub supervisors: Vec<Account>,
}

impl Pool {
    /// Accounts that exist only on this side (for peers that accept any token).
    pub fn anonymous(patients: usize) -> Pool {
        let patients = (0..patients)
            .map(|i| Account { id: format!("peer-{i}"), username: format!("peer-{i}"), token: "anonymous".into() })
            .collect();
        Pool { patients, clinicians: Vec::new(), supervisors: Vec::new() }
    }

    /// The account VU `vu` of a `role` scenario signs in as (round-robin).
    pub fn account(&self, role: Role, vu: u64) -> Option<&Account> {
        let list = match role {
            Role::Patient => &self.patients,
            Role::Clinician => &self.clinicians,
            Role::Supervisor => &self.supervisors,
        };
        if list.is_empty() { None } else { list.get((vu % list.len() as u64) as usize) }
    }
}

/// `(owner, member)` index pairs: (clinician, patient) or (supervisor, clinician).
pub type Links = Vec<(usize, usize)>;

/// Caseloads: patient `i` → clinician `i mod C`. Teams: clinician `j` → supervisor `j mod S`.
pub fn links(patients: usize, clinicians: usize, supervisors: usize) -> (Links, Links) {
    let assignments = if clinicians == 0 { Vec::new() } else { (0..patients).map(|i| (i % clinicians, i)).collect() };
    let teams = if supervisors == 0 { Vec::new() } else { (0..clinicians).map(|j| (j % supervisors, j)).collect() };
    (assignments, teams)
}

fn expect(status: u16, want: u16, what: &str, body: &Value) -> Result<(), LoadError> {
    if status == want { Ok(()) } else { Err(LoadError::setup(format!("{what}: HTTP {status} {body}"))) }
}

/// Runs `jobs` with at most `n` in flight; the first error wins.
async fn bounded<T, F>(n: usize, jobs: Vec<F>) -> Result<Vec<T>, LoadError>
where
    F: Future<Output = Result<T, LoadError>>,
{
    let results: Vec<Result<T, LoadError>> = futures_util::stream::iter(jobs).buffered(n).collect().await;
    results.into_iter().collect()
}

pub async fn login(api: &Api, username: &str, password: &str) -> Result<Account, LoadError> {
    let (status, body) =
        api.post("/api/v1/auth/login", None, &json!({"username": username, "password": password})).await?;
    expect(status, 200, &format!("login {username}"), &body)?;
    let id = body["user"]["id"].as_str().unwrap_or_default().to_owned();
    let token = body["token"].as_str().unwrap_or_default().to_owned();
    if id.is_empty() || token.is_empty() {
        return Err(LoadError::setup(format!("login {username}: reply without user id or token")));
    }
    Ok(Account { id, username: username.to_owned(), token })
}

/// Provisions the pool. Progress lines go to stderr.
pub async fn provision(api: &Api, spec: &PoolSpec, admin_user: &str, admin_password: &str) -> Result<Pool, LoadError> {
    let started = Instant::now();
    let admin = login(api, admin_user, admin_password).await.map_err(|e| match e {
        LoadError::Setup(m) => {
            LoadError::setup(format!("admin sign-in (HEALING_ADMIN_USER / HEALING_ADMIN_PASSWORD): {m}"))
        }
        other => other,
    })?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let run = &run[..8];
    let password = format!("load-{}", uuid::Uuid::new_v4().simple());
    let wanted: Vec<(Role, String)> =
        [(Role::Patient, spec.patients), (Role::Clinician, spec.clinicians), (Role::Supervisor, spec.supervisors)]
            .into_iter()
            .flat_map(|(role, n)| (0..n).map(move |i| (role, format!("load-{run}-{}{i}", &role.as_str()[..1]))))
            .collect();
    eprintln!(
        "provisioning {} patients, {} clinicians, {} supervisors as {admin_user}…",
        spec.patients, spec.clinicians, spec.supervisors
    );

    let creates = wanted
        .iter()
        .map(|(role, username)| {
            let (token, password) = (admin.token.as_str(), password.as_str());
            async move {
                let body = json!({"username": username, "password": password, "role": role.as_str(), "display_name": username});
                let (status, reply) = api.post("/api/v1/admin/users", Some(token), &body).await?;
                expect(status, 201, &format!("create {username}"), &reply)?;
                Ok(reply["user"]["id"].as_str().unwrap_or_default().to_owned())
            }
        })
        .collect();
    let ids = bounded(spec.concurrency, creates).await?;
    let of = |role: Role| -> Vec<&str> {
        wanted.iter().zip(&ids).filter(|((r, _), _)| *r == role).map(|(_, id)| id.as_str()).collect()
    };
    let (patients, clinicians, supervisors) = (of(Role::Patient), of(Role::Clinician), of(Role::Supervisor));

    let (assignments, teams) = links(patients.len(), clinicians.len(), supervisors.len());
    let token = admin.token.as_str();
    let link_jobs = assignments
        .iter()
        .map(|&(c, p)| ("/api/v1/admin/assignments", json!({"clinician_id": clinicians[c], "patient_id": patients[p]})))
        .chain(teams.iter().map(|&(s, c)| {
            ("/api/v1/admin/teams", json!({"supervisor_id": supervisors[s], "clinician_id": clinicians[c]}))
        }))
        .map(|(path, body)| async move {
            let (status, reply) = api.post(path, Some(token), &body).await?;
            expect(status, 204, path, &reply)
        })
        .collect();
    bounded(spec.concurrency * 4, link_jobs).await?;

    let logins = wanted.iter().map(|(role, username)| {
        let password = password.as_str();
        async move { Ok((*role, login(api, username, password).await?)) }
    });
    let mut pool = Pool::default();
    for (role, account) in bounded(spec.concurrency, logins.collect()).await? {
        match role {
            Role::Patient => pool.patients.push(account),
            Role::Clinician => pool.clinicians.push(account),
            Role::Supervisor => pool.supervisors.push(account),
        }
    }
    eprintln!("provisioned {} accounts in {:.1}s", wanted.len(), started.elapsed().as_secs_f64());
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patient_gets_a_clinician_and_every_clinician_a_supervisor() {
        let (a, t) = links(5, 2, 1);
        assert_eq!(a, vec![(0, 0), (1, 1), (0, 2), (1, 3), (0, 4)]);
        assert_eq!(t, vec![(0, 0), (0, 1)]);
        let (a, t) = links(3, 0, 2);
        assert!(a.is_empty() && t.is_empty());
    }

    #[test]
    fn vus_share_accounts_round_robin() {
        let acct = |n: &str| Account { id: n.into(), username: n.into(), token: n.into() };
        let pool = Pool { patients: vec![acct("p0"), acct("p1")], clinicians: vec![acct("c0")], supervisors: vec![] };
        assert_eq!(pool.account(Role::Patient, 3).unwrap().id, "p1");
        assert_eq!(pool.account(Role::Clinician, 7).unwrap().id, "c0");
        assert!(pool.account(Role::Supervisor, 0).is_none());
    }
}
