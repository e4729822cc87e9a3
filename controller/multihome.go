package controller

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
)

// Multihomed sites: a site with several xTRs on the same host LANs. The
// designated forwarder of each instance-id is elected among the site's
// eligible xTRs (pipeline.ElectDF): those whose locator is up and that are
// not drained. With none eligible, the up ones stand (all drained still
// forward), and with none up, all of them: the election never leaves a
// site without a DF because the controller's view may be wrong.

// siteMembers returns the xTRs of a site by name; the caller holds c.mu.
func (c *Controller) siteMembers(site string) []XTR {
	var out []XTR
	for _, x := range c.xtrs {
		if x.Site == site {
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// dfCandidates are the RLOCs a site's DF is elected among.
func (c *Controller) dfCandidates(members []XTR) []netip.Addr {
	var eligible, up, all []netip.Addr
	for _, x := range members {
		all = append(all, x.RLOC)
		if c.LocatorDown(x.RLOC) {
			continue
		}
		up = append(up, x.RLOC)
		if !x.Drained {
			eligible = append(eligible, x.RLOC)
		}
	}
	switch {
	case len(eligible) > 0:
		return eligible
	case len(up) > 0:
		return up
	}
	return all
}

// DesignatedForwarders lists the instance-ids an xTR is the designated
// forwarder of: all its site serves when it is the site's only xTR.
func (c *Controller) DesignatedForwarders(name string) []uint32 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	x, ok := c.xtrs[name]
	if !ok {
		return nil
	}
	return c.dfOf(x, c.siteMembers(x.Site))
}

// dfOf is DesignatedForwarders for x among its site's members; the caller
// holds c.mu.
func (c *Controller) dfOf(x XTR, members []XTR) []uint32 {
	site := c.sites[x.Site]
	cands := c.dfCandidates(members)
	var out []uint32
	for _, iid := range site.Networks {
		if pipeline.ElectDF(iid, cands) == x.RLOC {
			out = append(out, iid)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// addMultihome fills the multihoming part of an xTR's view: its site's
// other xTRs, the instance-ids it is DF of, its BFD ports towards the peer
// RLOCs and the RLOCs known down or drained. The caller holds c.mu.
func (c *Controller) addMultihome(v *pipeline.SwitchView, x XTR) {
	members := c.siteMembers(x.Site)
	for _, m := range members {
		if m.Name != x.Name {
			v.Mates = append(v.Mates, pipeline.Mate{Name: m.Name, RLOC: m.RLOC, Live: !c.LocatorDown(m.RLOC)})
		}
	}
	if len(v.Mates) > 0 {
		v.DF = c.dfOf(x, members)
	}
	v.BFDPorts = c.bfdPorts(v, x)
	v.RLOCState = c.rlocState()
}

// bfdPorts maps each peer RLOC of a view (any xTR it floods to) to the BFD
// port number of that RLOC's xTR. The caller holds c.mu.
func (c *Controller) bfdPorts(v *pipeline.SwitchView, self XTR) map[netip.Addr]uint32 {
	if !c.bfd.Enabled {
		return nil
	}
	out := map[netip.Addr]uint32{}
	for _, peers := range v.Peers {
		for _, a := range peers {
			out[a.Unmap()] = 0
		}
	}
	for _, o := range c.xtrs {
		if _, ok := out[o.RLOC]; ok && o.Name != self.Name && o.BFDOFPort != 0 && o.RLOC.Is4() == self.RLOC.Is4() {
			out[o.RLOC] = o.BFDOFPort
		}
	}
	for a, p := range out {
		if p == 0 {
			delete(out, a)
		}
	}
	return out
}

// RLOCStatus lists the RLOCs known down or drained (a copy).
func (c *Controller) RLOCStatus() map[netip.Addr]pipeline.RLOCState { return c.rlocState() }

// rlocState is the down and drained RLOCs as the pipeline takes them.
func (c *Controller) rlocState() map[netip.Addr]pipeline.RLOCState {
	down, drained := *c.locs.down.Load(), *c.locs.drained.Load()
	if len(down)+len(drained) == 0 {
		return nil
	}
	out := make(map[netip.Addr]pipeline.RLOCState, len(down)+len(drained))
	for a := range drained {
		out[a] = pipeline.RLOCDrained
	}
	for a := range down {
		out[a] = pipeline.RLOCDown
	}
	return out
}

// BFDPeers are the sessions an xTR's bridge should hold: one per peer RLOC
// (an xTR of a site that shares an instance-id with its own), each with
// the peer's BFD port number. Nil when BFD is off.
func (c *Controller) BFDPeers(name string) []BFDPeer {
	v, ok := c.BaseView(name)
	if !ok {
		return nil
	}
	out := make([]BFDPeer, 0, len(v.BFDPorts))
	for a, p := range v.BFDPorts {
		out = append(out, BFDPeer{RLOC: a, OFPort: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OFPort < out[j].OFPort })
	return out
}

// BFDPeer is one BFD session an xTR's bridge holds.
type BFDPeer struct {
	RLOC   netip.Addr
	OFPort uint32
}

// BFDConfig is how BFD runs on the tunnels between RLOCs. Process
// configuration (serve flags): every replica must be started alike.
type BFDConfig struct {
	Enabled bool
	MinRx   int // ms, the fastest this side wants to receive
	MinTx   int // ms, the fastest this side sends
	Mult    int // detection multiplier: missed packets before the session goes down
}

// DefaultBFDConfig detects a dead RLOC within 3 × 50 ms: fast enough for a
// failover under 300 ms (at 100 ms the detection alone can take 300 ms),
// at 20 BFD packets a second each way per pair of RLOCs.
func DefaultBFDConfig() BFDConfig { return BFDConfig{Enabled: true, MinRx: 50, MinTx: 50, Mult: 3} }

// SetBFDConfig turns BFD on or off and tunes it.
func (c *Controller) SetBFDConfig(b BFDConfig) {
	c.mu.Lock()
	c.bfd = b
	c.mu.Unlock()
}

// BFDConfig returns the BFD configuration (off if never set).
func (c *Controller) BFDConfig() BFDConfig {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bfd
}

// siteLocators is the locator set a host learned at a site gets: every
// xTR of the site, so remote sites share its traffic among them.
func (c *Controller) siteLocatorsOf(site string) []mapping.Locator {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []mapping.Locator
	for _, x := range c.siteMembers(site) {
		out = append(out, mapping.Locator{Addr: x.RLOC, Priority: x.Priority, Weight: x.Weight, Up: true})
	}
	return out
}

// siteMate says whether xTR a and b are distinct xTRs of one site that has
// several, and b is up: hosts seen at either are that site's hosts.
func (c *Controller) siteMate(a, b string) bool {
	if a == b || a == "" || b == "" {
		return false
	}
	c.mu.RLock()
	xa, okA := c.xtrs[a]
	xb, okB := c.xtrs[b]
	c.mu.RUnlock()
	return okA && okB && xa.Site == xb.Site && !c.LocatorDown(xb.RLOC)
}
