package pipeline

import (
	"slices"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// onDemandParts is the Incremental's bookkeeping of on-demand networks:
// which MACs have a record in the view, the records of each IP EID, and
// which addresses are bound to each MAC, so that a MAC coming or going
// recompiles the answers for its addresses.
type onDemandParts struct {
	present map[macKey]struct{} // a compact key: one entry per host of every switch
	ipRecs  map[mapping.EID][]mapping.Record
	owner   map[mapping.EID]mapping.EID              // IP EID -> the MAC EID its winning binding names
	bound   map[mapping.EID]map[mapping.EID]struct{} // MAC EID -> IP EIDs bound to it
	changed []mapping.EID                            // MACs whose presence changed since the last recheck
}

// macKey is a MAC EID without the room an IP prefix takes.
type macKey struct {
	iid uint32
	mac mapping.MAC
}

func keyOf(e mapping.EID) macKey { return macKey{e.IID, e.MAC} }

func (od *onDemandParts) isPresent(e mapping.EID) bool {
	_, ok := od.present[keyOf(e)]
	return ok
}

func (od *onDemandParts) setPresent(e mapping.EID, on bool) {
	if od.isPresent(e) == on {
		return
	}
	if od.present == nil {
		od.present = map[macKey]struct{}{}
	}
	if on {
		od.present[keyOf(e)] = struct{}{}
	} else {
		delete(od.present, keyOf(e))
	}
	if len(od.bound[e]) > 0 { // only addresses bound to it care
		od.changed = append(od.changed, e)
	}
}

// bind notes that ip's winning binding names MAC EID mac (none: zero).
func (od *onDemandParts) bind(ip, mac mapping.EID) {
	if old, ok := od.owner[ip]; ok {
		if old == mac {
			return
		}
		delete(od.bound[old], ip)
		if len(od.bound[old]) == 0 {
			delete(od.bound, old)
		}
		delete(od.owner, ip)
	}
	if mac == (mapping.EID{}) {
		return
	}
	if od.owner == nil {
		od.owner, od.bound = map[mapping.EID]mapping.EID{}, map[mapping.EID]map[mapping.EID]struct{}{}
	}
	od.owner[ip] = mac
	if od.bound[mac] == nil {
		od.bound[mac] = map[mapping.EID]struct{}{}
	}
	od.bound[mac][ip] = struct{}{}
}

// bindingWinner is the binding among rs that Compile's responder uses.
func (in *Incremental) bindingWinner(rs []*mapping.Record) *mapping.Record {
	var best *mapping.Record
	for _, r := range rs {
		if in.scratch.isBinding(r) && (best == nil || bindingOrder(r, best) < 0) {
			best = r
		}
	}
	return best
}

// setIP replaces the part of IP EID e of an on-demand network by what
// its records rs give: the flows of its winning binding, if the MAC it
// names has a record in the view.
func (in *Incremental) setIP(e mapping.EID, rs []*mapping.Record, d *deltaBuilder) {
	if len(rs) == 0 {
		delete(in.od.ipRecs, e)
	} else {
		if in.od.ipRecs == nil {
			in.od.ipRecs = map[mapping.EID][]mapping.Record{}
		}
		keep := make([]mapping.Record, len(rs))
		for i, r := range rs {
			keep[i] = *r
		}
		in.od.ipRecs[e] = keep
	}
	var flows []openflow.Flow
	var part recordPart
	var mac mapping.EID
	if b := in.bindingWinner(rs); b != nil {
		mac = mapping.MACEID(b.EID.IID, b.MAC)
		if in.od.isPresent(mac) {
			flows = in.bindFlows(b)
			part = recordPart{rec: *b, bind: true}
		}
	}
	in.od.bind(e, mac)
	old, had := in.parts[e]
	var oldFlows []openflow.Flow
	if had && d != nil {
		oldFlows = in.flowsOf(&old)
	}
	if len(flows) == 0 {
		delete(in.parts, e)
	} else {
		in.parts[e] = part
	}
	d.flows(oldFlows, flows)
}

// bindFlows compiles the flows of one on-demand binding.
func (in *Incremental) bindFlows(b *mapping.Record) []openflow.Flow {
	c := in.scratch
	c.flows = c.flows[:0]
	c.bindingFlows(b)
	return append(make([]openflow.Flow, 0, len(c.flows)), c.flows...)
}

// recheck recompiles the parts of the addresses bound to MACs whose
// presence changed.
func (in *Incremental) recheck(d *deltaBuilder) {
	changed := in.od.changed
	in.od.changed = nil
	slices.SortFunc(changed, func(a, b mapping.EID) int { return cmpEID(a, b) })
	changed = slices.Compact(changed)
	for _, mac := range changed {
		ips := make([]mapping.EID, 0, len(in.od.bound[mac]))
		for ip := range in.od.bound[mac] {
			ips = append(ips, ip)
		}
		for _, ip := range ips {
			recs := in.od.ipRecs[ip]
			in.setIP(ip, ptrs(recs), d)
		}
	}
}

func cmpEID(a, b mapping.EID) int {
	if a.IID != b.IID {
		if a.IID < b.IID {
			return -1
		}
		return 1
	}
	au, bu := a.MAC.Uint64(), b.MAC.Uint64()
	switch {
	case au < bu:
		return -1
	case au > bu:
		return 1
	}
	return a.Prefix.Addr().Compare(b.Prefix.Addr())
}
