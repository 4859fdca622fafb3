-- 0001: accounts, caseloads, conversations, messages, alerts, escalations, audit log.
-- Times are unix milliseconds (UTC). JSON columns hold serde_json text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,          -- lower-cased username: uniqueness ignores case
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('patient', 'clinician', 'supervisor', 'admin')),
    display_name  TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,                 -- SHA-256 of the bearer token, hex
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX tokens_by_user ON tokens (user_id);

CREATE TABLE caseloads (
    clinician_id TEXT NOT NULL REFERENCES users (id),
    patient_id   TEXT NOT NULL REFERENCES users (id),
    assigned_at  INTEGER NOT NULL,
    PRIMARY KEY (clinician_id, patient_id)
);
CREATE INDEX caseloads_by_patient ON caseloads (patient_id);

CREATE TABLE teams (
    supervisor_id TEXT NOT NULL REFERENCES users (id),
    clinician_id  TEXT NOT NULL REFERENCES users (id),
    joined_at     INTEGER NOT NULL,
    PRIMARY KEY (supervisor_id, clinician_id)
);
CREATE INDEX teams_by_clinician ON teams (clinician_id);

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL REFERENCES users (id),
    started_at      INTEGER NOT NULL,
    last_message_at INTEGER NOT NULL,
    next_seq        INTEGER NOT NULL DEFAULT 1,
    chat_paused     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_by_patient ON conversations (patient_id, last_message_at DESC);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL,
    patient_id      TEXT NOT NULL,
    client_msg_id   TEXT,
    author          TEXT NOT NULL,
    text            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    risk            TEXT,
    finish          TEXT,
    meta            TEXT,
    UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_by_client_id ON messages (patient_id, client_msg_id) WHERE client_msg_id IS NOT NULL;

CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    patient_id      TEXT NOT NULL REFERENCES users (id),
    conversation_id TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    level           TEXT NOT NULL,
    score           REAL NOT NULL,
    reasons         TEXT NOT NULL,
    excerpt         TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    ack_deadline    INTEGER,
    acknowledged_by TEXT,
    acknowledged_at INTEGER,
    note            TEXT
);
CREATE INDEX alerts_by_patient ON alerts (patient_id, created_at);
CREATE INDEX alerts_open_by_deadline ON alerts (ack_deadline) WHERE status = 'open';

CREATE TABLE escalations (
    id          TEXT PRIMARY KEY,
    alert_id    TEXT NOT NULL UNIQUE REFERENCES alerts (id),  -- one escalation per alert, ever
    patient_id  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL,
    claimed_by  TEXT,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    note        TEXT
);
CREATE INDEX escalations_by_patient ON escalations (patient_id, created_at);

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor_id    TEXT,
    actor_role  TEXT,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    remote_addr TEXT,
    detail      TEXT
);
CREATE INDEX audit_by_target ON audit_log (target, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
