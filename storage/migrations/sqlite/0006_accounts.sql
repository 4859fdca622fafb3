-- 0006: accounts (contract §4.1, issue 13): disabled accounts, and the confusable skeleton of each
-- username (src/identity.rs) so that a lookalike of an existing name is refused by one lookup.

-- An account that may not sign in; disabling also revokes its tokens (src/sqlite/accounts.rs).
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- Filled by create_user; rows written before this migration are filled at start-up
-- (migrations.rs, `backfill_skeletons`). Not UNIQUE: accounts made before lookalikes were
-- refused may already share one; new ones are checked inside the write transaction.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE INDEX users_by_skeleton ON users (username_skeleton);
