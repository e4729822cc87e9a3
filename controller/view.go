package controller

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/l2lisp/l2lisp/mapping"
)

// SwitchView is everything the pipeline needs to know to compute the flows
// of one edge switch. It is built from the database (through the in-memory
// index) and nothing else, so any replica computes the same flows.
type SwitchView struct {
	XTR        string
	Site       string
	RLOC       netip.Addr
	TunnelPort uint32     // OpenFlow port number of the LISP tunnel port
	Ports      []PortView // access ports bound to tenant networks
	Networks   []uint32   // instance-ids the xTR's site serves
	// Peers lists, per instance-id, the RLOCs of the other xTRs serving it:
	// the head-end replication targets for broadcast and unknown unicast.
	Peers map[uint32][]netip.Addr
	// Records are the MAC records of the served instance-ids, and the IP
	// host records bound to a MAC (for the ARP responder).
	Records []mapping.Record
	// Learn configures host learning (tables 10 and 40).
	Learn LearnView
}

// PortView is one access port bound to an instance-id.
type PortView struct {
	Name   string
	OFPort uint32
	IID    uint32
}

// View builds the pipeline input of one xTR from the current state.
func (c *Controller) View(name string) (SwitchView, bool) {
	v, ok := c.baseView(name)
	if !ok {
		return v, false
	}
	for _, iid := range v.Networks {
		c.idx.RangeIID(iid, func(r mapping.Record) bool {
			if r.EID.Family() == mapping.FamilyMAC || r.HasMAC() {
				v.Records = append(v.Records, r)
			}
			return true
		})
	}
	return v, true
}

// baseView is View without the records: cheap, as it does not depend on
// how many hosts the network holds.
func (c *Controller) baseView(name string) (SwitchView, bool) {
	c.mu.RLock()
	x, ok := c.xtrs[name]
	if !ok {
		c.mu.RUnlock()
		return SwitchView{}, false
	}
	site := c.sites[x.Site]
	v := SwitchView{XTR: x.Name, Site: x.Site, RLOC: x.RLOC, TunnelPort: TunnelOFPort,
		Networks: append([]uint32(nil), site.Networks...), Peers: map[uint32][]netip.Addr{}}
	for _, p := range c.ports[name] {
		v.Ports = append(v.Ports, PortView{Name: p.Name, OFPort: p.OFPort, IID: p.InstanceID})
	}
	for _, iid := range v.Networks {
		for _, o := range c.xtrs {
			if o.Name != x.Name && c.sites[o.Site].Serves(iid) {
				v.Peers[iid] = append(v.Peers[iid], o.RLOC)
			}
		}
	}
	c.mu.RUnlock()
	v.Learn = c.LearnConfig().view()
	sort.Slice(v.Ports, func(i, j int) bool { return v.Ports[i].OFPort < v.Ports[j].OFPort })
	for iid, ps := range v.Peers {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Less(ps[j]) })
		v.Peers[iid] = ps
	}
	return v, true
}

// sameBase says whether two views agree on everything but their records.
func sameBase(a, b SwitchView) bool {
	if a.XTR != b.XTR || a.Site != b.Site || a.RLOC != b.RLOC || a.TunnelPort != b.TunnelPort ||
		a.Learn != b.Learn || !slices.Equal(a.Ports, b.Ports) || !slices.Equal(a.Networks, b.Networks) ||
		len(a.Peers) != len(b.Peers) {
		return false
	}
	for iid, pa := range a.Peers {
		if pb, ok := b.Peers[iid]; !ok || !slices.Equal(pa, pb) {
			return false
		}
	}
	return true
}

// XTRsServing lists the xTRs whose site serves instance-id iid.
func (c *Controller) XTRsServing(iid uint32) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for _, x := range c.xtrs {
		if c.sites[x.Site].Serves(iid) {
			out = append(out, x.Name)
		}
	}
	return out
}
