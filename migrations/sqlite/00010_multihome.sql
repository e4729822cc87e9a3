-- Multihomed sites and fast RLOC failover. An xTR may be drained for
-- maintenance: it is then never a designated forwarder and its locator is
-- advertised with priority 254, so traffic moves to the other xTRs of its
-- site. bfd_ofport is the OpenFlow port number every other bridge gives
-- its BFD session with this xTR's RLOC (60000 and up); xTRs that exist
-- already are numbered in name order.
-- +goose Up
ALTER TABLE xtrs ADD COLUMN drained BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE xtrs ADD COLUMN bfd_ofport INTEGER NOT NULL DEFAULT 0;
UPDATE xtrs SET bfd_ofport = 60000 + (SELECT COUNT(*) FROM xtrs AS o WHERE o.name < xtrs.name);
CREATE UNIQUE INDEX xtrs_bfd_ofport ON xtrs(bfd_ofport);

-- +goose Down
DROP INDEX xtrs_bfd_ofport;
ALTER TABLE xtrs DROP COLUMN bfd_ofport;
ALTER TABLE xtrs DROP COLUMN drained;
