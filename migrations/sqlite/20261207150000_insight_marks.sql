-- What each user opened last and starred (issue 20, the home page): recent and favourite
-- insights, per user. Rows go with the user or the insight.
CREATE TABLE insight_marks (
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    insight_id  BIGINT  NOT NULL REFERENCES insights (id) ON DELETE CASCADE,
    favorite    BOOLEAN NOT NULL DEFAULT FALSE,
    opened_at   TEXT,
    PRIMARY KEY (user_id, insight_id)
);
CREATE INDEX insight_marks_opened ON insight_marks (user_id, opened_at);
