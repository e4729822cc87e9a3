package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"

	"github.com/l2lisp/l2lisp/store"
)

// BFDReport is what one xTR's switch says of its BFD sessions: for each
// peer RLOC, whether the session lets traffic through (OVS's
// bfd_status:forwarding).
type BFDReport map[netip.Addr]bool

// bfdEvent is the data of a bfd.status event.
type bfdEvent struct {
	Sessions map[string]bool `json:"sessions"` // RLOC -> forwarding
}

// ReportBFD records the BFD sessions an xTR's switch reports, through the
// change feed so every replica judges the locators alike. A report equal
// to the xTR's current one writes nothing.
func (c *Controller) ReportBFD(ctx context.Context, xtr string, r BFDReport) error {
	x, err := c.XTR(xtr)
	if err != nil {
		return err
	}
	c.locs.mu.Lock()
	same := maps.Equal(c.locs.bfd[xtr], r)
	c.locs.mu.Unlock()
	if same {
		return nil
	}
	data := bfdEvent{Sessions: make(map[string]bool, len(r))}
	for a, up := range r {
		data.Sessions[a.String()] = up
	}
	return c.Emit(ctx, EvBFDStatus, nil, "", x.Site, xtr, data)
}

// BFDSessions returns the last BFD report of an xTR (nil if none).
func (c *Controller) BFDSessions(xtr string) BFDReport {
	c.locs.mu.Lock()
	defer c.locs.mu.Unlock()
	return maps.Clone(c.locs.bfd[xtr])
}

func decodeBFD(raw []byte) (BFDReport, error) {
	var d bfdEvent
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode bfd status: %w", err)
	}
	r := make(BFDReport, len(d.Sessions))
	for s, up := range d.Sessions {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("decode bfd status: %w", err)
		}
		r[a.Unmap()] = up
	}
	return r, nil
}

// applyBFD takes a bfd.status event.
func (c *Controller) applyBFD(ev Event) error {
	r, err := decodeBFD(ev.Data)
	if err != nil {
		return err
	}
	c.locs.mu.Lock()
	defer c.locs.mu.Unlock()
	c.locs.bfd[ev.XTR] = r
	c.rebuildDownLocked()
	return nil
}

// loadBFD reads the last BFD report of every xTR.
func (c *Controller) loadBFD(ctx context.Context) error {
	for name := range c.xtrs {
		var rows []store.Event
		err := c.db.WithContext(ctx).Select("data").Where("xtr = ? AND "+statusEvents+" AND type = ?", name, EvBFDStatus).
			Order("id desc").Limit(1).Find(&rows).Error
		if err != nil {
			return fmt.Errorf("load bfd status: %w", err)
		}
		if len(rows) == 1 {
			r, err := decodeBFD([]byte(rows[0].Data))
			if err != nil {
				return err
			}
			c.locs.bfd[name] = r
		}
	}
	return nil
}

// bfdDown decides, from every xTR's BFD report, which RLOCs are down: an
// RLOC is down when more of the xTRs that watch it see it down than up.
// Only xTRs that can judge count: connected to the controller (their
// report is current) and not isolated themselves (an xTR that sees every
// peer down has most likely lost its own WAN link, and says nothing about
// the others). With two xTRs that lose each other both are isolated, and
// neither is marked down: the controller cannot tell which side failed.
// The caller holds locs.mu and c.mu (read).
func (c *Controller) bfdDown() map[netip.Addr]struct{} {
	down, up := map[netip.Addr]int{}, map[netip.Addr]int{}
	for observer, r := range c.locs.bfd {
		if _, ok := c.xtrs[observer]; !ok || c.locs.xtrDown[observer] || isolated(r) {
			continue
		}
		for a, fwd := range r {
			if fwd {
				up[a]++
			} else {
				down[a]++
			}
		}
	}
	out := map[netip.Addr]struct{}{}
	for a, n := range down {
		if n > up[a] {
			out[a] = struct{}{}
		}
	}
	return out
}

// isolated says whether a report has sessions and all of them are down.
func isolated(r BFDReport) bool {
	for _, fwd := range r {
		if fwd {
			return false
		}
	}
	return len(r) > 0
}
