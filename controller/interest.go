package controller

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/l2lisp/l2lisp/mapping"
)

// Indexes that keep the cost of a change independent of how many
// switches and hosts do not care about it: who serves an instance-id, who
// holds an RLOC (topology), and which hosts sit behind each switch and
// which addresses are bound to each MAC (hostIndex). Like the rest of the
// in-memory state they are caches of the database, kept by the feed.

// topology is derived from the sites and xTRs; it is rebuilt after any
// change to them (rare), and read on every mapping change.
type topology struct {
	serving map[uint32][]string // iid -> names of the xTRs whose site serves it, sorted
	peers   map[uint32][]namedRLOC
	byRLOC  map[netip.Addr][]string // RLOC -> xTR names
	byDPID  map[uint64]string       // datapath-id -> xTR name
}

type namedRLOC struct {
	name string
	rloc netip.Addr
}

func buildTopology(sites map[string]Site, xtrs map[string]XTR) *topology {
	t := &topology{serving: map[uint32][]string{}, peers: map[uint32][]namedRLOC{}, byRLOC: map[netip.Addr][]string{},
		byDPID: make(map[uint64]string, len(xtrs))}
	for _, x := range xtrs {
		for _, iid := range sites[x.Site].Networks {
			t.serving[iid] = append(t.serving[iid], x.Name)
			t.peers[iid] = append(t.peers[iid], namedRLOC{x.Name, x.RLOC})
		}
		a := x.RLOC.Unmap()
		t.byRLOC[a] = append(t.byRLOC[a], x.Name)
		t.byDPID[x.DatapathID] = x.Name
	}
	for iid := range t.serving {
		slices.Sort(t.serving[iid])
		slices.SortFunc(t.peers[iid], func(a, b namedRLOC) int { return a.rloc.Compare(b.rloc) })
	}
	return t
}

// topo returns the current topology. Whoever changes sites or xTRs drops
// it under c.mu's write lock (dropTopology); it is built again here under
// the read lock, so no change can slip in between building and keeping it.
func (c *Controller) topo() *topology {
	if t := c.topology.Load(); t != nil {
		return t
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	t := buildTopology(c.sites, c.xtrs)
	if !c.topology.CompareAndSwap(nil, t) {
		return c.topology.Load()
	}
	return t
}

// dropTopology forgets the topology; call with c.mu held for writing.
func (c *Controller) dropTopology() { c.topology.Store(nil) }

// XTRsServing lists the xTRs whose site serves instance-id iid, by name.
func (c *Controller) XTRsServing(iid uint32) []string {
	return slices.Clone(c.topo().serving[iid])
}

// XTRByDatapath finds the xTR with datapath-id dpid.
func (c *Controller) XTRByDatapath(dpid uint64) (XTR, bool) {
	name, ok := c.topo().byDPID[dpid]
	if !ok {
		return XTR{}, false
	}
	x, err := c.XTR(name)
	return x, err == nil
}

// Homes lists the xTRs serving r's instance-id that r sits behind (see
// pipeline.LocalTo): the one it names, and those whose RLOC is one of
// its locators. These are the switches with a local flow for it.
func (c *Controller) Homes(r *mapping.Record) []string {
	t := c.topo()
	serving := t.serving[r.EID.IID]
	var out []string
	add := func(name string) {
		if _, ok := slices.BinarySearch(serving, name); ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if r.XTR != "" {
		add(r.XTR)
	}
	for _, l := range r.Locators {
		for _, name := range t.byRLOC[l.Addr.Unmap()] {
			add(name)
		}
	}
	return out
}

// hostIndex knows, per xTR name and per RLOC, the MAC EIDs of each
// instance-id recorded there, and per MAC the IP EIDs bound to it.
type hostIndex struct {
	mu     sync.RWMutex
	byXTR  map[string]map[uint32]map[mapping.MAC]struct{}
	byRLOC map[netip.Addr]map[uint32]map[mapping.MAC]struct{}
	binds  map[mapping.EID][]mapping.EID // MAC EID -> IP EIDs
}

func newHostIndex() *hostIndex {
	return &hostIndex{byXTR: map[string]map[uint32]map[mapping.MAC]struct{}{},
		byRLOC: map[netip.Addr]map[uint32]map[mapping.MAC]struct{}{}, binds: map[mapping.EID][]mapping.EID{}}
}

func addHome[K comparable](m map[K]map[uint32]map[mapping.MAC]struct{}, k K, e mapping.EID) {
	byIID := m[k]
	if byIID == nil {
		byIID = map[uint32]map[mapping.MAC]struct{}{}
		m[k] = byIID
	}
	macs := byIID[e.IID]
	if macs == nil {
		macs = map[mapping.MAC]struct{}{}
		byIID[e.IID] = macs
	}
	macs[e.MAC] = struct{}{}
}

func dropHome[K comparable](m map[K]map[uint32]map[mapping.MAC]struct{}, k K, e mapping.EID) {
	byIID := m[k]
	if macs := byIID[e.IID]; macs != nil {
		delete(macs, e.MAC)
		if len(macs) == 0 {
			delete(byIID, e.IID)
		}
		if len(byIID) == 0 {
			delete(m, k)
		}
	}
}

// replace takes o's contents (a rebuild's).
func (h *hostIndex) replace(o *hostIndex) {
	h.mu.Lock()
	h.byXTR, h.byRLOC, h.binds = o.byXTR, o.byRLOC, o.binds
	h.mu.Unlock()
}

// put records r; remove forgets it. Records other than MAC EIDs and IP
// EIDs bound to a MAC are of no interest.
func (h *hostIndex) put(r *mapping.Record)    { h.update(r, true) }
func (h *hostIndex) remove(r *mapping.Record) { h.update(r, false) }

func (h *hostIndex) update(r *mapping.Record, add bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.EID.Family() != mapping.FamilyMAC {
		if r.HasMAC() {
			k := mapping.MACEID(r.EID.IID, r.MAC)
			l := slices.DeleteFunc(h.binds[k], func(e mapping.EID) bool { return e == r.EID })
			if add {
				l = append(l, r.EID)
			}
			if len(l) == 0 {
				delete(h.binds, k)
			} else {
				h.binds[k] = l
			}
		}
		return
	}
	if r.XTR != "" {
		if add {
			addHome(h.byXTR, r.XTR, r.EID)
		} else {
			dropHome(h.byXTR, r.XTR, r.EID)
		}
	}
	for _, l := range r.Locators {
		if add {
			addHome(h.byRLOC, l.Addr.Unmap(), r.EID)
		} else {
			dropHome(h.byRLOC, l.Addr.Unmap(), r.EID)
		}
	}
}

// local lists the MAC EIDs of iid recorded behind the xTR named xtr or at
// its RLOC (a superset of those pipeline.LocalTo calls local: a record
// may have moved on since; the caller checks).
func (h *hostIndex) local(xtr string, rloc netip.Addr, iid uint32) []mapping.EID {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []mapping.EID
	for m := range h.byXTR[xtr][iid] {
		out = append(out, mapping.MACEID(iid, m))
	}
	for m := range h.byRLOC[rloc.Unmap()][iid] {
		if _, dup := h.byXTR[xtr][iid][m]; !dup {
			out = append(out, mapping.MACEID(iid, m))
		}
	}
	return out
}

// Bindings lists the IP EIDs bound to MAC EID mac.
func (c *Controller) Bindings(mac mapping.EID) []mapping.EID {
	c.hosts.mu.RLock()
	defer c.hosts.mu.RUnlock()
	return slices.Clone(c.hosts.binds[mac])
}
