package controller

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/store"
)

// Event types of multihoming and fast failover.
const (
	EvXTRDrained   = "xtr.drained"   // an operator took an xTR out of service
	EvXTRUndrained = "xtr.undrained" // and put it back
	// EvBFDStatus carries one xTR's view of its BFD sessions with the
	// other RLOCs (BFDReport); each replaces the xTR's previous one.
	EvBFDStatus = "bfd.status"
)

// SetDrained drains an xTR (drained true) or puts it back in service. A
// drained xTR is never a designated forwarder, and its locator goes out
// with priority pipeline.DrainPriority in every switch's flows and in
// Map-Replies, so remote sites send to its site's other xTRs while it
// still forwards what reaches it. Draining a drained xTR changes nothing
// and writes no event. It returns the xTR and the feed position that
// includes the change (0 when nothing changed).
func (c *Controller) SetDrained(ctx context.Context, name string, drained bool) (XTR, int64, error) {
	var x XTR
	changed := false
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var row store.XTR
		if err := tx.Where("name = ?", name).First(&row).Error; isNotFound(err) {
			return nil, notFound("name", "no xTR named %q", name)
		} else if err != nil {
			return nil, fmt.Errorf("find xtr: %w", err)
		}
		var err error
		if x, err = xtrFromRow(row); err != nil {
			return nil, err
		}
		if changed = row.Drained != drained; !changed {
			return nil, nil
		}
		if err := tx.Model(&store.XTR{}).Where("name = ?", name).Update("drained", drained).Error; err != nil {
			return nil, fmt.Errorf("drain xtr: %w", err)
		}
		x.Drained = drained
		typ := EvXTRUndrained
		if drained {
			typ = EvXTRDrained
		}
		ev := newEvent(typ, x)
		ev.Site, ev.XTR = x.Site, x.Name
		return []store.Event{ev}, nil
	})
	if err != nil || !changed {
		return x, 0, err
	}
	return x, c.LastEventID(), nil
}

// freeBFDOFPort is the lowest BFD port number no xTR has.
func freeBFDOFPort(tx *gorm.DB) (uint32, error) {
	var used []uint32
	if err := tx.Model(&store.XTR{}).Order("bfd_ofport").Pluck("bfd_ofport", &used).Error; err != nil {
		return 0, fmt.Errorf("list bfd ports: %w", err)
	}
	next := uint32(pipeline.FirstBFDOFPort)
	for _, u := range used {
		if u == next {
			next++
		}
	}
	if next > pipeline.LastBFDOFPort {
		return 0, conflict("name", "no BFD port number left for another xTR (at most %d xTRs)",
			pipeline.LastBFDOFPort-pipeline.FirstBFDOFPort+1)
	}
	return next, nil
}
