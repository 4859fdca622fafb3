//! Admin subcommands that work on the store directly (how the first admin is made).

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use healing_actors::audit::Auditor;
use healing_protocol::Role;
use healing_storage::audit_chain::{Verdict, verify};
use healing_storage::{NewUser, Store};

use crate::config::StoreArgs;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting a runtime")
}

fn open(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    crate::store::open(args)
}

/// Audits a change made from the command line (no signed-in actor; the same actions as the
/// REST equivalents), through the one audit service. A change whose line cannot be written is
/// reported as an error.
async fn audit(store: &Arc<dyn Store>, action: &str, target: String, detail: String) -> anyhow::Result<()> {
    Auditor::new(store.clone())
        .log(None, action, target, None, Some(format!("{detail} (command line)")))
        .await
        .context("writing the audit entry")?;
    store.flush().await?;
    Ok(())
}

pub fn add_user(
    store_args: &StoreArgs,
    username: String,
    role: &str,
    display_name: Option<String>,
    password: String,
) -> anyhow::Result<String> {
    let role = Role::parse(role).ok_or_else(|| anyhow!("--role must be patient, clinician, supervisor or admin"))?;
    runtime()?.block_on(async {
        let store = open(store_args)?;
        let auth = healing_actors::auth::Authenticator::new(store.clone(), std::time::Duration::from_secs(3600));
        let user = auth
            .register(
                NewUser {
                    username,
                    password_hash: String::new(),
                    role,
                    display_name: display_name.unwrap_or_default(),
                },
                password,
            )
            .await
            .map_err(|e| anyhow!(e.message))?;
        audit(&store, "user.create", format!("user:{}", user.id), format!("role={}", role.as_str())).await?;
        Ok(format!("created {} {} ({})", role.as_str(), user.username, user.id))
    })
}

async fn find(store: &Arc<dyn Store>, username: &str, role: Role) -> anyhow::Result<String> {
    let user = store.user_by_username(username).await?.ok_or_else(|| anyhow!("no user named {username:?}"))?;
    if user.role != role {
        bail!("{username:?} is a {}, not a {}", user.role.as_str(), role.as_str());
    }
    Ok(user.id)
}

pub fn assign(store_args: &StoreArgs, clinician: &str, patient: &str) -> anyhow::Result<String> {
    runtime()?.block_on(async {
        let store = open(store_args)?;
        let c = find(&store, clinician, Role::Clinician).await?;
        let p = find(&store, patient, Role::Patient).await?;
        store.assign(&c, &p).await?;
        audit(&store, "caseload.assign", format!("patient:{p}"), format!("clinician:{c}")).await?;
        Ok(format!("{patient} is now on {clinician}'s caseload"))
    })
}

pub fn team(store_args: &StoreArgs, supervisor: &str, clinician: &str) -> anyhow::Result<String> {
    runtime()?.block_on(async {
        let store = open(store_args)?;
        let s = find(&store, supervisor, Role::Supervisor).await?;
        let c = find(&store, clinician, Role::Clinician).await?;
        store.add_to_team(&s, &c).await?;
        audit(&store, "team.add", format!("user:{c}"), format!("supervisor:{s}")).await?;
        Ok(format!("{clinician} is now on {supervisor}'s team"))
    })
}

pub fn duty(store_args: &StoreArgs, supervisor: &str) -> anyhow::Result<String> {
    runtime()?.block_on(async {
        let store = open(store_args)?;
        let s = find(&store, supervisor, Role::Supervisor).await?;
        store.add_duty_supervisor(&s).await?;
        audit(&store, "duty.add", format!("user:{s}"), "on duty".into()).await?;
        Ok(format!("{supervisor} is now on duty: they cover every patient with no care team"))
    })
}

/// `audit verify`: recomputes the whole hash chain. `Err` names the first broken entry.
pub fn audit_verify(store_args: &StoreArgs) -> anyhow::Result<String> {
    runtime()?.block_on(async {
        let store = open(store_args)?;
        match verify(store.as_ref()).await? {
            Verdict::Intact { entries } => Ok(format!("audit chain intact: {entries} entries verified")),
            Verdict::Broken { seq, entries_before, reason } => Err(anyhow!(
                "audit chain broken at entry {seq}: {reason} ({entries_before} entries before it verified)"
            )),
        }
    })
}
