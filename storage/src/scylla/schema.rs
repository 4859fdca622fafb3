//! Keyspace creation and versioned schema migrations.
//!
//! Each file in `migrations/scylla/` is applied once per cluster, in order. A node claims a
//! version in `schema_migrations` with `INSERT ... IF NOT EXISTS` (LWT) before applying it, so two
//! nodes starting together never both apply it; the others wait until the claimant records
//! `applied_at`. The claimant renews its claim every [`HEARTBEAT`]; a claim a waiting node has seen
//! unchanged for [`STALE_CLAIM`] (its node died mid-way) is taken over by compare-and-set, which is
//! safe because every statement is `IF NOT EXISTS`. The state is read first: on a current keyspace
//! no DDL runs.

use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::statement::Consistency;
use scylla::statement::unprepared::Statement;
use scylla::value::CqlTimestamp;

use super::{Replication, ScyllaConfig, exec_err};
use crate::error::{Result, StoreError};

/// `(version, cql)` in ascending order.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/scylla/0001_init.cql")),
    (2, include_str!("../../migrations/scylla/0002_duty_supervisors.cql")),
    (3, include_str!("../../migrations/scylla/0003_risk_episodes.cql")),
    (4, include_str!("../../migrations/scylla/0004_screening_journal.cql")),
    (5, include_str!("../../migrations/scylla/0005_accounts.cql")),
    (6, include_str!("../../migrations/scylla/0006_data_rights.cql")),
    (7, include_str!("../../migrations/scylla/0007_followups.cql")),
];

/// The newest schema version this build knows.
pub const LATEST: i32 = 7;

/// A claim seen unchanged (not renewed) this long without `applied_at` is considered abandoned.
const STALE_CLAIM: Duration = Duration::from_secs(60);
/// How often the node applying a migration renews its claim.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long a node waits for another node's migration before giving up.
const MAX_WAIT: Duration = Duration::from_secs(180);
/// DDL can be slow on a busy cluster.
const DDL_TIMEOUT: Duration = Duration::from_secs(60);

/// Splits a CQL script into statements at `;`, ignoring `;` inside string literals
/// (`'..'` with `''` escapes), quoted identifiers (`".."`), `$$..$$` blocks and comments
/// (`--`, `//`, `/* */`). Comments are dropped; statements are trimmed; empty ones skipped.
pub fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = script.chars().collect();
    let mut i = 0;
    let push = |cur: &mut String, out: &mut Vec<String>| {
        let s = cur.trim();
        if !s.is_empty() {
            out.push(s.to_owned());
        }
        cur.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                cur.push(' ');
                continue;
            }
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                cur.push(' ');
                continue;
            }
            '/' if next == Some('*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
                cur.push(' ');
                continue;
            }
            '\'' | '"' => {
                // A quoted run; a doubled quote is an escaped quote inside it.
                cur.push(c);
                i += 1;
                while i < chars.len() {
                    cur.push(chars[i]);
                    if chars[i] == c {
                        if chars.get(i + 1) == Some(&c) {
                            cur.push(c);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            '$' if next == Some('$') => {
                cur.push_str("$$");
                i += 2;
                while i < chars.len() && !(chars[i] == '$' && chars.get(i + 1) == Some(&'$')) {
                    cur.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    cur.push_str("$$");
                }
                i += 2;
                continue;
            }
            ';' => push(&mut cur, &mut out),
            _ => cur.push(c),
        }
        i += 1;
    }
    push(&mut cur, &mut out);
    out
}

/// Whether a name is safe to splice into CQL unquoted (keyspace names, datacenter names).
pub fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// The replication map of `CREATE KEYSPACE`.
pub fn render_replication(r: &Replication) -> Result<String> {
    match r {
        Replication::Simple { factor } => {
            if *factor == 0 {
                return Err(StoreError::Invalid("replication factor must be at least 1".into()));
            }
            Ok(format!("{{'class': 'SimpleStrategy', 'replication_factor': {factor}}}"))
        }
        Replication::NetworkTopology(dcs) => {
            if dcs.is_empty() {
                return Err(StoreError::Invalid("NetworkTopologyStrategy needs at least one datacenter".into()));
            }
            let mut s = String::from("{'class': 'NetworkTopologyStrategy'");
            for (dc, factor) in dcs {
                if dc.is_empty() || !dc.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
                    return Err(StoreError::Invalid(format!("bad datacenter name {dc:?}")));
                }
                s += &format!(", '{dc}': {factor}");
            }
            s.push('}');
            Ok(s)
        }
    }
}

