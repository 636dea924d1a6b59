-- Data connections, query runs (the history) and instance settings.
CREATE TABLE connections (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('postgres', 'mysql', 'sqlite')),
    -- Typed settings as JSON, without the password.
    config      TEXT    NOT NULL,
    -- The password sealed with AES-256-GCM (never returned to the browser).
    secret      TEXT,
    color       TEXT    NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    writable    BOOLEAN NOT NULL DEFAULT FALSE,
    builtin     TEXT,
    created_by  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

CREATE TABLE query_runs (
    id               TEXT    PRIMARY KEY,
    user_id          BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id    BIGINT  REFERENCES connections (id) ON DELETE SET NULL,
    connection_name  TEXT    NOT NULL,
    sql              TEXT    NOT NULL,
    params           TEXT    NOT NULL DEFAULT '[]',
    state            TEXT    NOT NULL,
    error            TEXT,
    row_count        BIGINT,
    truncated        BOOLEAN NOT NULL DEFAULT FALSE,
    elapsed_ms       BIGINT,
    started_at       TEXT    NOT NULL,
    finished_at      TEXT
);
CREATE INDEX query_runs_user_started ON query_runs (user_id, started_at);

CREATE TABLE app_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
