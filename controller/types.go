package controller

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// Network is a tenant network, one LISP instance-id.
type Network struct {
	InstanceID uint32 `json:"instance_id"`
	Name       string `json:"name"`
	// Encapsulation is how the network's frames cross the WAN: "lisp-gpe"
	// (the default) or "vxlan" (pipeline.Encap).
	Encapsulation string `json:"encapsulation"`
	// ForwardingMode is how remote hosts get into the switches: "push"
	// (the default), "on-demand" or "auto" (modes.go).
	ForwardingMode string `json:"forwarding_mode"`
	// AutoThreshold is the host count above which an auto network
	// forwards on demand.
	AutoThreshold int64     `json:"auto_threshold"`
	CreatedAt     time.Time `json:"created_at"`
}

// Site is a LISP site (a datacenter). AuthKey is write-only: never shown.
// EIDPrefixes, MACPrefixes, AnyMAC and RLOCPrefixes are its scope: what
// its Map-Registers may claim (see Owns and AllowsRLOC in scope.go).
type Site struct {
	Name         string              `json:"name"`
	AuthKey      string              `json:"-"`
	Networks     []uint32            `json:"networks"`
	EIDPrefixes  []netip.Prefix      `json:"eid_prefixes"`
	MACPrefixes  []mapping.MACPrefix `json:"mac_prefixes"`
	AnyMAC       bool                `json:"any_mac"`
	RLOCPrefixes []netip.Prefix      `json:"rloc_prefixes"`
	CreatedAt    time.Time           `json:"created_at"`
	UpdatedAt    time.Time           `json:"updated_at"`
}

// Serves reports whether the site may use instance-id iid.
func (s Site) Serves(iid uint32) bool {
	for _, n := range s.Networks {
		if n == iid {
			return true
		}
	}
	return false
}

// Covers reports whether an IP EID prefix lies inside the site's prefixes
// (an empty list allows any). It bounds what an operator or host learning
// may put at the site; registrations use the stricter Owns.
func (s Site) Covers(p netip.Prefix) bool {
	if len(s.EIDPrefixes) == 0 {
		return true
	}
	for _, sp := range s.EIDPrefixes {
		if sp.Addr().Is4() == p.Addr().Is4() && sp.Bits() <= p.Bits() && sp.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// XTR is a datacenter edge switch (an Open vSwitch bridge) of a site.
type XTR struct {
	Name           string     `json:"name"`
	Site           string     `json:"site"`
	RLOC           netip.Addr `json:"rloc"`
	OVSDB          string     `json:"ovsdb"`
	Bridge         string     `json:"bridge"`
	DatapathType   string     `json:"datapath_type"`
	OpenFlowTarget string     `json:"openflow_target,omitempty"`
	TLSDir         string     `json:"tls_dir"` // on the switch host: key.pem, cert.pem, ca.pem
	DatapathID     uint64     `json:"datapath_id,string"`
	Priority       uint8      `json:"priority"`
	Weight         uint8      `json:"weight"`
	Drained        bool       `json:"drained"`    // out of service for maintenance (drain.go)
	BFDOFPort      uint32     `json:"bfd_ofport"` // OpenFlow port of every bridge's BFD session with this RLOC
	CreatedAt      time.Time  `json:"created_at"`
}

// Port binds an access port of an xTR to a tenant network.
type Port struct {
	XTR        string    `json:"xtr"`
	Name       string    `json:"name"`
	InstanceID uint32    `json:"instance_id"`
	OFPort     uint32    `json:"ofport"`
	CreatedAt  time.Time `json:"created_at"`
}

func siteFromRow(r store.Site) (Site, error) {
	s := Site{Name: r.Name, AuthKey: r.AuthKey, AnyMAC: r.AnyMAC, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	for _, f := range []struct {
		name, text string
		v          any
	}{{"networks", r.Networks, &s.Networks}, {"eid_prefixes", r.EIDPrefixes, &s.EIDPrefixes},
		{"mac_prefixes", r.MACPrefixes, &s.MACPrefixes}, {"rloc_prefixes", r.RLOCPrefixes, &s.RLOCPrefixes}} {
		if f.text == "" {
			continue // a row written before the column existed
		}
		if err := json.Unmarshal([]byte(f.text), f.v); err != nil {
			return s, fmt.Errorf("site %s %s: %w", r.Name, f.name, err)
		}
	}
	return s.withEmptyLists(), nil
}

// withEmptyLists turns nil lists into empty ones, so JSON shows [] not null.
func (s Site) withEmptyLists() Site {
	if s.Networks == nil {
		s.Networks = []uint32{}
	}
	if s.EIDPrefixes == nil {
		s.EIDPrefixes = []netip.Prefix{}
	}
	if s.MACPrefixes == nil {
		s.MACPrefixes = []mapping.MACPrefix{}
	}
	if s.RLOCPrefixes == nil {
		s.RLOCPrefixes = []netip.Prefix{}
	}
	return s
}

func siteToRow(s Site) store.Site {
	s = s.withEmptyLists()
	nets, _ := json.Marshal(s.Networks)
	pfx, _ := json.Marshal(s.EIDPrefixes)
	macs, _ := json.Marshal(s.MACPrefixes)
	rlocs, _ := json.Marshal(s.RLOCPrefixes)
	return store.Site{Name: s.Name, AuthKey: s.AuthKey, Networks: string(nets), EIDPrefixes: string(pfx),
		MACPrefixes: string(macs), AnyMAC: s.AnyMAC, RLOCPrefixes: string(rlocs),
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func xtrFromRow(r store.XTR) (XTR, error) {
	if r.TLSDir == "" {
		r.TLSDir = DefaultTLSDir // rows from before the column existed
	}
	a, err := netip.ParseAddr(r.RLOC)
	if err != nil {
		return XTR{}, fmt.Errorf("xtr %s rloc: %w", r.Name, err)
	}
	return XTR{Name: r.Name, Site: r.Site, RLOC: a, OVSDB: r.OVSDB, Bridge: r.Bridge,
		DatapathType: r.DatapathType, OpenFlowTarget: r.OpenFlowTarget, TLSDir: r.TLSDir, DatapathID: uint64(r.DatapathID),
		Priority: r.Priority, Weight: r.Weight, Drained: r.Drained, BFDOFPort: r.BFDOFPort, CreatedAt: r.CreatedAt}, nil
}

func xtrToRow(x XTR) store.XTR {
	return store.XTR{Name: x.Name, Site: x.Site, RLOC: x.RLOC.String(), OVSDB: x.OVSDB, Bridge: x.Bridge,
		DatapathType: x.DatapathType, OpenFlowTarget: x.OpenFlowTarget, TLSDir: x.TLSDir, DatapathID: int64(x.DatapathID),
		Priority: x.Priority, Weight: x.Weight, Drained: x.Drained, BFDOFPort: x.BFDOFPort, CreatedAt: x.CreatedAt}
}
