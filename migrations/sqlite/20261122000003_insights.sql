-- Insights (saved queries) in a folder tree, every save kept as a version; trash by
-- deleted_at (restorable) rather than by deleting rows.
CREATE TABLE folders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id   BIGINT  REFERENCES folders (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    created_by  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    -- Set when the folder went to the trash; everything trashed with it shares the stamp.
    deleted_at  TEXT
);
CREATE INDEX folders_parent ON folders (parent_id);

CREATE TABLE insights (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id      BIGINT  REFERENCES folders (id) ON DELETE SET NULL,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    connection_id  BIGINT  REFERENCES connections (id) ON DELETE SET NULL,
    sql            TEXT    NOT NULL,
    -- Parameter specs, default view and drill-down links as JSON.
    params         TEXT    NOT NULL DEFAULT '[]',
    view           TEXT    NOT NULL DEFAULT '{}',
    drill          TEXT    NOT NULL DEFAULT '[]',
    version        BIGINT  NOT NULL DEFAULT 1,
    created_by     BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    updated_by     BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    deleted_at     TEXT
);
CREATE INDEX insights_folder ON insights (folder_id);

CREATE TABLE insight_versions (
    insight_id  BIGINT  NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    version     BIGINT  NOT NULL,
    author_id   BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL,
    -- What changed, in words ("SQL, parameters").
    summary     TEXT    NOT NULL,
    -- The whole insight as saved (JSON).
    body        TEXT    NOT NULL,
    PRIMARY KEY (insight_id, version)
);
