-- Users, the audit log and the one-time setup marker.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    session_epoch  BIGINT  NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    last_login_at  TEXT
);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT    NOT NULL,
    user_id  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    action   TEXT    NOT NULL,
    ip       TEXT,
    detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_user_at ON audit_log (user_id, at);

CREATE TABLE instance_setup (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    completed_at  TEXT NOT NULL
);
