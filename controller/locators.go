package controller

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/store"
)

// locStatus is what the controller knows about its xTRs' reachability: an
// xTR whose OpenFlow connection went down (xtr.down in the feed, until the
// next xtr.up) has its RLOC marked down. It follows the feed, so every
// replica agrees, and it is rebuilt at start from the last status event of
// each xTR. An xTR never heard of counts as up. The set of down RLOCs is
// swapped atomically so the resolver's hot path reads it without a lock.
type locStatus struct {
	mu      sync.Mutex
	xtrDown map[string]bool
	bfd     map[string]BFDReport // each xTR's last BFD report (bfd.go)
	down    atomic.Pointer[map[netip.Addr]struct{}]
	drained atomic.Pointer[map[netip.Addr]struct{}] // RLOCs of drained xTRs
}

// replace takes o's xTR status, for a rebuilt replica; the caller then
// recomputes the down RLOCs.
func (s *locStatus) replace(o *locStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.xtrDown, s.bfd = o.xtrDown, o.bfd
}

func newLocStatus() *locStatus {
	s := &locStatus{xtrDown: map[string]bool{}, bfd: map[string]BFDReport{}}
	empty, none := map[netip.Addr]struct{}{}, map[netip.Addr]struct{}{}
	s.down.Store(&empty)
	s.drained.Store(&none)
	return s
}

// LocatorDown reports whether the controller knows the RLOC a to be
// unreachable: its xTR's OpenFlow connection is down, or the BFD sessions
// of the other xTRs say so (bfdDown). It is the one place that decides.
func (c *Controller) LocatorDown(a netip.Addr) bool {
	m := *c.locs.down.Load()
	if len(m) == 0 {
		return false
	}
	_, down := m[a.Unmap()]
	return down
}

// AnyLocatorDown is a cheap test for the common case that every locator is up.
func (c *Controller) AnyLocatorDown() bool { return len(*c.locs.down.Load()) > 0 }

// XTRDown reports whether an xTR's RLOC is marked down.
func (c *Controller) XTRDown(name string) bool {
	c.locs.mu.Lock()
	defer c.locs.mu.Unlock()
	return c.locs.xtrDown[name]
}

// LiveLocators returns ls with Up cleared on every locator the controller
// knows to be down and the priority of a drained xTR's locator raised to
// pipeline.DrainPriority; ls itself when none is either (the index shares
// locator sets, so they are never modified in place).
func (c *Controller) LiveLocators(ls []mapping.Locator) []mapping.Locator {
	if !c.AnyLocatorDown() && !c.AnyLocatorDrained() {
		return ls
	}
	var out []mapping.Locator
	for i, l := range ls {
		down := l.Up && c.LocatorDown(l.Addr)
		drained := l.Priority < pipeline.DrainPriority && c.LocatorDrained(l.Addr)
		if !down && !drained {
			continue
		}
		if out == nil {
			out = append([]mapping.Locator(nil), ls...)
		}
		if down {
			out[i].Up = false
		}
		if drained {
			out[i].Priority = pipeline.DrainPriority
		}
	}
	if out == nil {
		return ls
	}
	return out
}

// liveRecord applies LiveLocators to a record shown to a reader.
func (c *Controller) liveRecord(r mapping.Record) mapping.Record {
	r.Locators = c.LiveLocators(r.Locators)
	return r
}

// setXTRStatus records an xtr.up or xtr.down and rebuilds the down set.
func (c *Controller) setXTRStatus(name string, down bool) {
	c.locs.mu.Lock()
	defer c.locs.mu.Unlock()
	if down {
		c.locs.xtrDown[name] = true
	} else {
		delete(c.locs.xtrDown, name)
	}
	c.rebuildDownLocked()
}

// rebuildDownLocked recomputes the down RLOCs from the xTRs' status; the
// caller holds locs.mu. It runs again when xTRs come and go, since an
// RLOC belongs to the xTR that has it now.
func (c *Controller) rebuildDownLocked() {
	c.mu.RLock()
	m := c.bfdDown()
	for name := range c.locs.xtrDown {
		if x, ok := c.xtrs[name]; ok {
			m[x.RLOC] = struct{}{}
		}
	}
	drained := map[netip.Addr]struct{}{}
	for _, x := range c.xtrs {
		if x.Drained {
			drained[x.RLOC] = struct{}{}
		}
	}
	c.mu.RUnlock()
	c.locs.down.Store(&m)
	c.locs.drained.Store(&drained)
}

// LocatorDrained reports whether RLOC a is a drained xTR's.
func (c *Controller) LocatorDrained(a netip.Addr) bool {
	m := *c.locs.drained.Load()
	if len(m) == 0 {
		return false
	}
	_, ok := m[a.Unmap()]
	return ok
}

// AnyLocatorDrained is a cheap test for the common case that no xTR is drained.
func (c *Controller) AnyLocatorDrained() bool { return len(*c.locs.drained.Load()) > 0 }

func (c *Controller) rebuildDown() {
	c.locs.mu.Lock()
	defer c.locs.mu.Unlock()
	c.rebuildDownLocked()
}

// loadLocatorStatus reads the last status event of every xTR.
func (c *Controller) loadLocatorStatus(ctx context.Context) error {
	for name := range c.xtrs {
		var rows []store.Event
		err := c.db.WithContext(ctx).Select("type").Where("xtr = ? AND "+statusEvents+" AND type IN ?", name, []string{EvXTRUp, EvXTRDown}).
			Order("id desc").Limit(1).Find(&rows).Error
		if err != nil {
			return fmt.Errorf("load xtr status: %w", err)
		}
		if len(rows) == 1 && rows[0].Type == EvXTRDown {
			c.locs.xtrDown[name] = true
		}
	}
	if err := c.loadBFD(ctx); err != nil {
		return err
	}
	c.rebuildDownLocked()
	return nil
}

// statusEvents is the WHERE clause of the partial index events_xtr_status
// (migration 00012), verbatim: a query that finds an xTR's last status
// event must say it word for word for the database to use the index.
const statusEvents = "type IN ('xtr.up', 'xtr.down', 'bfd.status')"
