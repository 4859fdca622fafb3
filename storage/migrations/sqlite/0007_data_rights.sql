-- 0007: data rights (contract §4.9): the audit log's hash chain, erasure deadlines, and an index
-- for retention (disabled accounts are 0006's `users.disabled`).

-- The chain (see src/audit_chain.rs). Entries written before this migration are sealed into the
-- chain, in seq order, by the migration step in src/sqlite/migrations.rs.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

-- One erasure request per patient; the deadline lives here and the sweeper reads it.
CREATE TABLE erasures (
    patient_id   TEXT PRIMARY KEY REFERENCES users (id),
    id           TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'erased')),
    requested_by TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    erase_at     INTEGER NOT NULL,
    done_at      INTEGER
);
CREATE INDEX erasures_due ON erasures (erase_at) WHERE status = 'scheduled';

-- Retention purges messages by age.
CREATE INDEX messages_by_created ON messages (created_at);
