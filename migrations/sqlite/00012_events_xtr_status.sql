-- +goose Up
-- Only status events (xtr.up, xtr.down, bfd.status) are looked up by xTR:
-- the last one of each xTR is its state at start. Indexing every event by
-- xTR made each new registered EID (whose event names the registering
-- ITR) pay an index insert at one of many places, a seventh of its write.
-- The queries repeat the WHERE clause verbatim so both databases use it.
DROP INDEX events_xtr_type;
CREATE INDEX events_xtr_status ON events(xtr, id) WHERE type IN ('xtr.up', 'xtr.down', 'bfd.status');

-- +goose Down
DROP INDEX events_xtr_status;
CREATE INDEX events_xtr_type ON events(xtr, type);
