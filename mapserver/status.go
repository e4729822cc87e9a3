package mapserver

import (
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
)

// statusSnapshot is the controller's RLOC status (down or drained) as a
// follower of the feed last saw it: a status event (an xTR's connection,
// a BFD report, a drain) may change the status of no RLOC, of its own, or
// of others (bfd.status judges every RLOC), so followers compare.
type statusSnapshot map[netip.Addr]pipeline.RLOCState

func takeStatus(ctl *controller.Controller) statusSnapshot { return ctl.RLOCStatus() }

// changes updates the snapshot and returns the RLOCs whose status moved,
// sorted.
func (s *statusSnapshot) changes(ctl *controller.Controller) []netip.Addr {
	cur := takeStatus(ctl)
	var out []netip.Addr
	for a, st := range cur {
		if (*s)[a] != st {
			out = append(out, a)
		}
	}
	for a := range *s {
		if _, ok := cur[a]; !ok {
			out = append(out, a)
		}
	}
	*s = cur
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// solicitStatus sends SMRs, as for a move, to the ITRs that resolved a
// mapping with a locator whose status changed: they ask again and get the
// R bit and priority as they now are.
func (s *Server) solicitStatus(rlocs []netip.Addr) {
	if len(rlocs) == 0 {
		return
	}
	set := make(map[netip.Addr]bool, len(rlocs))
	for _, a := range rlocs {
		set[a] = true
	}
	var recs []mapping.Record
	s.ctl.Index().Range(func(r mapping.Record) bool {
		if slices.ContainsFunc(r.Locators, func(l mapping.Locator) bool { return set[l.Addr.Unmap()] }) {
			recs = append(recs, r)
		}
		return true
	})
	for _, r := range recs {
		s.sendSMRs(r)
	}
}
