-- Publish/subscribe (RFC 9437): an xTR (by its xTR-ID) subscribed to an
-- EID-prefix, where to notify it, and the nonce sequence shared with it.
-- The nonce is the uint64 bit pattern (SQL has no unsigned 64-bit type).
-- +goose Up
CREATE TABLE subscriptions (
    xtr_id       TEXT NOT NULL,
    instance_id  INTEGER NOT NULL,
    eid          TEXT NOT NULL,
    site_id      TEXT NOT NULL DEFAULT '',
    site         TEXT NOT NULL DEFAULT '',
    itr_rlocs    TEXT NOT NULL DEFAULT '[]',
    port         INTEGER NOT NULL,
    ttl          BIGINT NOT NULL,
    nonce        BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    refreshed_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (xtr_id, instance_id, eid)
);
CREATE INDEX subscriptions_eid ON subscriptions(instance_id, eid);
CREATE INDEX subscriptions_expires ON subscriptions(expires_at);
-- The last xtr.up/xtr.down of each xTR is its locator status at start.
CREATE INDEX events_xtr_type ON events(xtr, type);

-- +goose Down
DROP INDEX events_xtr_type;
DROP TABLE subscriptions;
