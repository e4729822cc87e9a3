-- Each network (instance-id) has a forwarding mode: push (every remote host
-- installed on every switch serving it, the default), on-demand (a switch
-- holds only the remote hosts its local hosts send to: an OpenFlow
-- map-cache), or auto (on-demand once the network holds more than
-- auto_threshold hosts, push below).
-- +goose Up
ALTER TABLE networks ADD COLUMN forwarding_mode TEXT NOT NULL DEFAULT 'push'
    CHECK (forwarding_mode IN ('push', 'on-demand', 'auto'));
ALTER TABLE networks ADD COLUMN auto_threshold BIGINT NOT NULL DEFAULT 10000;
-- events_eid_type (instance_id, eid, type) serves every query events_eid
-- served; every event written updated both.
DROP INDEX events_eid;

-- +goose Down
CREATE INDEX events_eid ON events(instance_id, eid);
ALTER TABLE networks DROP COLUMN auto_threshold;
ALTER TABLE networks DROP COLUMN forwarding_mode;
