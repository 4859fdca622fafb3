-- 0003: lists of what is still waiting for someone (alerts not yet acknowledged, escalations
-- not yet resolved) are filtered by status in the query; these indexes keep them from scanning
-- every closed item in front of an open one.
CREATE INDEX alerts_unacknowledged ON alerts (created_at DESC, id) WHERE status IN ('open', 'escalated');
CREATE INDEX escalations_unresolved ON escalations (created_at DESC, id) WHERE status IN ('open', 'claimed');

