-- The result cache (issue 15): finished results of saved insights, shared by every web
-- process, keyed by what decides the rows (insight version, connection and its settings,
-- the compiled SQL and bound values). Reused for the insight's cache time (a dashboard may
-- set its own); bounded in bytes, least recently used first out.
ALTER TABLE insights ADD COLUMN cache_minutes BIGINT;

CREATE TABLE result_cache (
    key         TEXT    PRIMARY KEY,
    insight_id  BIGINT  NOT NULL,
    -- When the rows were read from the database, and when the entry was last served
    -- (milliseconds since 1970, UTC).
    created_ms  BIGINT  NOT NULL,
    used_ms     BIGINT  NOT NULL,
    bytes       BIGINT  NOT NULL,
    -- Columns, row count, truncation and elapsed time (JSON).
    meta        TEXT    NOT NULL,
    -- The result snapshot (a SQLite file), as this process reads it.
    body        BYTEA   NOT NULL
);
CREATE INDEX result_cache_used ON result_cache (used_ms);
CREATE INDEX result_cache_insight ON result_cache (insight_id);
