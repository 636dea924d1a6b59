-- What viewers may do with alerts (issue 13): a channel an editor marked for everyone is
-- the only kind a viewer's alert may send to, and "Evaluate now" is limited per user, so
-- each manual run records who asked for it.
ALTER TABLE alert_channels ADD COLUMN for_everyone BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE alert_runs ADD COLUMN requested_by BIGINT REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX alert_runs_requested ON alert_runs (requested_by, created_at) WHERE manual;