/// The kind of CQL server, as far as the DDL cares (the `tablets` keyspace option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// ScyllaDB, with the version `system.versions` reports (e.g. `6.2.3-0.20250119.xxx`).
    Scylla { version: String },
    /// A server without `system.versions`: Apache Cassandra (its `system.local` release_version).
    Cassandra { release: String },
}

impl Server {
    /// Whether `CREATE KEYSPACE ... AND tablets = {..}` is understood: ScyllaDB 6.0 or newer
    /// (open source) and 2024.2 or newer (the year-numbered releases). Cassandra and older
    /// ScyllaDB reject the clause.
    pub fn has_tablets(&self) -> bool {
        let Server::Scylla { version } = self else { return false };
        let mut parts = version.split(|c: char| !c.is_ascii_digit());
        let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        match major {
            0..=5 => false,
            6..=999 => true,
            1000..=2023 => false,
            2024 => minor >= 2,
            _ => true,
        }
    }
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Server::Scylla { version } => write!(f, "ScyllaDB {version}"),
            Server::Cassandra { release } => write!(f, "Cassandra {release}"),
        }
    }
}

/// Asks the node which server it is: ScyllaDB answers `system.versions`, Cassandra has no such
/// table (an `Invalid` error). Any other failure is returned: guessing wrong would create the
/// keyspace with the wrong replication engine for good.
pub async fn detect_server(session: &Session) -> Result<Server> {
    let st = Statement::new("SELECT version FROM system.versions WHERE key = 'local'");
    match session.query_unpaged(st, ()).await {
        Ok(r) => {
            let rows = r.into_rows_result().map_err(|e| StoreError::Internal(e.to_string()))?;
            let row: Option<(Option<String>,)> =
                rows.maybe_first_row().map_err(|e| StoreError::Internal(e.to_string()))?;
            Ok(Server::Scylla { version: row.and_then(|r| r.0).unwrap_or_default() })
        }
        Err(ExecutionError::LastAttemptError(RequestAttemptError::DbError(DbError::Invalid, _))) => {
            let st = Statement::new("SELECT release_version FROM system.local WHERE key = 'local'");
            let r = session.query_unpaged(st, ()).await.map_err(|e| exec_err("read system.local", e))?;
            let rows = r.into_rows_result().map_err(|e| StoreError::Internal(e.to_string()))?;
            let row: Option<(Option<String>,)> =
                rows.maybe_first_row().map_err(|e| StoreError::Internal(e.to_string()))?;
            Ok(Server::Cassandra { release: row.and_then(|r| r.0).unwrap_or_default() })
        }
        Err(e) => Err(exec_err("read system.versions", e)),
    }
}

/// `CREATE KEYSPACE IF NOT EXISTS ...` for the configuration, on this server.
pub fn keyspace_ddl(cfg: &ScyllaConfig, server: &Server) -> Result<String> {
    if !valid_identifier(&cfg.keyspace) {
        return Err(StoreError::Invalid(format!(
            "keyspace {:?} must be 1-48 ASCII letters, digits or underscores, starting with a letter",
            cfg.keyspace
        )));
    }
    let mut ddl = format!(
        "CREATE KEYSPACE IF NOT EXISTS {} WITH replication = {} AND durable_writes = true",
        cfg.keyspace,
        render_replication(&cfg.replication)?
    );
    if cfg.disable_tablets && server.has_tablets() {
        // LWT (which seqs, uniqueness and alert transitions rely on) is not supported on
        // tablet-based keyspaces in some ScyllaDB releases. Servers without tablets reject the
        // clause, so it is sent only to those that have them.
        ddl += " AND tablets = {'enabled': false}";
    }
    Ok(ddl)
}

async fn ddl(session: &Session, cql: &str) -> Result<()> {
    let mut st = Statement::new(cql);
    st.set_request_timeout(Some(DDL_TIMEOUT));
    session.query_unpaged(st, ()).await.map_err(|e| exec_err("schema change", e))?;
    session.await_schema_agreement().await.map_err(|e| StoreError::Unavailable(format!("schema agreement: {e}")))?;
    Ok(())
}

