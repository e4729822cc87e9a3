package controller

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/l2lisp/l2lisp/store"
)

// Network is a tenant network, one LISP instance-id.
type Network struct {
	InstanceID uint32 `json:"instance_id"`
	Name       string `json:"name"`
	// Encapsulation is how the network's frames cross the WAN: "lisp-gpe"
	// (the default) or "vxlan" (pipeline.Encap).
	Encapsulation string    `json:"encapsulation"`
	CreatedAt     time.Time `json:"created_at"`
}

// Site is a LISP site (a datacenter). AuthKey is write-only: never shown.
type Site struct {
	Name        string         `json:"name"`
	AuthKey     string         `json:"-"`
	Networks    []uint32       `json:"networks"`
	EIDPrefixes []netip.Prefix `json:"eid_prefixes"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
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
// (an empty list allows any).
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
	DatapathID     uint64     `json:"datapath_id,string"`
	Priority       uint8      `json:"priority"`
	Weight         uint8      `json:"weight"`
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
	s := Site{Name: r.Name, AuthKey: r.AuthKey, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal([]byte(r.Networks), &s.Networks); err != nil {
		return s, fmt.Errorf("site %s networks: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(r.EIDPrefixes), &s.EIDPrefixes); err != nil {
		return s, fmt.Errorf("site %s prefixes: %w", r.Name, err)
	}
	if s.Networks == nil {
		s.Networks = []uint32{}
	}
	if s.EIDPrefixes == nil {
		s.EIDPrefixes = []netip.Prefix{}
	}
	return s, nil
}

func siteToRow(s Site) store.Site {
	nets, _ := json.Marshal(s.Networks)
	pfx, _ := json.Marshal(s.EIDPrefixes)
	return store.Site{Name: s.Name, AuthKey: s.AuthKey, Networks: string(nets), EIDPrefixes: string(pfx),
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func xtrFromRow(r store.XTR) (XTR, error) {
	a, err := netip.ParseAddr(r.RLOC)
	if err != nil {
		return XTR{}, fmt.Errorf("xtr %s rloc: %w", r.Name, err)
	}
	return XTR{Name: r.Name, Site: r.Site, RLOC: a, OVSDB: r.OVSDB, Bridge: r.Bridge,
		DatapathType: r.DatapathType, OpenFlowTarget: r.OpenFlowTarget, DatapathID: uint64(r.DatapathID),
		Priority: r.Priority, Weight: r.Weight, CreatedAt: r.CreatedAt}, nil
}

func xtrToRow(x XTR) store.XTR {
	return store.XTR{Name: x.Name, Site: x.Site, RLOC: x.RLOC.String(), OVSDB: x.OVSDB, Bridge: x.Bridge,
		DatapathType: x.DatapathType, OpenFlowTarget: x.OpenFlowTarget, DatapathID: int64(x.DatapathID),
		Priority: x.Priority, Weight: x.Weight, CreatedAt: x.CreatedAt}
}
