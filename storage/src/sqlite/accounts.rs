//! Accounts, tokens, caseloads and teams.

use healing_protocol::{Role, Timestamp, User};
use rusqlite::{Connection, OptionalExtension, params};

use super::db_err;
use super::rows::{from_ms, ms, word};
use crate::error::{Result, StoreError};
use crate::identity::{username_key, username_skeleton};
use crate::store::{Credentials, NewUser, TokenSession};

const USER_COLS: &str = "id, username, role, display_name, created_at";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        role: word(2, r.get(2)?, Role::parse)?,
        display_name: r.get(3)?,
        created_at: from_ms(r.get(4)?),
    })
}

pub fn create_user(c: &Connection, u: &NewUser) -> Result<User> {
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        username: u.username.clone(),
        role: u.role,
        display_name: u.display_name.clone(),
        created_at: super::rows::now(),
    };
    let (key, skeleton) = (username_key(&user.username), username_skeleton(&user.username));
    // Inside the writer's transaction: nothing can claim the skeleton between check and insert.
    let lookalike: bool = c
        .query_row("SELECT EXISTS (SELECT 1 FROM users WHERE username_skeleton = ?1)", params![skeleton], |r| r.get(0))
        .map_err(db_err)?;
    let taken: bool = c
        .query_row("SELECT EXISTS (SELECT 1 FROM users WHERE username_key = ?1)", params![key], |r| r.get(0))
        .map_err(db_err)?;
    if taken {
        return Err(StoreError::Conflict("username is taken".into()));
    }
    if lookalike {
        return Err(StoreError::Conflict(LOOKALIKE.into()));
    }
    let inserted = c
        .execute(
            "INSERT INTO users (id, username, username_key, username_skeleton, password_hash, role, display_name,
                                created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (username_key) DO NOTHING",
            params![
                user.id,
                user.username,
                key,
                skeleton,
                u.password_hash,
                user.role.as_str(),
                user.display_name,
                ms(user.created_at)
            ],
        )
        .map_err(db_err)?;
    if inserted == 0 {
        return Err(StoreError::Conflict("username is taken".into()));
    }
    Ok(user)
}

pub fn credentials(c: &Connection, username: &str) -> Result<Option<Credentials>> {
    c.query_row(
        &format!("SELECT {USER_COLS}, password_hash, disabled FROM users WHERE username_key = ?1"),
        params![username_key(username)],
        |r| Ok(Credentials { user: user_row(r)?, password_hash: r.get(5)?, disabled: r.get(6)? }),
    )
    .optional()
    .map_err(db_err)
}

pub fn user(c: &Connection, id: &str) -> Result<Option<User>> {
    c.query_row(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"), params![id], user_row)
        .optional()
        .map_err(db_err)
}

fn role_of(c: &Connection, id: &str) -> Result<Option<Role>> {
    Ok(user(c, id)?.map(|u| u.role))
}

pub fn insert_token(c: &Connection, hash: &str, user_id: &str, expires_at: Timestamp) -> Result<()> {
    c.execute(
        "INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash, user_id, ms(chrono::Utc::now()), ms(expires_at)],
    )
    .map_err(db_err)?;
    Ok(())
}

pub fn token_session(c: &Connection, hash: &str, now: Timestamp) -> Result<Option<TokenSession>> {
    c.query_row(
        "SELECT u.id, u.username, u.role, u.display_name, u.created_at, t.expires_at FROM tokens t
         JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND t.expires_at > ?2 AND u.disabled = 0",
        params![hash, ms(now)],
        |r| Ok(TokenSession { user: user_row(r)?, expires_at: from_ms(r.get(5)?) }),
    )
    .optional()
    .map_err(db_err)
}

/// The message of a refused lookalike username.
pub(crate) const LOOKALIKE: &str = "username looks like an existing name; choose another";

pub fn set_user_disabled(c: &Connection, user_id: &str, disabled: bool, now: Timestamp) -> Result<()> {
    let n = c.execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![user_id, disabled]).map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    if disabled {
        c.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            params![user_id, ms(now)],
        )
        .map_err(db_err)?;
    }
    Ok(())
}

pub fn user_disabled(c: &Connection, user_id: &str) -> Result<bool> {
    c.query_row("SELECT disabled FROM users WHERE id = ?1", params![user_id], |r| r.get::<_, bool>(0))
        .optional()
        .map_err(db_err)
        .map(|d| d.unwrap_or(false))
}

pub fn revoke_token(c: &Connection, hash: &str, now: Timestamp) -> Result<()> {
    c.execute("UPDATE tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL", params![hash, ms(now)])
        .map_err(db_err)?;
    Ok(())
}

