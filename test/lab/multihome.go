package lab

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
)

// Multihomed sites: with Config.Edges > 1 every datacenter is one site
// with that many edges, each an xTR in its own namespace with its own OVS,
// RLOC and management address. The site's hosts sit on a LAN shared by
// all its edges: a namespace (LAN.Netns) holding one Linux bridge per
// tenant network, to which each host's veth and one uplink veth per edge
// and network are attached. The uplinks, not the hosts, are the edges'
// access ports.

// MaxEdges is how many edges a site may have: RLOC and management octets
// are 100 × (edge-1) + datacenter.
const MaxEdges = 2

// LAN is a multihomed site's host LAN.
type LAN struct {
	Site    string   `json:"site"`
	Netns   string   `json:"netns"`
	Uplinks []Uplink `json:"uplinks"`
}

// Uplink is one edge's access port on a site LAN: a veth whose two ends
// have the same name, one in the edge's namespace (bound to the network
// through the controller), one on the network's bridge in the LAN.
type Uplink struct {
	XTR        string `json:"xtr"`
	EdgeNetns  string `json:"edge_netns"`
	Port       string `json:"port"`
	Network    string `json:"network"`
	InstanceID uint32 `json:"instance_id"`
}

// SiteName is the site a DC entry belongs to (its Name for a lab from
// before multihoming).
func (d DC) SiteName() string {
	if d.Site != "" {
		return d.Site
	}
	return d.Name
}

// Edges returns the edges of site n (1-based), first edge first.
func (t *Topology) Edges(n int) []DC {
	var out []DC
	for _, d := range t.DCs {
		if d.Index == n {
			out = append(out, d)
		}
	}
	return out
}

// LANOf returns the LAN of a site, or nil for a single-homed one.
func (t *Topology) LANOf(site string) *LAN {
	for i := range t.LANs {
		if t.LANs[i].Site == site {
			return &t.LANs[i]
		}
	}
	return nil
}

func lanBridge(network string) string { return "br-" + network }

// planEdge is the DC entry of edge e (2 and up) of datacenter n.
func planEdge(c Config, first DC, e int) DC {
	octet := byte(100*(e-1) + first.Index)
	name := fmt.Sprintf("%s-e%d", first.Name, e)
	d := DC{
		Index: first.Index, Edge: e, Name: name, Site: first.Name, XTR: fmt.Sprintf("%s-edge%d", first.Name, e),
		Netns:    fmt.Sprintf("%s-%s", Prefix, name),
		RLOC:     netip.AddrFrom4([4]byte{192, 0, 2, octet}),
		MgmtAddr: netip.AddrFrom4([4]byte{203, 0, 113, octet}),
		MgmtLink: fmt.Sprintf("%s-m%de%d", Prefix, first.Index, e),
	}
	d.OVS = &OVS{Dir: filepath.Join(c.RunDir, name), Netns: d.Netns}
	secureDC(c, &d)
	return d
}

// planMultihome adds the other edges of every datacenter and the site LANs,
// and puts the hosts on them.
func planMultihome(c Config, t *Topology) {
	if c.Edges < 2 {
		return
	}
	var dcs []DC
	for _, first := range t.DCs {
		first.Site, first.Edge = first.Name, 1
		dcs = append(dcs, first)
		lan := LAN{Site: first.Name, Netns: fmt.Sprintf("%s-%s-lan", Prefix, first.Name)}
		for e := 1; e <= c.Edges; e++ {
			d := first
			if e > 1 {
				d = planEdge(c, first, e)
				dcs = append(dcs, d)
			}
			for _, nw := range c.Networks {
				lan.Uplinks = append(lan.Uplinks, Uplink{XTR: d.XTR, EdgeNetns: d.Netns,
					Port: fmt.Sprintf("%se%d-%s", first.Name, e, nw.Name), Network: nw.Name, InstanceID: nw.InstanceID})
			}
		}
		t.LANs = append(t.LANs, lan)
	}
	t.DCs = dcs
	for i := range t.Hosts {
		t.Hosts[i].LAN = t.LANs[t.Hosts[i].DC-1].Netns
	}
}

// upLAN makes a site's LAN namespace with its bridges and uplinks.
func upLAN(ctx context.Context, l LAN, networks []Network) error {
	if err := addNetns(ctx, l.Netns); err != nil {
		return err
	}
	if err := sysctl(ctx, l.Netns, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); err != nil {
		return err
	}
	mtu := strconv.Itoa(hostMTU)
	for _, nw := range networks {
		// No multicast snooping: with no querier it would drop the ND
		// multicast the hosts rely on.
		if err := ip(ctx, l.Netns, "link", "add", lanBridge(nw.Name), "mtu", mtu, "type", "bridge", "mcast_snooping", "0"); err != nil {
			return err
		}
		if err := ip(ctx, l.Netns, "link", "set", lanBridge(nw.Name), "up"); err != nil {
			return err
		}
	}
	for _, u := range l.Uplinks {
		if err := ip(ctx, "", "link", "add", u.Port, "netns", u.EdgeNetns, "mtu", mtu, "type", "veth",
			"peer", "name", u.Port, "netns", l.Netns, "mtu", mtu); err != nil {
			return err
		}
		if err := ip(ctx, l.Netns, "link", "set", u.Port, "master", lanBridge(u.Network), "up"); err != nil {
			return err
		}
		if err := ip(ctx, u.EdgeNetns, "link", "set", u.Port, "up"); err != nil {
			return err
		}
		if err := txOff(ctx, l.Netns, u.Port); err != nil {
			return err
		}
		if err := txOff(ctx, u.EdgeNetns, u.Port); err != nil {
			return err
		}
	}
	return nil
}

// upLANHost is upHost for a host of a multihomed site: its veth's other
// end is on its network's bridge in the site LAN.
func upLANHost(ctx context.Context, h Host) error {
	if err := ip(ctx, h.LAN, "link", "set", h.Port, "master", lanBridge(h.Network), "up"); err != nil {
		return err
	}
	return txOff(ctx, h.LAN, h.Port)
}

// hostPortNetns is where a host's port (the other end of its veth) lives.
func hostPortNetns(h Host) string {
	if h.LAN != "" {
		return h.LAN
	}
	return dcNetns(h.DC)
}

// registerUplinks binds every edge's uplinks through the controller.
func registerUplinks(ctx context.Context, c *client, t *Topology) error {
	for _, l := range t.LANs {
		for _, u := range l.Uplinks {
			path := "/api/v1/xtrs/" + u.XTR + "/ports"
			if _, err := c.create(ctx, path, portReq{Name: u.Port, InstanceID: u.InstanceID}); err != nil {
				return err
			}
		}
	}
	return nil
}

// lanChecks are Status's lines about the site LANs.
func lanChecks(ctx context.Context, t *Topology, add func(string, bool, string)) {
	for _, l := range t.LANs {
		add("netns "+l.Netns, netnsExists(l.Netns), "")
		for _, u := range l.Uplinks {
			ok := netnsExists(l.Netns) && linkExists(ctx, l.Netns, u.Port) && linkExists(ctx, u.EdgeNetns, u.Port)
			add("uplink "+u.Port, ok, u.XTR)
		}
	}
}
