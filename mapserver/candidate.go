package mapserver

import (
	"net/netip"

	"github.com/l2lisp/l2lisp/mapping"
)

// A forged Map-Register must cost at most one HMAC, whatever the number
// of sites, so the server picks the one site whose key can have signed it
// from what the message says, before verifying anything. A site may
// register the message when it serves the instance-id, its scope holds
// every EID and its rloc_prefixes (if set) hold every locator. Among
// those sites:
//
//  1. the ones that know the source address, because it is one of their
//     xTRs' RLOCs, lies in their rloc_prefixes, or registered the first
//     EID's current record for them; if any, the one with the most
//     specific scope for the first EID;
//  2. otherwise, the one with the most specific scope for the first EID
//     (a site alone is the most specific);
//  3. two with the same length at either step: refused as ambiguous.
//
// None at all: refused by what failed (iid, prefix, mac, no_site, rloc).
// No refusal here costs an HMAC. So sites whose scopes overlap (the EIDs
// that may move between them) must be told apart by where their
// registrations come from (rloc_prefixes or xTRs), or by one holding the
// more specific prefix; a move to the site with the wider scope needs
// the former.
//
// The sites that know the source are found by index; then, when sites
// are fenced by rloc_prefixes, those the first locator admits, or those
// holding the message's rarest EID, or the holders of the first EID from
// the most specific scope length down, stopping at the first length that
// decides. Each site is looked at once. With distinct scopes, or fenced
// sites, it is a few map lookups (BenchmarkPickManySites); the worst case
// is a message whose every EID is held by many sites, none of which may
// register all of it: one cheap check per holder of its rarest EID.

// regInfo is what the choice looks at; registrant names the site whose
// current record of the first EID src registered ("" if none).
type regInfo struct {
	eids       []mapping.EID
	rlocs      []netip.Addr
	src        netip.Addr
	registrant func() string
}

// pickScratch is a reader's reusable space for pick: the sites that know
// the source, and a generation-stamped mark per site so that each site is
// looked at once.
type pickScratch struct {
	known []int32
	seen  []uint32
	gen   uint32
}

func (ps *pickScratch) reset(n int) {
	if len(ps.seen) < n {
		ps.seen, ps.gen = make([]uint32, n), 0
	}
	ps.nextGen()
	ps.known = ps.known[:0]
}

// nextGen forgets which sites were looked at.
func (ps *pickScratch) nextGen() {
	ps.gen++
	if ps.gen == 0 { // wrapped: old stamps could match again
		clear(ps.seen)
		ps.gen = 1
	}
}

// pick returns the index of the one candidate site, or -1 and the reason
// to refuse, by the rules above.
func (s *siteSnap) pick(in *regInfo, ps *pickScratch) (int32, int) {
	first := in.eids[0]
	sc := s.scopes[first.IID]
	if sc == nil {
		return -1, regRefusedIID
	}
	for _, e := range in.eids[1:] {
		// An EID no site holds rules every site out: no need to look.
		if o := s.scopes[e.IID]; o == nil || o.count(e) == 0 {
			return -1, regRefusedNoSite
		}
	}
	ps.reset(len(s.sites))
	if site, why, ok := s.pickKnown(in, ps); ok {
		return site, why
	}
	ps.nextGen() // the known sites may be holders too: look at them again
	switch {
	case len(in.rlocs) > 0 && len(s.unfenced) <= maxUnfenced:
		// The sites the first locator admits, found by index: with sites
		// fenced by their RLOCs, a locator no fence holds costs nothing.
		ps.known = append(ps.known[:0], s.unfenced...)
		return s.pickAmong(in, ps, sc, s.rlocSites.appendHolders(ps.known, in.rlocs[0]), false)
	case len(in.eids) > 1:
		if k := s.rarest(in.eids); k > 0 {
			// Look only at the few sites holding the rarest EID.
			return s.pickAmong(in, ps, sc, s.scopes[in.eids[k].IID].appendHolders(ps.known[:0], in.eids[k]), true)
		}
	}
	return s.pickByScope(in, ps, sc)
}

// maxUnfenced is how many sites without rloc_prefixes pick is ready to
// look at one by one when a message has locators (a variable for tests).
var maxUnfenced = 64

// rarest is the index of the EID the fewest sites' scopes hold (the first
// on a tie).
func (s *siteSnap) rarest(eids []mapping.EID) int {
	best, fewest := 0, s.scopes[eids[0].IID].count(eids[0])
	for k, e := range eids[1:] {
		if n := s.scopes[e.IID].count(e); n < fewest {
			best, fewest = k+1, n
		}
	}
	return best
}

// pickByScope applies rule 2 by walking the scope index from the most
// specific length down.
func (s *siteSnap) pickByScope(in *regInfo, ps *pickScratch, sc *iidScope) (int32, int) {
	first := in.eids[0]
	w := levelWalk{s: s, in: in, ps: ps}
	if first.Family() == mapping.FamilyMAC {
		for _, l := range sc.mac.lens {
			if w.level(sc.mac.m[mapping.MACPrefix{Addr: first.MAC, Bits: l}.Masked()]) {
				return w.result()
			}
		}
		w.level(sc.anyMAC)
		return w.result()
	}
	x := sc.ipIndex(first)
	for _, l := range x.lens {
		if l <= first.Prefix.Bits() && w.level(x.m[netip.PrefixFrom(first.Prefix.Addr(), l).Masked()]) {
			return w.result()
		}
	}
	return w.result()
}

