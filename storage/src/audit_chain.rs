//! The audit log's hash chain (contract §4.9): every entry carries `prev_hash` (the hash of the
//! entry before it, [`GENESIS`] for the first) and `hash`, the SHA-256 of its canonical form plus
//! `prev_hash`. Altering, removing or reordering a stored entry breaks the chain at that entry,
//! which [`verify`] finds and names.
//!
//! The canonical form is the JSON array
//! `[seq, at_ms, actor_id, actor_role, action, target, remote_addr, detail, prev_hash]`
//! (serde_json, no whitespace; absent fields are `null`; `at` in unix milliseconds, the precision
//! both backends store). Each backend has a single writer for its chain (SQLite: the writer
//! transaction; CQL: a compare-and-set on the next `seq`), so `seq` has no gaps.

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::store::{AuditEntry, ChainQuery, ChainedEntry, Store};

/// `prev_hash` of the first entry of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The entry as hashed: [`AuditEntry::at`] truncated to milliseconds.
pub fn canonical(seq: i64, e: &AuditEntry, prev_hash: &str) -> String {
    serde_json::json!([
        seq,
        e.at.timestamp_millis(),
        e.actor_id,
        e.actor_role.map(|r| r.as_str()),
        e.action,
        e.target,
        e.remote_addr,
        e.detail,
        prev_hash
    ])
    .to_string()
}

/// SHA-256 of [`canonical`], lower-case hex.
pub fn hash(seq: i64, e: &AuditEntry, prev_hash: &str) -> String {
    let digest = Sha256::digest(canonical(seq, e, prev_hash).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the stored form of the entry that follows `prev` (`None`: the first of the chain).
pub fn link(prev: Option<(i64, &str)>, mut entry: AuditEntry) -> ChainedEntry {
    entry.at = truncate_ms(entry.at);
    let (seq, prev_hash) = match prev {
        Some((seq, h)) => (seq + 1, h.to_owned()),
        None => (1, GENESIS.to_owned()),
    };
    let hash = hash(seq, &entry, &prev_hash);
    ChainedEntry { seq, entry, prev_hash, hash }
}

fn truncate_ms(t: healing_protocol::Timestamp) -> healing_protocol::Timestamp {
    chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry links to the one before and hashes to its `hash`.
    Intact { entries: u64 },
    /// The first entry that does not: its `seq`, and why.
    Broken { seq: i64, entries_before: u64, reason: String },
}

/// Checks one entry against the one before it (`None` for the first).
pub fn check(prev: Option<&ChainedEntry>, e: &ChainedEntry) -> Option<String> {
    let (want_seq, want_prev) = match prev {
        Some(p) => (p.seq + 1, p.hash.as_str()),
        None => (1, GENESIS),
    };
    if e.seq != want_seq {
        return Some(format!("expected entry {want_seq} next, found {} (an entry is missing)", e.seq));
    }
    if e.prev_hash != want_prev {
        return Some("prev_hash does not match the hash of the entry before it".into());
    }
    if hash(e.seq, &e.entry, &e.prev_hash) != e.hash {
        return Some("its contents do not match its hash (the entry was altered)".into());
    }
    None
}

/// Reads the whole chain from the store, oldest first, and recomputes it.
pub async fn verify(store: &dyn Store) -> Result<Verdict> {
    const PAGE: u32 = 1000;
    let mut prev: Option<ChainedEntry> = None;
    let mut count = 0u64;
    loop {
        let after_seq = prev.as_ref().map_or(0, |p| p.seq);
        let page = store.audit_chain(ChainQuery { after_seq, limit: PAGE, ..ChainQuery::default() }).await?;
        let full = page.len() == PAGE as usize;
        for e in page {
            if let Some(reason) = check(prev.as_ref(), &e) {
                return Ok(Verdict::Broken { seq: e.seq, entries_before: count, reason });
            }
            count += 1;
            prev = Some(e);
        }
        if !full {
            return Ok(Verdict::Intact { entries: count });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now(),
            actor_id: Some("u1".into()),
            actor_role: Some(healing_protocol::Role::Admin),
            action: action.into(),
            target: "patient:p".into(),
            remote_addr: None,
            detail: Some("d".into()),
        }
    }

    #[test]
    fn a_chain_links_and_any_change_breaks_it_at_that_entry() {
        let a = link(None, entry("one"));
        let b = link(Some((a.seq, &a.hash)), entry("two"));
        let c = link(Some((b.seq, &b.hash)), entry("three"));
        assert_eq!((a.seq, a.prev_hash.as_str()), (1, GENESIS));
        assert_eq!(check(None, &a), None);
        assert_eq!(check(Some(&a), &b), None);
        assert_eq!(check(Some(&b), &c), None);
        let mut altered = b.clone();
        altered.entry.detail = Some("changed".into());
        assert!(check(Some(&a), &altered).unwrap().contains("altered"));
        assert!(check(Some(&a), &c).unwrap().contains("missing"));
        assert_eq!(a.hash.len(), 64);
    }
}
