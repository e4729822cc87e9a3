package mapserver

import (
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/mapping"
)

// A forged Map-Register must cost at most one HMAC, whatever the number
// of sites, so the server picks the one site whose key can have signed it
// from what the message says, before verifying anything:
//
//  1. scope: the sites that serve the instance-id and whose scope holds
//     every EID of the message, and whose rloc_prefixes (if set) hold
//     every locator. None: refused without an HMAC (iid, prefix, mac,
//     no_site, rloc).
//  2. one left: that site.
//  3. several (overlapping scopes, as during a move): those that know the
//     source address, because it is one of their xTRs' RLOCs, lies in
//     their rloc_prefixes, or registered the first EID's current record
//     for them.
//  4. still several: the most specific scope for the first EID.
//  5. still several: refused as ambiguous, without an HMAC.
//
// So sites whose scopes overlap must be told apart by where their
// registrations come from (rloc_prefixes or xTRs), or by one holding the
// more specific prefix.

// candidate is a site that may register the message, with the length of
// its most specific scope prefix holding the first EID.
type candidate struct {
	site int32
	bits int
}

// regInfo is what the choice looks at; registrant names the site whose
// current record of the first EID src registered ("" if none), asked
// only when scopes overlap.
type regInfo struct {
	eids       []mapping.EID
	rlocs      []netip.Addr
	src        netip.Addr
	registrant func() string
}

// pick returns the index of the one candidate site, or -1 and the reason
// to refuse. out is scratch space, returned for reuse.
func (s *siteSnap) pick(in *regInfo, out []candidate) (int32, int, []candidate) {
	out = out[:0]
	first := in.eids[0]
	sc := s.scopes[first.IID]
	if sc == nil {
		return -1, regRefusedIID, out
	}
	if out = sc.holders(first, out); len(out) == 0 {
		return -1, outsideScope(first), out
	}
	for _, e := range in.eids[1:] {
		out = slices.DeleteFunc(out, func(c candidate) bool { return !s.sites[c.site].Owns(e) })
	}
	if len(out) == 0 {
		return -1, regRefusedNoSite, out
	}
	out = slices.DeleteFunc(out, func(c candidate) bool {
		for _, a := range in.rlocs {
			if !s.sites[c.site].AllowsRLOC(a) {
				return true
			}
		}
		return false
	})
	switch len(out) {
	case 0:
		return -1, regRefusedRLOC, out
	case 1:
		return out[0].site, -1, out
	}
	if known := s.knownBy(in, out); len(known) > 0 {
		out = known
	}
	if len(out) == 1 {
		return out[0].site, -1, out
	}
	best := slices.MaxFunc(out, func(a, b candidate) int { return a.bits - b.bits }).bits
	out = slices.DeleteFunc(out, func(c candidate) bool { return c.bits < best })
	if len(out) == 1 {
		return out[0].site, -1, out
	}
	return -1, regRefusedAmbiguous, out
}

// knownBy returns the candidates that know the source, moved to the
// front of cands; none (and cands untouched) if no candidate does.
func (s *siteSnap) knownBy(in *regInfo, cands []candidate) []candidate {
	reg := ""
	if in.registrant != nil {
		reg = in.registrant()
	}
	xtrSites := s.xtrs[in.src.Unmap()]
	n := 0
	for _, c := range cands {
		st := &s.sites[c.site]
		if slices.Contains(xtrSites, c.site) || st.Name == reg ||
			len(st.RLOCPrefixes) > 0 && st.AllowsRLOC(in.src) {
			cands[n] = c
			n++
		}
	}
	return cands[:n]
}

// outsideScope is the refusal for an EID no site's scope holds.
func outsideScope(e mapping.EID) int {
	if e.Family() == mapping.FamilyMAC {
		return regRefusedMAC
	}
	return regRefusedPrefix
}

// holders appends to out the sites whose scope holds e, each once, with
// the length of its most specific prefix holding it (0 for any_mac).
func (sc *iidScope) holders(e mapping.EID, out []candidate) []candidate {
	if e.Family() == mapping.FamilyMAC {
		for _, l := range sc.mac.lens {
			out = addHolders(out, sc.mac.m[mapping.MACPrefix{Addr: e.MAC, Bits: l}.Masked()], l)
		}
		return addHolders(out, sc.anyMAC, 0)
	}
	x := &sc.v6
	if e.Prefix.Addr().Is4() {
		x = &sc.v4
	}
	for _, l := range x.lens {
		if l <= e.Prefix.Bits() {
			out = addHolders(out, x.m[netip.PrefixFrom(e.Prefix.Addr(), l).Masked()], l)
		}
	}
	return out
}

// addHolders appends the sites not yet in out; lengths come longest
// first, so a site keeps its most specific one.
func addHolders(out []candidate, sites []int32, bits int) []candidate {
	for _, i := range sites {
		if !slices.ContainsFunc(out, func(c candidate) bool { return c.site == i }) {
			out = append(out, candidate{site: i, bits: bits})
		}
	}
	return out
}
