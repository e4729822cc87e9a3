-- Registered and learned mappings need to know who sent them, where the
-- host sits, whether it may be proxied and when it expires.
-- +goose Up
ALTER TABLE mappings ADD COLUMN xtr TEXT NOT NULL DEFAULT '';
ALTER TABLE mappings ADD COLUMN port TEXT NOT NULL DEFAULT '';
ALTER TABLE mappings ADD COLUMN no_proxy BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE mappings ADD COLUMN expires_at TIMESTAMPTZ;
CREATE INDEX mappings_origin ON mappings(origin);
CREATE INDEX mappings_expires ON mappings(expires_at);

-- +goose Down
DROP INDEX mappings_expires;
DROP INDEX mappings_origin;
ALTER TABLE mappings DROP COLUMN expires_at;
ALTER TABLE mappings DROP COLUMN no_proxy;
ALTER TABLE mappings DROP COLUMN port;
ALTER TABLE mappings DROP COLUMN xtr;
