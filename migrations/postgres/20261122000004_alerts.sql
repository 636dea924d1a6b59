-- Alerts on insights, their notification channels, and a durable record of every scheduled
-- evaluation (one row per alert and scheduled time) and of every delivery it caused.

-- A Slack webhook, an email list or a generic webhook. The configuration (URLs, addresses,
-- signing secret) is sealed with the instance key; `summary` is the part that may be shown.
CREATE TABLE alert_channels (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    sealed      TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    created_by  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE alerts (
    id                  BIGSERIAL PRIMARY KEY,
    insight_id          BIGINT  NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    -- The insight's parameter values the alert runs with (URL form, JSON).
    params              TEXT    NOT NULL DEFAULT '{}',
    -- Rule and state policy (pending_for, cooldown, no-data) as JSON.
    rule                TEXT    NOT NULL,
    policy              TEXT    NOT NULL,
    cron                TEXT    NOT NULL,
    timezone            TEXT    NOT NULL,
    -- Channel ids (JSON array).
    channels            TEXT    NOT NULL DEFAULT '[]',
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    mute_until          TIMESTAMPTZ,
    owner_id            BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    -- The state machine's memory (JSON) and its one-word summary for lists.
    state               TEXT    NOT NULL DEFAULT '{}',
    state_label         TEXT    NOT NULL DEFAULT 'Ok',
    last_evaluated_at   TIMESTAMPTZ,
    -- The latest scheduled time a run was created for; the scheduler moves it forward only
    -- from the value it read, so two schedulers create one run.
    last_scheduled_for  TIMESTAMPTZ,
    next_run_at         TIMESTAMPTZ NOT NULL,
    -- Ticks skipped because the previous evaluation of this alert was still running.
    skipped_overlaps    BIGINT  NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX alerts_insight ON alerts (insight_id);
CREATE INDEX alerts_due ON alerts (next_run_at) WHERE enabled;

-- One evaluation: a scheduled tick (unique per alert) or an "evaluate now".
CREATE TABLE alert_runs (
    id             BIGSERIAL PRIMARY KEY,
    alert_id       BIGINT  NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    scheduled_for  TIMESTAMPTZ NOT NULL,
    manual         BOOLEAN NOT NULL DEFAULT FALSE,
    -- queued, running, done, skipped
    status         TEXT    NOT NULL DEFAULT 'queued',
    attempts       BIGINT  NOT NULL DEFAULT 0,
    -- A worker holds a running run until this time; after it, another may take it over.
    lease_until    TIMESTAMPTZ,
    worker         TEXT,
    started_at     TIMESTAMPTZ,
    -- Set in the transaction that stored the new state and the deliveries: a run taken
    -- over after this point only sends what is still pending.
    evaluated_at   TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    state_label    TEXT,
    detail         TEXT,
    error          TEXT,
    row_count      BIGINT,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (alert_id, scheduled_for)
);
-- The same alert never runs twice at once.
CREATE UNIQUE INDEX alert_runs_one_running ON alert_runs (alert_id) WHERE status = 'running';
CREATE INDEX alert_runs_status ON alert_runs (status, lease_until);

-- One notification to one channel: recorded (pending) with the state change, then sent.
CREATE TABLE alert_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    run_id           BIGINT  NOT NULL REFERENCES alert_runs (id) ON DELETE CASCADE,
    alert_id         BIGINT  NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id       BIGINT  REFERENCES alert_channels (id) ON DELETE SET NULL,
    channel_name     TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    instance         TEXT    NOT NULL DEFAULT '',
    message          TEXT    NOT NULL,
    -- pending, sent, failed
    status           TEXT    NOT NULL DEFAULT 'pending',
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    lease_until      TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    UNIQUE (run_id, channel_name, instance, kind)
);
CREATE INDEX alert_deliveries_pending ON alert_deliveries (status, next_attempt_at);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id, created_at);
