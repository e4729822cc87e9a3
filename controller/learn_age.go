package controller

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// Age withdraws a learned MAC that fell silent on (xtr, port) — its
// table-10 flow idled out — together with the IP EIDs bound to it. A
// record that has since moved elsewhere is left alone. It reports whether
// anything was withdrawn.
func (c *Controller) Age(ctx context.Context, xtr, port string, iid uint32, mac mapping.MAC, idle time.Duration) (bool, error) {
	ctx = OrActor(ctx, ActorLearning)
	eid := mapping.MACEID(iid, mac)
	if r, ok := c.idx.Get(eid); !ok || r.Origin != mapping.OriginLearned || r.XTR != xtr || r.Port != port {
		return false, nil
	}
	var aged bool
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		aged = false
		old, err := findRecord(tx, eid)
		if err != nil || old == nil || old.Origin != mapping.OriginLearned || old.XTR != xtr || old.Port != port {
			return nil, err
		}
		aged = true
		return withdrawLearned(tx, *old, map[string]any{"reason": "aged", "idle_seconds": idle.Seconds()})
	})
	if err != nil {
		return false, fmt.Errorf("age %s on %s/%s: %w", mac, xtr, port, err)
	}
	return aged, nil
}

// withdrawLearned deletes a learned MAC record and the learned IP EIDs
// bound to it, with one mapping.deleted event each.
func withdrawLearned(tx *gorm.DB, mac mapping.Record, extra map[string]any) ([]store.Event, error) {
	var rows []store.Mapping
	if err := tx.Where("instance_id = ? AND (eid = ? OR (mac = ? AND origin = ?))", mac.EID.IID, mac.EID.Address(),
		mac.EID.MAC.String(), string(mapping.OriginLearned)).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find learned: %w", err)
	}
	evs := make([]store.Event, 0, len(rows))
	for _, row := range rows {
		r, err := recordFromRow(row)
		if err != nil {
			return nil, err
		}
		if err := tx.Delete(&row).Error; err != nil {
			return nil, fmt.Errorf("delete mapping: %w", err)
		}
		evs = append(evs, recordEvent(EvMappingDeleted, r, extra))
	}
	return evs, nil
}

// SweepLearned withdraws learned MACs whose access port is no longer bound
// and that have not changed for at least minAge: with the port gone there
// is no flow left to idle out. It returns how many MACs it withdrew.
func (c *Controller) SweepLearned(ctx context.Context, minAge time.Duration) (int, error) {
	ctx = OrActor(ctx, ActorLearning)
	cutoff := time.Now().Add(-minAge)
	var stale []mapping.Record
	c.idx.Range(func(r mapping.Record) bool {
		if r.Origin == mapping.OriginLearned && r.EID.Family() == mapping.FamilyMAC && r.UpdatedAt.Before(cutoff) {
			c.mu.RLock()
			_, bound := c.ports[r.XTR][r.Port]
			c.mu.RUnlock()
			if !bound {
				stale = append(stale, r)
			}
		}
		return true
	})
	n := 0
	for _, r := range stale {
		done, err := c.sweepOne(ctx, r)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// sweepOne withdraws r, seen stale, unless it changed meanwhile.
func (c *Controller) sweepOne(ctx context.Context, r mapping.Record) (bool, error) {
	var done bool
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		done = false
		old, err := findRecord(tx, r.EID)
		// The version alone is not enough: deleted and made static again
		// by an operator, the record starts over at version 1.
		if err != nil || old == nil || old.Version != r.Version || old.Origin != mapping.OriginLearned {
			return nil, err
		}
		done = true
		return withdrawLearned(tx, *old, map[string]any{"reason": "port unbound"})
	})
	if err != nil {
		return false, fmt.Errorf("sweep %s: %w", r.EID.Address(), err)
	}
	return done, nil
}

// ClearDuplicate unfreezes a MAC flagged duplicate, so its next move is
// followed again; moves before the clear no longer count.
func (c *Controller) ClearDuplicate(ctx context.Context, iid int64, eidText string) (mapping.Record, error) {
	if err := validIID("instance_id", iid); err != nil {
		return mapping.Record{}, err
	}
	eid, err := mapping.ParseEID(uint32(iid), eidText)
	if err != nil || eid.Family() != mapping.FamilyMAC {
		return mapping.Record{}, invalid("eid", "%q is not a MAC EID", eidText)
	}
	var rec mapping.Record
	err = c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		old, err := findRecord(tx, eid)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, notFound("eid", "no mapping for %s in instance-id %d", eid.Address(), iid)
		}
		rec = *old
		if !old.Frozen {
			return nil, nil
		}
		rec.Frozen = false
		rec.Version++
		rec.UpdatedAt = time.Now().UTC()
		if err := saveRow(tx, rec); err != nil {
			return nil, err
		}
		return []store.Event{recordEvent(EvMappingUpdated, rec, nil),
			recordEvent(EvDuplicateCleared, rec, nil)}, nil
	})
	return rec, err
}
