//! Opens the configured storage backend. Scylla credentials come from the environment only
//! (`HEALING_SCYLLA_USER`, `HEALING_SCYLLA_PASSWORD`).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, bail};
use healing_storage::scylla::{Replication, ScyllaConfig, ScyllaStore};
use healing_storage::{SqliteStore, Store};

use crate::config::{StoreArgs, StoreKind};

/// Parses `3` or `dc1:3,dc2:2`.
pub fn parse_replication(s: &str) -> anyhow::Result<Replication> {
    let s = s.trim();
    if let Ok(factor) = s.parse::<u32>() {
        if factor == 0 {
            bail!("replication factor must be at least 1");
        }
        return Ok(Replication::Simple { factor });
    }
    let mut dcs = BTreeMap::new();
    for part in s.split(',') {
        let (dc, n) = part.split_once(':').context("replication must be `N` or `dc:N,dc:N`")?;
        let n: u32 = n.trim().parse().context("replication factor must be a number")?;
        if dc.trim().is_empty() || n == 0 {
            bail!("replication must be `N` or `dc:N,dc:N` with N ≥ 1");
        }
        dcs.insert(dc.trim().to_owned(), n);
    }
    Ok(Replication::NetworkTopology(dcs))
}

/// Opens the store (blocking: call before the server starts).
pub fn open(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    match args.kind {
        StoreKind::Sqlite => {
            let store = SqliteStore::open(&args.data_dir)
                .with_context(|| format!("opening the store in {}", args.data_dir.display()))?;
            Ok(Arc::new(store))
        }
        StoreKind::Scylla => {
            let credentials = match (std::env::var("HEALING_SCYLLA_USER"), std::env::var("HEALING_SCYLLA_PASSWORD")) {
                (Ok(u), Ok(p)) => Some((u, p)),
                _ => None,
            };
            let cfg = ScyllaConfig {
                nodes: args.scylla_nodes.clone(),
                keyspace: args.scylla_keyspace.clone(),
                replication: parse_replication(&args.scylla_replication)?,
                retention_days: args.retention_days,
                credentials,
                ..ScyllaConfig::default()
            };
            let store = ScyllaStore::connect(cfg)
                .with_context(|| format!("connecting to ScyllaDB at {}", args.scylla_nodes.join(",")))?;
            Ok(Arc::new(store))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_forms() {
        assert_eq!(parse_replication("3").unwrap(), Replication::Simple { factor: 3 });
        let nts = parse_replication("dc1:3, dc2:2").unwrap();
        assert_eq!(nts, Replication::NetworkTopology(BTreeMap::from([("dc1".into(), 3), ("dc2".into(), 2)])));
        assert!(parse_replication("0").is_err());
        assert!(parse_replication("dc1").is_err());
        assert!(parse_replication("dc1:x").is_err());
    }
}
