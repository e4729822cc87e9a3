-- +goose Up
CREATE TABLE networks (
    instance_id BIGINT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE sites (
    name         TEXT PRIMARY KEY,
    auth_key     TEXT NOT NULL,
    networks     TEXT NOT NULL DEFAULT '[]',
    eid_prefixes TEXT NOT NULL DEFAULT '[]',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE xtrs (
    name            TEXT PRIMARY KEY,
    site            TEXT NOT NULL REFERENCES sites(name),
    rloc            TEXT NOT NULL UNIQUE,
    ovsdb           TEXT NOT NULL DEFAULT '',
    bridge          TEXT NOT NULL DEFAULT 'br-int',
    datapath_type   TEXT NOT NULL DEFAULT '',
    openflow_target TEXT NOT NULL DEFAULT '',
    datapath_id     BIGINT NOT NULL UNIQUE,
    priority        INTEGER NOT NULL DEFAULT 1,
    weight          INTEGER NOT NULL DEFAULT 100,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE ports (
    xtr         TEXT NOT NULL REFERENCES xtrs(name) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES networks(instance_id),
    of_port     INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (xtr, name)
);

CREATE TABLE mappings (
    instance_id INTEGER NOT NULL REFERENCES networks(instance_id),
    eid         TEXT NOT NULL,
    family      TEXT NOT NULL,
    locators    TEXT NOT NULL,
    ttl         INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    site        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (instance_id, eid)
);
CREATE INDEX mappings_site ON mappings(site);

-- The change feed: every change, in commit order, for every replica to follow.
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    time        TIMESTAMPTZ NOT NULL,
    type        TEXT NOT NULL,
    instance_id INTEGER,
    eid         TEXT NOT NULL DEFAULT '',
    site        TEXT NOT NULL DEFAULT '',
    xtr         TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_eid ON events(instance_id, eid);

-- +goose Down
DROP TABLE events;
DROP TABLE mappings;
DROP TABLE ports;
DROP TABLE xtrs;
DROP TABLE sites;
DROP TABLE networks;