// pickAmong applies rule 2 to the sites of list. complete says that list
// holds every site that holds all the EIDs, so that the reason of a
// refusal is exact; otherwise "rloc" is told when a single EID is at stake.
func (s *siteSnap) pickAmong(in *regInfo, ps *pickScratch, sc *iidScope, list []int32, complete bool) (int32, int) {
	ps.known = list
	best, bits, tie, ownsAll := int32(-1), -1, false, false
	for _, i := range list {
		if ps.seen[i] == ps.gen {
			continue
		}
		ps.seen[i] = ps.gen
		b := s.admits(i, in)
		switch {
		case b > bits:
			best, bits, tie = i, b, false
		case b == bits && b >= 0:
			tie = true
		case b < 0 && !ownsAll:
			ownsAll = s.sites[i].Owns(in.eids[0]) && s.ownsRest(i, in)
		}
	}
	switch {
	case tie:
		return -1, regRefusedAmbiguous
	case best >= 0:
		return best, -1
	case sc.count(in.eids[0]) == 0:
		return -1, outsideScope(in.eids[0])
	case ownsAll || !complete && len(in.eids) == 1:
		return -1, regRefusedRLOC
	}
	return -1, regRefusedNoSite
}

// pickKnown applies rule 3: among the sites that know the source and may
// register the message, the one with the most specific scope. ok is false
// when no such site exists.
func (s *siteSnap) pickKnown(in *regInfo, ps *pickScratch) (int32, int, bool) {
	ps.known = append(ps.known, s.xtrs[in.src]...)
	ps.known = s.rlocSites.appendHolders(ps.known, in.src)
	if in.registrant != nil {
		if i, ok := s.names[in.registrant()]; ok {
			ps.known = append(ps.known, i)
		}
	}
	best, bits, tie := int32(-1), -1, false
	for _, i := range ps.known {
		if ps.seen[i] == ps.gen {
			continue
		}
		ps.seen[i] = ps.gen
		b := s.admits(i, in)
		switch {
		case b > bits:
			best, bits, tie = i, b, false
		case b == bits && b >= 0:
			tie = true
		}
	}
	switch {
	case best < 0:
		return -1, 0, false
	case tie:
		return -1, regRefusedAmbiguous, true
	}
	return best, -1, true
}

// admits is the length of site i's scope holding the first EID if the
// site may register every EID and every locator of the message, else -1.
func (s *siteSnap) admits(i int32, in *regInfo) int {
	st := &s.sites[i]
	if !st.Serves(in.eids[0].IID) {
		return -1
	}
	bits := st.ScopeBits(in.eids[0])
	if bits < 0 || !s.ownsRest(i, in) || !s.allowsRLOCs(i, in) {
		return -1
	}
	return bits
}

// ownsRest checks the EIDs after the first.
func (s *siteSnap) ownsRest(i int32, in *regInfo) bool {
	for _, e := range in.eids[1:] {
		if !s.sites[i].Owns(e) {
			return false
		}
	}
	return true
}

// allowsRLOCs checks the locators.
func (s *siteSnap) allowsRLOCs(i int32, in *regInfo) bool {
	for _, a := range in.rlocs {
		if !s.sites[i].AllowsRLOC(a) {
			return false
		}
	}
	return true
}

// levelWalk applies rules 1, 2 and 4 over the holders of the first EID,
// one scope length at a time, most specific first: the first length with
// a site that may register the message decides, unique or ambiguous.
type levelWalk struct {
	s                *siteSnap
	in               *regInfo
	ps               *pickScratch
	holder, holdsAll bool // some site holds the first EID; some holds every EID
	found            int32
	survivors        int
}

// level looks at the sites holding the first EID at one length; it
// reports whether the choice is made.
func (w *levelWalk) level(sites []int32) bool {
	for _, i := range sites {
		if w.ps.seen[i] == w.ps.gen {
			continue
		}
		w.ps.seen[i] = w.ps.gen
		w.holder = true
		if !w.s.ownsRest(i, w.in) {
			continue
		}
		w.holdsAll = true
		if !w.s.allowsRLOCs(i, w.in) {
			continue
		}
		if w.survivors++; w.survivors == 1 {
			w.found = i
		} else {
			return true // two at the same length: nothing tells them apart
		}
	}
	return w.survivors > 0
}

func (w *levelWalk) result() (int32, int) {
	switch {
	case w.survivors == 1:
		return w.found, -1
	case w.survivors > 1:
		return -1, regRefusedAmbiguous
	case !w.holder:
		return -1, outsideScope(w.in.eids[0])
	case !w.holdsAll:
		return -1, regRefusedNoSite
	}
	return -1, regRefusedRLOC
}

// outsideScope is the refusal for an EID no site's scope holds.
func outsideScope(e mapping.EID) int {
	if e.Family() == mapping.FamilyMAC {
		return regRefusedMAC
	}
	return regRefusedPrefix
}
