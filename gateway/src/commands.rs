//! Admin subcommands that work on the store directly (how the first admin is made).

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use healing_protocol::Role;
use healing_storage::{NewUser, Store};

use crate::config::StoreArgs;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting a runtime")
}

fn open(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    crate::store::open(args)
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
        store.flush().await?;
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
        Ok(format!("{patient} is now on {clinician}'s caseload"))
    })
}

pub fn team(store_args: &StoreArgs, supervisor: &str, clinician: &str) -> anyhow::Result<String> {
    runtime()?.block_on(async {
        let store = open(store_args)?;
        let s = find(&store, supervisor, Role::Supervisor).await?;
        let c = find(&store, clinician, Role::Clinician).await?;
        store.add_to_team(&s, &c).await?;
        Ok(format!("{clinician} is now on {supervisor}'s team"))
    })
}

pub fn duty(store_args: &StoreArgs, supervisor: &str) -> anyhow::Result<String> {
    runtime()?.block_on(async {
        let store = open(store_args)?;
        let s = find(&store, supervisor, Role::Supervisor).await?;
        store.add_duty_supervisor(&s).await?;
        Ok(format!("{supervisor} is now on duty: they cover every patient with no care team"))
    })
}
