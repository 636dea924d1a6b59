-- Dashboards (issue 15): tiles of insights on a grid with filters, kept in the insights'
-- folder tree, every save kept as a version, trash by deleted_at. The owner (who created
-- it) may change it even as a viewer; editors and admins may change any.
CREATE TABLE dashboards (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id    BIGINT  REFERENCES folders (id) ON DELETE SET NULL,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    -- The whole draft (filters and tiles) as JSON.
    body         TEXT    NOT NULL,
    version      BIGINT  NOT NULL DEFAULT 1,
    owner_id     BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    updated_by   BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    deleted_at   TEXT
);
CREATE INDEX dashboards_folder ON dashboards (folder_id);

CREATE TABLE dashboard_versions (
    dashboard_id  BIGINT  NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    version       BIGINT  NOT NULL,
    author_id     BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    summary       TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    PRIMARY KEY (dashboard_id, version)
);
