-- 0004: duty supervisors (contract §4.3), who cover every patient with no care team.
CREATE TABLE duty_supervisors (
    supervisor_id TEXT PRIMARY KEY REFERENCES users (id),
    since         INTEGER NOT NULL
);
