-- 0002: find patient messages whose screening never completed (a node crashed between
-- acknowledging and screening them). Partial: it holds only those rows, so it stays tiny.
CREATE INDEX messages_unscreened ON messages (created_at) WHERE risk IS NULL AND author = 'patient';
