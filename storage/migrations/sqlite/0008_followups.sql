-- 0008: crisis follow-up (contract §4.7). Acknowledging a high alert schedules one follow-up
-- (one per alert, ever); one not done by due_at becomes missed and escalates with
-- reason follow_up_missed.

CREATE TABLE followups (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES users (id),
    alert_id      TEXT NOT NULL UNIQUE REFERENCES alerts (id),
    due_at        INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'done', 'missed')),
    done_by       TEXT,
    done_at       INTEGER,
    note          TEXT,
    created_at    INTEGER NOT NULL,
    escalation_id TEXT
);
CREATE INDEX followups_by_patient ON followups (patient_id, created_at);
-- The sweeper's queue: pending follow-ups by deadline.
CREATE INDEX followups_pending_by_due ON followups (due_at) WHERE status = 'pending';

-- An alert escalates at most once for not being acknowledged, and its follow-up at most once
-- for being missed: escalations gain the follow-up they are about, and "one per alert" becomes
-- "one per alert and follow-up". SQLite cannot drop a UNIQUE constraint, so the table is rebuilt.
CREATE TABLE escalations_v7 (
    id          TEXT PRIMARY KEY,
    alert_id    TEXT NOT NULL REFERENCES alerts (id),
    patient_id  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL,
    claimed_by  TEXT,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    note        TEXT,
    followup_id TEXT UNIQUE REFERENCES followups (id)
);
INSERT INTO escalations_v7 (id, alert_id, patient_id, reason, status, claimed_by, created_at, resolved_at, note)
    SELECT id, alert_id, patient_id, reason, status, claimed_by, created_at, resolved_at, note FROM escalations;
DROP TABLE escalations;
ALTER TABLE escalations_v7 RENAME TO escalations;
CREATE UNIQUE INDEX escalations_one_per_alert ON escalations (alert_id) WHERE followup_id IS NULL;
CREATE INDEX escalations_by_patient ON escalations (patient_id, created_at);
CREATE INDEX escalations_unresolved ON escalations (created_at DESC, id) WHERE status IN ('open', 'claimed');
