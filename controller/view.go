package controller

import (
	"net/netip"
	"sort"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
)

// View builds the pipeline input of one xTR from the current state.
func (c *Controller) View(name string) (pipeline.SwitchView, bool) {
	v, ok := c.BaseView(name)
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

// BaseView is View without the records: cheap, as it does not depend on
// how many hosts the network holds.
func (c *Controller) BaseView(name string) (pipeline.SwitchView, bool) {
	c.mu.RLock()
	x, ok := c.xtrs[name]
	if !ok {
		c.mu.RUnlock()
		return pipeline.SwitchView{}, false
	}
	site := c.sites[x.Site]
	v := pipeline.SwitchView{XTR: x.Name, Site: x.Site, RLOC: x.RLOC,
		TunnelPort: pipeline.TunnelOFPort, VXLANPort: pipeline.VXLANOFPort,
		Networks: append([]uint32(nil), site.Networks...), Peers: map[uint32][]netip.Addr{},
		Encaps: make(map[uint32]pipeline.Encap, len(site.Networks))}
	for _, p := range c.ports[name] {
		v.Ports = append(v.Ports, pipeline.PortView{Name: p.Name, OFPort: p.OFPort, IID: p.InstanceID})
	}
	for _, iid := range v.Networks {
		// Written validated; a name this build does not know (a newer
		// replica's) gets the network no tunnel rather than the wrong one.
		v.Encaps[iid], _ = pipeline.ParseEncap(c.networks[iid].Encapsulation)
		for _, o := range c.xtrs {
			if o.Name != x.Name && c.sites[o.Site].Serves(iid) {
				v.Peers[iid] = append(v.Peers[iid], o.RLOC)
			}
		}
	}
	c.addMultihome(&v, x)
	c.mu.RUnlock()
	v.Learn = c.LearnConfig().view()
	sort.Slice(v.Ports, func(i, j int) bool { return v.Ports[i].OFPort < v.Ports[j].OFPort })
	for iid, ps := range v.Peers {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Less(ps[j]) })
		v.Peers[iid] = ps
	}
	return v, true
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
