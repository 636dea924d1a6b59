-- One-time links an admin makes (issue 20): invitations that create an account and password
-- resets. Only a SHA-256 of the token is kept; a link works once, until it expires.
CREATE TABLE account_links (
    token_hash  TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    role        TEXT,
    user_id     BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    created_by  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT
);
CREATE INDEX account_links_email ON account_links (email);