pub fn assign(c: &Connection, clinician_id: &str, patient_id: &str) -> Result<()> {
    if role_of(c, clinician_id)? != Some(Role::Clinician) {
        return Err(StoreError::Invalid("clinician_id is not a clinician".into()));
    }
    if role_of(c, patient_id)? != Some(Role::Patient) {
        return Err(StoreError::Invalid("patient_id is not a patient".into()));
    }
    c.execute(
        "INSERT INTO caseloads (clinician_id, patient_id, assigned_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![clinician_id, patient_id, ms(chrono::Utc::now())],
    )
    .map_err(db_err)?;
    Ok(())
}

pub fn add_to_team(c: &Connection, supervisor_id: &str, clinician_id: &str) -> Result<()> {
    if role_of(c, supervisor_id)? != Some(Role::Supervisor) {
        return Err(StoreError::Invalid("supervisor_id is not a supervisor".into()));
    }
    if role_of(c, clinician_id)? != Some(Role::Clinician) {
        return Err(StoreError::Invalid("clinician_id is not a clinician".into()));
    }
    c.execute(
        "INSERT INTO teams (supervisor_id, clinician_id, joined_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![supervisor_id, clinician_id, ms(chrono::Utc::now())],
    )
    .map_err(db_err)?;
    Ok(())
}

fn strings(c: &Connection, sql: &str, arg: &str) -> Result<Vec<String>> {
    let mut st = c.prepare_cached(sql).map_err(db_err)?;
    let rows = st.query_map(params![arg], |r| r.get::<_, String>(0)).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn clinicians_of(c: &Connection, patient_id: &str) -> Result<Vec<String>> {
    strings(c, "SELECT clinician_id FROM caseloads WHERE patient_id = ?1 ORDER BY clinician_id", patient_id)
}

pub fn supervisors_of(c: &Connection, patient_id: &str) -> Result<Vec<String>> {
    strings(
        c,
        "SELECT DISTINCT t.supervisor_id FROM caseloads cl JOIN teams t ON t.clinician_id = cl.clinician_id
         WHERE cl.patient_id = ?1 ORDER BY t.supervisor_id",
        patient_id,
    )
}

pub fn caseload(c: &Connection, clinician_id: &str) -> Result<Vec<User>> {
    let mut st = c
        .prepare_cached(
            "SELECT u.id, u.username, u.role, u.display_name, u.created_at FROM caseloads cl
             JOIN users u ON u.id = cl.patient_id WHERE cl.clinician_id = ?1 ORDER BY u.display_name, u.id",
        )
        .map_err(db_err)?;
    let rows = st.query_map(params![clinician_id], user_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn can_view_patient(c: &Connection, viewer: &User, patient_id: &str) -> Result<bool> {
    let sql = match viewer.role {
        Role::Patient => return Ok(viewer.id == patient_id),
        Role::Admin => return Ok(false),
        Role::Clinician => "SELECT EXISTS (SELECT 1 FROM caseloads WHERE clinician_id = ?1 AND patient_id = ?2)",
        Role::Supervisor => {
            "SELECT EXISTS (SELECT 1 FROM teams t JOIN caseloads cl ON cl.clinician_id = t.clinician_id
             WHERE t.supervisor_id = ?1 AND cl.patient_id = ?2)
             OR (EXISTS (SELECT 1 FROM duty_supervisors WHERE supervisor_id = ?1)
                 AND EXISTS (SELECT 1 FROM users WHERE id = ?2 AND role = 'patient')
                 AND NOT EXISTS (SELECT 1 FROM teams t JOIN caseloads cl ON cl.clinician_id = t.clinician_id
                                 WHERE cl.patient_id = ?2))"
        }
    };
    c.query_row(sql, params![viewer.id, patient_id], |r| r.get::<_, bool>(0)).map_err(db_err)
}

pub fn add_duty_supervisor(c: &Connection, supervisor_id: &str) -> Result<()> {
    if role_of(c, supervisor_id)? != Some(Role::Supervisor) {
        return Err(StoreError::Invalid("supervisor_id is not a supervisor".into()));
    }
    c.execute(
        "INSERT INTO duty_supervisors (supervisor_id, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![supervisor_id, ms(chrono::Utc::now())],
    )
    .map_err(db_err)?;
    Ok(())
}

pub fn duty_supervisors(c: &Connection) -> Result<Vec<String>> {
    let mut st =
        c.prepare_cached("SELECT supervisor_id FROM duty_supervisors ORDER BY supervisor_id").map_err(db_err)?;
    let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

pub fn unassigned_patients(c: &Connection, limit: u32) -> Result<Vec<User>> {
    let mut st = c
        .prepare_cached(
            "SELECT u.id, u.username, u.role, u.display_name, u.created_at FROM users u
             WHERE u.role = 'patient' AND NOT EXISTS (SELECT 1 FROM caseloads cl WHERE cl.patient_id = u.id)
             ORDER BY u.created_at, u.id LIMIT ?1",
        )
        .map_err(db_err)?;
    let rows = st.query_map(params![limit.clamp(1, 10_000)], user_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}
