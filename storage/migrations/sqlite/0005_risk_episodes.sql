-- 0005: risk episodes (contract §4.2). A patient's unacknowledged alert takes their later risky
-- messages instead of a new alert being raised for each; the AI is paused per patient.

-- When the episode last changed (NULL for alerts raised before this migration: their created_at).
ALTER TABLE alerts ADD COLUMN updated_at INTEGER;

-- Which alert holds each message (a message is in at most one episode): the guard that makes
-- re-screening idempotent. message_at orders an alert's message_ids, oldest first.
CREATE TABLE alert_messages (
    message_id TEXT PRIMARY KEY,
    alert_id   TEXT NOT NULL REFERENCES alerts (id),
    message_at INTEGER NOT NULL
);
CREATE INDEX alert_messages_by_alert ON alert_messages (alert_id, message_at);
-- Alerts raised before episodes hold their own message (the first alert of a message wins).
INSERT OR IGNORE INTO alert_messages (message_id, alert_id, message_at)
    SELECT message_id, id, created_at FROM alerts ORDER BY created_at;

-- The patient's unacknowledged alert, found in one step.
CREATE INDEX alerts_unacknowledged_by_patient ON alerts (patient_id, created_at)
    WHERE status IN ('open', 'escalated');

-- Patients whose AI is paused after a high-risk message, until a clinician resumes it; a
-- conversation started while paused starts paused.
CREATE TABLE patient_pauses (
    patient_id TEXT PRIMARY KEY REFERENCES users (id),
    paused_at  INTEGER NOT NULL
);
