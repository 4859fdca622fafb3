//! Durable storage for Healing Space: accounts, tokens, caseloads and teams, conversations and
//! messages, alerts, escalations and the audit log.
//!
//! Layout:
//! - [`store`]: the [`Store`] trait every backend implements, and the records it takes and gives.
//! - [`error`]: [`StoreError`], the only error type callers see.
//! - [`sqlite`]: the embedded default (SQLite, WAL): one writer thread with group commit, a small
//!   pool of read connections on the blocking pool, versioned migrations in `migrations/sqlite/`.
//! - [`scylla`] (feature `scylla`, on by default): the ScyllaDB backend for production, with its
//!   own I/O runtime, prepared statements and versioned migrations in `migrations/scylla/`
//!   (see `docs/scylla.md`).
//! - [`conformance`]: the test suite every backend must pass (used by `tests/` here and by any
//!   future backend).
//!
//! Invariants:
//! - Only this crate knows SQL. Callers speak in records, never in queries.
//! - A write future resolves only after its transaction committed (`synchronous=FULL`), so an
//!   acknowledgement built on it means "durable".
//! - Message `seq` is assigned inside the write transaction from the conversation row, so it has
//!   no gaps or duplicates whatever the concurrency.
//! - State changes of alerts and escalations are conditional updates (`... WHERE status = 'open'`),
//!   so a transition happens at most once, even with several nodes on one store.
//! - The audit log is append-only (enforced by triggers) and hash-chained ([`audit_chain`]).

pub mod audit_chain;
pub mod conformance;
pub mod error;
pub mod identity;
#[cfg(feature = "scylla")]
pub mod scylla;
pub mod sqlite;
pub mod store;

pub use error::StoreError;
pub use sqlite::SqliteStore;
pub use store::*;