type ClaimRow = (Option<CqlTimestamp>, Option<String>, Option<CqlTimestamp>);
/// A claim as a waiting node saw it: owner and `claimed_at` (ms).
type SeenClaim = (Option<String>, Option<i64>);

/// One row of a single-column text query, if any.
async fn exists(session: &Session, cql: &str, values: impl scylla::serialize::row::SerializeRow) -> Result<bool> {
    let r = session.query_unpaged(cql, values).await.map_err(|e| exec_err("read the schema", e))?;
    let rows = r.into_rows_result().map_err(|e| StoreError::Internal(e.to_string()))?;
    Ok(rows.rows_num() > 0)
}

/// The versions recorded as applied.
async fn applied_versions(session: &Session) -> Result<Vec<i32>> {
    let r = session
        .query_unpaged("SELECT version, applied_at FROM schema_migrations", ())
        .await
        .map_err(|e| exec_err("read schema_migrations", e))?;
    let rows = r.into_rows_result().map_err(|e| StoreError::Internal(e.to_string()))?;
    let mut out = Vec::new();
    for row in rows.rows::<(i32, Option<CqlTimestamp>)>().map_err(|e| StoreError::Internal(e.to_string()))? {
        let (version, at) = row.map_err(|e| StoreError::Internal(e.to_string()))?;
        if at.is_some() {
            out.push(version);
        }
    }
    Ok(out)
}

