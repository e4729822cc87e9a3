package controller

import (
	"fmt"
	"net/netip"

	"github.com/l2lisp/l2lisp/mapping"
)

// A site's scope is what its Map-Registers may claim: the instance-ids it
// serves, IP EIDs inside its eid_prefixes, MAC EIDs inside its
// mac_prefixes (or any MAC with any_mac) and, when rloc_prefixes is not
// empty, only RLOCs inside it. Unlike Covers, an empty eid_prefixes list
// lets a site register no IP EID at all: a key alone grants nothing.

// Owns reports whether the site may register e.
func (s Site) Owns(e mapping.EID) bool { return s.Serves(e.IID) && s.ScopeBits(e) >= 0 }

// ScopeBits is the length of the most specific part of the site's scope
// that holds e (any_mac counts as 0), or -1 if none does. Between sites
// whose scopes overlap, the more specific one is the likelier registrant.
func (s Site) ScopeBits(e mapping.EID) int {
	best := -1
	if e.Family() == mapping.FamilyMAC {
		if s.AnyMAC {
			best = 0
		}
		for _, p := range s.MACPrefixes {
			if p.Bits > best && p.Contains(e.MAC) {
				best = p.Bits
			}
		}
		return best
	}
	for _, sp := range s.EIDPrefixes {
		if sp.Bits() > best && prefixHolds(sp, e.Prefix) {
			best = sp.Bits()
		}
	}
	return best
}

// prefixHolds reports whether p lies inside outer.
func prefixHolds(outer, p netip.Prefix) bool {
	return outer.Addr().Is4() == p.Addr().Is4() && outer.Bits() <= p.Bits() && outer.Contains(p.Addr())
}

// AllowsRLOC reports whether the site may register locator a (an empty
// rloc_prefixes list allows any).
func (s Site) AllowsRLOC(a netip.Addr) bool {
	if len(s.RLOCPrefixes) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range s.RLOCPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Refusal is why a registration is refused; the Map-Server counts them.
type Refusal string

// Refusals of a registration.
const (
	RefusedIID     Refusal = "iid"     // the site does not serve the instance-id
	RefusedPrefix  Refusal = "prefix"  // an IP EID outside the site's eid_prefixes
	RefusedMAC     Refusal = "mac"     // a MAC EID outside mac_prefixes, any_mac off
	RefusedRLOC    Refusal = "rloc"    // a locator outside the site's rloc_prefixes
	RefusedStatic  Refusal = "static"  // an operator's mapping: never replaced by a registration
	RefusedForeign Refusal = "foreign" // another site holds the EID outside its scope: not a move
)

// RefusedError is a registration the controller will not store.
type RefusedError struct {
	Reason Refusal
	Site   string // the registering site
	EID    mapping.EID
	Owner  string // the site holding the EID, for static and foreign
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("site %q may not register %s: %s", e.Site, e.EID, e.Reason)
	if e.Owner != "" {
		msg += fmt.Sprintf(" (held by site %q)", e.Owner)
	}
	return msg
}

// ScopeRefusal says why the site may not register rec at all, or "".
func (s Site) ScopeRefusal(rec *mapping.Record) Refusal {
	switch {
	case !s.Serves(rec.EID.IID):
		return RefusedIID
	case s.ScopeBits(rec.EID) < 0 && rec.EID.Family() == mapping.FamilyMAC:
		return RefusedMAC
	case s.ScopeBits(rec.EID) < 0:
		return RefusedPrefix
	}
	for _, l := range rec.Locators {
		if !s.AllowsRLOC(l.Addr) {
			return RefusedRLOC
		}
	}
	return ""
}

// ReplaceRefusal is the precedence rule between a registration by site
// and the record already there: old is the record of exactly the EID
// (exact) or the most specific IP prefix covering it; oldSite is old's
// site, nil if it no longer exists. A static record is never replaced,
// nor cut into by a more specific registration of another site. A record
// of another site moves only when that site's scope holds the EID too
// (the registering site's scope was checked before).
func ReplaceRefusal(site string, old *mapping.Record, exact bool, oldSite *Site) Refusal {
	switch {
	case old.Origin == mapping.OriginStatic && (exact || old.Site != site):
		return RefusedStatic
	case !exact || old.Site == site:
		return ""
	case oldSite == nil || !oldSite.Owns(old.EID):
		return RefusedForeign
	}
	return ""
}

// applyScope validates and sets the scope fields of a site input.
func applyScope(s *Site, in SiteInput) error {
	if in.MACPrefixes != nil {
		s.MACPrefixes = make([]mapping.MACPrefix, 0, len(*in.MACPrefixes))
		for _, t := range *in.MACPrefixes {
			p, err := mapping.ParseMACPrefix(t)
			if err != nil {
				return invalid("mac_prefixes", "%v (want e.g. 02:00:10:00:00:00/24)", err)
			}
			s.MACPrefixes = append(s.MACPrefixes, p)
		}
	}
	if in.AnyMAC != nil {
		s.AnyMAC = *in.AnyMAC
	}
	if in.RLOCPrefixes != nil {
		s.RLOCPrefixes = make([]netip.Prefix, 0, len(*in.RLOCPrefixes))
		for _, t := range *in.RLOCPrefixes {
			p, err := netip.ParsePrefix(t)
			if err != nil || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				return invalid("rloc_prefixes", "malformed prefix %q (want e.g. 192.0.2.0/24)", t)
			}
			s.RLOCPrefixes = append(s.RLOCPrefixes, p.Masked())
		}
	}
	return nil
}
