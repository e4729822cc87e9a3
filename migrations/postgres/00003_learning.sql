-- Learned IP EIDs are bound to the MAC that announced them (ARP/ND), and a
-- MAC that moves too often is frozen at its last site until cleared.
-- +goose Up
ALTER TABLE mappings ADD COLUMN mac TEXT NOT NULL DEFAULT '';
ALTER TABLE mappings ADD COLUMN frozen BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX mappings_mac ON mappings(instance_id, mac);
CREATE INDEX events_eid_type ON events(instance_id, eid, type);

-- +goose Down
DROP INDEX events_eid_type;
DROP INDEX mappings_mac;
ALTER TABLE mappings DROP COLUMN frozen;
ALTER TABLE mappings DROP COLUMN mac;