/// Creates the keyspace if missing, switches the session to it and applies pending migrations.
///
/// It reads the state first: a keyspace that exists gets no `CREATE KEYSPACE`, and when every
/// migration is recorded as applied no DDL runs at all (a node joining a current cluster only
/// reads). A migration is claimed in `schema_migrations` by LWT; the claimant renews its claim
/// (`claimed_at`) every [`HEARTBEAT`] while it applies the statements. A waiting node takes a
/// claim over only after watching it stay unchanged for [`STALE_CLAIM`] by its own clock — it
/// never compares timestamps written by another host's clock.
pub async fn migrate(session: &Session, cfg: &ScyllaConfig, server: &Server, node_id: &str) -> Result<()> {
    let ks = cfg.keyspace.clone();
    let keyspace_ddl = keyspace_ddl(cfg, server)?;
    let has_keyspace =
        exists(session, "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?", (ks.clone(),))
            .await?;
    if !has_keyspace {
        ddl(session, &keyspace_ddl).await?;
    }
    // A keyspace or table another node is creating right now can show in `system_schema` before
    // this coordinator can use it; then the (idempotent) DDL is run after all, which waits for it.
    if session.use_keyspace(ks.clone(), false).await.is_err() {
        ddl(session, &keyspace_ddl).await?;
        session
            .use_keyspace(ks.clone(), false)
            .await
            .map_err(|e| StoreError::Unavailable(format!("use keyspace {ks}: {e}")))?;
    }
    const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, \
         applied_at timestamp, claimed_by text, claimed_at timestamp)";
    let has_table = exists(
        session,
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?",
        (ks.clone(), "schema_migrations".to_owned()),
    )
    .await?;
    if !has_table {
        ddl(session, MIGRATIONS_TABLE).await?;
    }
    let applied = match applied_versions(session).await {
        Ok(v) => v,
        Err(first) => {
            tracing::debug!(error = %first, "schema_migrations not readable yet; creating it after all");
            ddl(session, MIGRATIONS_TABLE).await?;
            let mut tries = 0;
            loop {
                match applied_versions(session).await {
                    Ok(v) => break v,
                    Err(_) if tries < 20 => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    };
    if let Some(newer) = applied.iter().copied().filter(|v| *v > LATEST).max() {
        return Err(StoreError::Unavailable(format!(
            "keyspace {ks} has schema version {newer}, newer than this build ({LATEST}); refusing to start"
        )));
    }
    if MIGRATIONS.iter().all(|(v, _)| applied.contains(v)) {
        tracing::debug!(keyspace = %ks, version = LATEST, "schema is current; no DDL");
        return Ok(());
    }

    let prep = |cql: &'static str| async move {
        session.prepare(cql).await.map_err(|e| StoreError::Unavailable(format!("prepare {cql:?}: {e}")))
    };
    let mut read = prep("SELECT applied_at, claimed_by, claimed_at FROM schema_migrations WHERE version = ?").await?;
    read.set_consistency(Consistency::Serial);
    let claim =
        prep("INSERT INTO schema_migrations (version, claimed_by, claimed_at) VALUES (?, ?, ?) IF NOT EXISTS").await?;
    let take_over =
        prep("UPDATE schema_migrations SET claimed_by = ?, claimed_at = ? WHERE version = ? IF claimed_by = ?").await?;
    let renew = prep("UPDATE schema_migrations SET claimed_at = ? WHERE version = ? IF claimed_by = ?").await?;
    let done = prep("UPDATE schema_migrations SET applied_at = ? WHERE version = ? IF claimed_by = ?").await?;
    let now = || CqlTimestamp(chrono::Utc::now().timestamp_millis());

    for (version, script) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let started = Instant::now();
        // The claim as last seen (owner, claimed_at) and since when (this host's clock).
        let mut watched: Option<(SeenClaim, Instant)> = None;
        loop {
            let res = session.execute_unpaged(&read, (*version,)).await.map_err(|e| exec_err("read migration", e))?;
            let res = res.into_rows_result().map_err(|e| StoreError::Internal(e.to_string()))?;
            let row: Option<ClaimRow> = res.maybe_first_row().map_err(|e| StoreError::Internal(e.to_string()))?;
            let mine = match row {
                Some((Some(_), _, _)) => break,
                None => {
                    let r = session
                        .execute_unpaged(&claim, (*version, node_id.to_owned(), now()))
                        .await
                        .map_err(|e| exec_err("claim migration", e))?;
                    super::lwt_applied(r)?
                }
                Some((None, owner, claimed_at)) => {
                    let seen = (owner.clone(), claimed_at.map(|t| t.0));
                    let since = match &watched {
                        Some((prev, since)) if *prev == seen => *since,
                        _ => {
                            watched = Some((seen, Instant::now()));
                            Instant::now()
                        }
                    };
                    if since.elapsed() > STALE_CLAIM {
                        tracing::warn!(version, owner = ?owner, "taking over a schema migration whose claim stopped renewing");
                        let r = session
                            .execute_unpaged(&take_over, (node_id.to_owned(), now(), *version, owner))
                            .await
                            .map_err(|e| exec_err("take over migration", e))?;
                        watched = None;
                        super::lwt_applied(r)?
                    } else {
                        false
                    }
                }
            };
            if mine {
                let heartbeat = async {
                    loop {
                        tokio::time::sleep(HEARTBEAT).await;
                        let r = session.execute_unpaged(&renew, (now(), *version, node_id.to_owned())).await;
                        if !matches!(r.map(super::lwt_applied), Ok(Ok(true))) {
                            tracing::warn!(version, "could not renew the schema migration claim");
                        }
                    }
                };
                let apply = async {
                    for stmt in split_statements(script) {
                        ddl(session, &stmt).await?;
                    }
                    Ok::<_, StoreError>(())
                };
                tokio::select! {
                    r = apply => r?,
                    () = heartbeat => {}
                }
                let r = session
                    .execute_unpaged(&done, (now(), *version, node_id.to_owned()))
                    .await
                    .map_err(|e| exec_err("record migration", e))?;
                if super::lwt_applied(r)? {
                    tracing::info!(version, "applied schema migration");
                } else {
                    tracing::warn!(version, "another node took over this migration while it ran; it re-applies it");
                }
                continue;
            }
            if started.elapsed() > MAX_WAIT {
                return Err(StoreError::Unavailable(format!(
                    "schema migration {version} is being applied by another node; gave up after {MAX_WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn splits_on_semicolons_outside_literals_and_comments() {
        let script = "-- header; with a semicolon\n\
            CREATE TABLE a (x int PRIMARY KEY); // trailing; comment\n\
            INSERT INTO a (x, s) VALUES (1, 'semi;colon ''quoted;''');\n\
            /* block; comment */ SELECT \"odd;name\" FROM a;\n\
            CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE lua AS $$ return 1; $$;\n\
            ;;  \n";
        let got = split_statements(script);
        assert_eq!(
            got,
            vec![
                "CREATE TABLE a (x int PRIMARY KEY)".to_owned(),
                "INSERT INTO a (x, s) VALUES (1, 'semi;colon ''quoted;''')".to_owned(),
                "SELECT \"odd;name\" FROM a".to_owned(),
                "CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE lua AS $$ return 1; $$".to_owned(),
            ]
        );
        assert!(split_statements("-- only a comment\n").is_empty());
        assert_eq!(split_statements("SELECT 1"), vec!["SELECT 1".to_owned()], "last statement without ;");
    }

    #[test]
    fn migrations_are_ordered_and_idempotent() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=LATEST).collect::<Vec<_>>());
        for (v, script) in MIGRATIONS {
            let stmts = split_statements(script);
            assert!(!stmts.is_empty(), "migration {v} is empty");
            for s in stmts {
                let upper = s.to_uppercase();
                assert!(
                    upper.starts_with("CREATE TABLE IF NOT EXISTS ")
                        || upper.starts_with("CREATE INDEX IF NOT EXISTS "),
                    "migration {v}: not an idempotent CREATE ... IF NOT EXISTS: {s}"
                );
                assert!(!upper.contains(" KEYSPACE "), "migration {v} must not name a keyspace: {s}");
                assert_eq!(s.matches('(').count(), s.matches(')').count(), "unbalanced parentheses: {s}");
            }
        }
    }

    #[test]
    fn replication_clauses() {
        assert_eq!(
            render_replication(&Replication::Simple { factor: 1 }).unwrap(),
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        );
        let dcs = BTreeMap::from([("dc1".to_owned(), 3), ("eu-west".to_owned(), 2)]);
        assert_eq!(
            render_replication(&Replication::NetworkTopology(dcs)).unwrap(),
            "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'eu-west': 2}"
        );
        assert!(render_replication(&Replication::Simple { factor: 0 }).is_err());
        assert!(render_replication(&Replication::NetworkTopology(BTreeMap::new())).is_err());
        let evil = BTreeMap::from([("dc1': 1}; DROP KEYSPACE x; --".to_owned(), 1)]);
        assert!(render_replication(&Replication::NetworkTopology(evil)).is_err());
    }

    #[test]
    fn keyspace_ddl_follows_the_config_and_the_server() {
        let scylla6 = Server::Scylla { version: "6.2.3-0.20250119.7dc0a2f1f2d3".into() };
        let cassandra = Server::Cassandra { release: "5.0.9".into() };
        let mut cfg = ScyllaConfig { keyspace: "healing".into(), ..ScyllaConfig::default() };
        assert_eq!(
            keyspace_ddl(&cfg, &scylla6).unwrap(),
            "CREATE KEYSPACE IF NOT EXISTS healing WITH replication = {'class': 'SimpleStrategy', \
             'replication_factor': 1} AND durable_writes = true AND tablets = {'enabled': false}"
        );
        assert_eq!(
            keyspace_ddl(&cfg, &cassandra).unwrap(),
            "CREATE KEYSPACE IF NOT EXISTS healing WITH replication = {'class': 'SimpleStrategy', \
             'replication_factor': 1} AND durable_writes = true",
            "Cassandra rejects the tablets clause"
        );
        cfg.disable_tablets = false;
        assert!(!keyspace_ddl(&cfg, &scylla6).unwrap().contains("tablets"));
        for bad in ["", "1abc", "with-dash", "x; DROP", &"k".repeat(49)] {
            cfg.keyspace = bad.into();
            assert!(keyspace_ddl(&cfg, &cassandra).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn only_scylla_6_and_2024_2_on_have_tablets() {
        let scylla = |v: &str| Server::Scylla { version: v.into() };
        for v in ["6.0.0", "6.2.3-0.20250119.7dc0a2f1f2d3", "2024.2.0", "2025.1.2-0.2025", "7.0.0~dev"] {
            assert!(scylla(v).has_tablets(), "{v}");
        }
        for v in ["5.4.9", "5.2.0-0.20230605", "2024.1.12", "2023.1.0", "", "garbage"] {
            assert!(!scylla(v).has_tablets(), "{v}");
        }
        assert!(!Server::Cassandra { release: "5.0.9".into() }.has_tablets());
    }
}
