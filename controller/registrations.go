package controller

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// Touch moves the expiry of a registered mapping: what a Map-Register that
// changes nothing does.
type Touch struct {
	EID     mapping.EID
	Expires time.Time
}

const (
	// touchOpRows bounds the rows one write op updates, so a large flush
	// does not hold the writer away from real changes for long.
	touchOpRows = 20000
	// touchStmtRows bounds the EIDs of one UPDATE ... IN (...) statement.
	touchStmtRows = 500
	// expireOpRows bounds the records one expiry op deletes (and the
	// events it writes).
	expireOpRows = 500
)

// TouchMappings persists refreshed expiry times of registered mappings
// (write-behind for the Map-Server). Only the expires_at column changes:
// the record, its version and the change feed stay as they are, since
// nothing a reader can see has changed. Rows that are no longer
// registered are left alone. Touches sharing an expiry time and
// instance-id are written with one statement.
func (c *Controller) TouchMappings(ctx context.Context, touches []Touch) error {
	type group struct {
		exp time.Time
		iid uint32
	}
	groups := map[group][]string{}
	for _, t := range touches {
		g := group{t.Expires.UTC(), t.EID.IID}
		groups[g] = append(groups[g], t.EID.Address())
	}
	keys := make([]group, 0, len(groups))
	for g := range groups {
		keys = append(keys, g)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].exp.Before(keys[j].exp) })
	var batch []func(tx *gorm.DB) error
	rows := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		stmts := batch
		batch, rows = nil, 0
		return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
			for _, s := range stmts {
				if err := s(tx); err != nil {
					return nil, err
				}
			}
			return nil, nil
		})
	}
	for _, g := range keys {
		// In key order, rows that share a page are updated together: far
		// fewer pages to write than in arrival order.
		eids := groups[g]
		sort.Strings(eids)
		for len(eids) > 0 {
			chunk := eids[:min(len(eids), touchStmtRows)]
			eids = eids[len(chunk):]
			exp, iid := g.exp, g.iid
			batch = append(batch, func(tx *gorm.DB) error {
				// Only ever later: replicas flush the refreshes they
				// received in any order.
				err := tx.Exec("UPDATE mappings SET expires_at = ? WHERE origin = ? AND instance_id = ? AND eid IN ? AND (expires_at IS NULL OR expires_at < ?)",
					exp, string(mapping.OriginRegistered), iid, chunk, exp).Error
				if err != nil {
					return fmt.Errorf("touch mappings: %w", err)
				}
				return nil
			})
			if rows += len(chunk); rows >= touchOpRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// ExpireRegistrations deletes the registered mappings whose expiry time is
// before now (RFC 9301 §8.2: a registration not refreshed lapses). Each
// deletion goes through the change feed as mapping.deleted, so every
// replica and switch drops the record. It returns how many were deleted.
func (c *Controller) ExpireRegistrations(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		var n int
		var more bool
		err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
			var rows []store.Mapping
			// "origin || ''" keeps SQLite on the expires_at index: nearly
			// every row may be registered, so the origin index is useless.
			if err := tx.Where("origin || '' = ? AND expires_at IS NOT NULL AND expires_at < ?",
				string(mapping.OriginRegistered), now.UTC()).Limit(expireOpRows).Find(&rows).Error; err != nil {
				return nil, fmt.Errorf("find expired registrations: %w", err)
			}
			evs := make([]store.Event, 0, len(rows))
			for _, r := range rows {
				rec, err := recordFromRow(r)
				if err != nil {
					return nil, err
				}
				// The expiry and version are checked again by the delete:
				// another replica may have refreshed or removed the row
				// since the select, and then there is nothing to announce.
				del := tx.Where("instance_id = ? AND eid = ? AND version = ? AND expires_at < ?", r.InstanceID, r.EID,
					r.Version, now.UTC()).Delete(&store.Mapping{})
				if del.Error != nil {
					return nil, fmt.Errorf("delete expired registration: %w", del.Error)
				}
				if del.RowsAffected == 0 {
					continue
				}
				ev := newEvent(EvMappingDeleted, rec)
				ev.InstanceID, ev.EID, ev.Site, ev.XTR = iidPtr(r.InstanceID), r.EID, r.Site, r.XTR
				evs = append(evs, ev)
			}
			n = len(evs)
			more = len(rows) == expireOpRows
			return evs, nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			return total, nil
		}
	}
}
