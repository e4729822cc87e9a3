package controller

import (
	"net/netip"
	"sort"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
)

// View builds the pipeline input of one xTR from the current state, with
// an empty map-cache in its on-demand networks.
func (c *Controller) View(name string) (pipeline.SwitchView, bool) { return c.ViewWith(name, nil) }

// ViewWith builds the pipeline input of one xTR. A push network brings
// all its hosts; an on-demand network only those behind this xTR and
// those of cached (the switch's map-cache, kept by the reconciler), each
// with the IP EIDs bound to it. Its cost follows what the switch holds,
// not the size of the network.
func (c *Controller) ViewWith(name string, cached []mapping.EID) (pipeline.SwitchView, bool) {
	v, ok := c.BaseView(name)
	if !ok {
		return v, false
	}
	var macs []mapping.EID
	for _, iid := range v.Networks {
		if v.Modes[iid] == pipeline.ModeOnDemand {
			macs = append(macs, c.hosts.local(v.XTR, v.RLOC, iid)...)
			continue
		}
		c.idx.RangeIID(iid, func(r mapping.Record) bool {
			if r.EID.Family() == mapping.FamilyMAC || r.HasMAC() {
				v.Records = append(v.Records, r)
			}
			return true
		})
	}
	for _, e := range cached {
		if e.Family() == mapping.FamilyMAC && v.Modes[e.IID] == pipeline.ModeOnDemand {
			macs = append(macs, e)
		}
	}
	seen := make(map[mapping.EID]bool, len(macs))
	for _, e := range macs {
		if seen[e] {
			continue
		}
		seen[e] = true
		if r, ok := c.idx.Get(e); ok {
			v.Records = append(v.Records, r)
		}
		for _, ip := range c.Bindings(e) {
			if r, ok := c.idx.Get(ip); ok {
				v.Records = append(v.Records, r)
			}
		}
	}
	return v, true
}

// BaseView is View without the records: cheap, as it does not depend on
// how many hosts the network holds.
func (c *Controller) BaseView(name string) (pipeline.SwitchView, bool) {
	t := c.topo()
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
		for _, o := range t.peers[iid] {
			if o.name != x.Name {
				v.Peers[iid] = append(v.Peers[iid], o.rloc)
			}
		}
	}
	c.addMultihome(&v, x)
	c.mu.RUnlock()
	for _, iid := range v.Networks {
		if m := c.Mode(iid); m != pipeline.ModePush {
			if v.Modes == nil {
				v.Modes = map[uint32]pipeline.Mode{}
			}
			v.Modes[iid] = m
		}
	}
	v.Learn = c.LearnConfig().view()
	sort.Slice(v.Ports, func(i, j int) bool { return v.Ports[i].OFPort < v.Ports[j].OFPort })
	for iid, ps := range v.Peers {
		sort.Slice(ps, func(i, j int) bool { return ps[i].Less(ps[j]) })
		v.Peers[iid] = ps
	}
	return v, true
}
