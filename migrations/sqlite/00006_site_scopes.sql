-- Registration authority: a site may register MAC EIDs only inside its MAC
-- scope (or any MAC when any_mac is set) and, when rloc_prefixes is not
-- empty, only RLOCs inside it.
-- +goose Up
ALTER TABLE sites ADD COLUMN mac_prefixes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sites ADD COLUMN any_mac BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sites ADD COLUMN rloc_prefixes TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE sites DROP COLUMN rloc_prefixes;
ALTER TABLE sites DROP COLUMN any_mac;
ALTER TABLE sites DROP COLUMN mac_prefixes;
