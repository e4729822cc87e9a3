-- Scoped API tokens (only their SHA-256 is stored), the actor that made
-- each change, and how far the retention policy has pruned the feed.
-- +goose Up
ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT '';

CREATE TABLE api_tokens (
    name         TEXT PRIMARY KEY,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    last_used_at TIMESTAMPTZ
);

-- One row: every event with id <= pruned_through has been deleted on purpose.
CREATE TABLE feed_state (
    id             INTEGER PRIMARY KEY,
    pruned_through BIGINT NOT NULL DEFAULT 0
);
INSERT INTO feed_state (id, pruned_through) VALUES (1, 0);

-- +goose Down
DROP TABLE feed_state;
DROP TABLE api_tokens;
ALTER TABLE events DROP COLUMN actor;
