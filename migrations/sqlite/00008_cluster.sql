-- Controller replicas sharing this database: the change feed hands out its
-- positions under one row lock, a lease row elects the replica that
-- programs the switches, and every replica reports itself by heartbeat.
-- SQLite is single-node (one writer, always leader): the lease and replica
-- tables stay empty and exist so both schemas hold the same tables.
-- +goose Up

-- The next event ids are taken from this row in the committing transaction,
-- as its last statement before COMMIT. Its row lock is held until the
-- transaction ends, so ids are gapless (a rollback gives them back) and in
-- commit order (the next writer waits for this one to commit): a follower
-- never waits on a hole and never skips an event that commits late.
CREATE TABLE feed_position (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_id INTEGER NOT NULL
);
-- Start after every id ever handed out, also those of events since deleted.
INSERT INTO feed_position (id, last_id)
SELECT 1, MAX(COALESCE((SELECT MAX(id) FROM events), 0),
              COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0));

-- The leader's lease. Deadlines are the database's clock; epoch grows with
-- every new holder and is the OpenFlow generation-id the leader claims.
CREATE TABLE cluster_lease (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    holder      TEXT NOT NULL DEFAULT '',
    incarnation TEXT NOT NULL DEFAULT '',
    epoch       INTEGER NOT NULL DEFAULT 0,
    acquired_at TIMESTAMP,
    expires_at  TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00+00'
);
INSERT INTO cluster_lease (id) VALUES (1);

CREATE TABLE cluster_replicas (
    id               TEXT PRIMARY KEY,
    address          TEXT NOT NULL DEFAULT '',
    role             TEXT NOT NULL DEFAULT '',
    generation       INTEGER NOT NULL DEFAULT 0,
    applied_event_id INTEGER NOT NULL DEFAULT 0,
    started_at       TIMESTAMP NOT NULL,
    heartbeat_at     TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE cluster_replicas;
DROP TABLE cluster_lease;
DROP TABLE feed_position;
