package mapserver

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
)

func pfxs(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func macPfxs(t testing.TB, s ...string) []mapping.MACPrefix {
	out := make([]mapping.MACPrefix, len(s))
	for i, p := range s {
		var err error
		if out[i], err = mapping.ParseMACPrefix(p); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// candidateSnap: four sites in iidA.
//
//	a: 10.1.0.0/16, MACs 02:00:10/24, RLOCs 192.0.2.0/24
//	b: 10.1.0.0/16, 10.2.0.0/16, any MAC, an xTR at 203.0.113.2
//	c: 10.1.7.0/24 (inside a and b), RLOCs 198.51.100.0/24
//	d: 10.9.0.0/16 in iidB only
//	e: 10.4.0.0/16
func candidateSnap(t testing.TB) *siteSnap {
	sites := []controller.Site{
		{Name: "a", Networks: []uint32{iidA}, EIDPrefixes: pfxs("10.1.0.0/16"), MACPrefixes: macPfxs(t, "02:00:10:00:00:00/24"),
			RLOCPrefixes: pfxs("192.0.2.0/24")},
		{Name: "b", Networks: []uint32{iidA}, EIDPrefixes: pfxs("10.1.0.0/16", "10.2.0.0/16"), AnyMAC: true},
		{Name: "c", Networks: []uint32{iidA}, EIDPrefixes: pfxs("10.1.7.0/24"), RLOCPrefixes: pfxs("198.51.100.0/24")},
		{Name: "d", Networks: []uint32{iidB}, EIDPrefixes: pfxs("10.9.0.0/16")},
		{Name: "e", Networks: []uint32{iidA}, EIDPrefixes: pfxs("10.4.0.0/16")},
	}
	xtrs := []controller.XTR{{Name: "b-edge", Site: "b", RLOC: netip.MustParseAddr("203.0.113.2")}}
	return newSiteSnap(sites, xtrs)
}

func TestPickCandidate(t *testing.T) {
	snap := candidateSnap(t)
	eid := func(iid uint32, s string) mapping.EID {
		e, err := mapping.ParseEID(iid, s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	addrs := func(s ...string) []netip.Addr {
		out := make([]netip.Addr, len(s))
		for i, a := range s {
			out[i] = netip.MustParseAddr(a)
		}
		return out
	}
	cases := []struct {
		name       string
		eids       []mapping.EID
		rlocs      []netip.Addr
		src        string
		registrant string
		site       string // "" with a refusal
		refusal    int
	}{
		{"only one site holds it", []mapping.EID{eid(iidA, "10.2.3.0/24")}, nil, "127.0.0.1", "", "b", -1},
		{"instance-id nobody serves", []mapping.EID{eid(7, "10.2.3.0/24")}, nil, "127.0.0.1", "", "", regRefusedIID},
		{"ip outside every scope", []mapping.EID{eid(iidA, "10.3.0.1")}, nil, "127.0.0.1", "", "", regRefusedPrefix},
		{"wider than every scope", []mapping.EID{eid(iidA, "10.0.0.0/8")}, nil, "127.0.0.1", "", "", regRefusedPrefix},
		{"served elsewhere only", []mapping.EID{eid(iidB, "10.1.0.1")}, nil, "127.0.0.1", "", "", regRefusedPrefix},
		{"mac: any_mac", []mapping.EID{eid(iidA, "0a:00:00:00:00:01")}, nil, "127.0.0.1", "", "b", -1},
		{"no one site holds all records", []mapping.EID{eid(iidA, "10.2.3.0/24"), eid(iidA, "10.4.0.9")},
			nil, "127.0.0.1", "", "", regRefusedNoSite},
		{"records narrow the choice", []mapping.EID{eid(iidA, "10.1.7.9"), eid(iidA, "10.2.0.9")}, nil, "127.0.0.1", "", "b", -1},
		{"locators outside every candidate", []mapping.EID{eid(iidA, "02:00:10:00:00:01")}, addrs("203.0.113.9"),
			"127.0.0.1", "", "b", -1}, // b allows any RLOC
		{"locators outside the only holder", []mapping.EID{eid(iidA, "10.1.7.9")}, addrs("203.0.113.9", "192.0.2.1"),
			"127.0.0.1", "", "b", -1},
		{"locators decide between overlapping sites", []mapping.EID{eid(iidA, "10.1.7.9")}, addrs("198.51.100.7"),
			"127.0.0.1", "", "c", -1},
		{"rloc refused", []mapping.EID{eid(iidA, "10.9.0.1")}, addrs("192.0.2.1"), "127.0.0.1", "", "", regRefusedPrefix},
		{"the source is an xTR of the less specific site", []mapping.EID{eid(iidA, "10.1.7.9")}, nil,
			"203.0.113.2", "", "b", -1},
		{"the source lies in a site's rloc_prefixes", []mapping.EID{eid(iidA, "10.1.5.0/24")}, nil,
			"192.0.2.77", "", "a", -1},
		{"the source registered the current record", []mapping.EID{eid(iidA, "10.1.5.0/24")}, nil,
			"127.0.0.1", "b", "b", -1},
		{"nothing known: the most specific scope", []mapping.EID{eid(iidA, "10.1.7.9")}, nil, "127.0.0.1", "", "c", -1},
		{"nothing known, equal scopes", []mapping.EID{eid(iidA, "10.1.5.0/24")}, nil, "127.0.0.1", "", "", regRefusedAmbiguous},
		{"mac: the oui beats any_mac", []mapping.EID{eid(iidA, "02:00:10:00:00:01")}, nil, "127.0.0.1", "", "a", -1},
		{"mac: b's xTR beats the oui", []mapping.EID{eid(iidA, "02:00:10:00:00:01")}, nil, "203.0.113.2", "", "b", -1},
	}
	var scratch pickScratch
	for _, c := range cases {
		in := regInfo{eids: c.eids, rlocs: c.rlocs, src: netip.MustParseAddr(c.src),
			registrant: func() string { return c.registrant }}
		i, why := snap.pick(&in, &scratch)
		got := ""
		if i >= 0 {
			got = snap.sites[i].Name
		}
		if got != c.site || why != c.refusal {
			t.Errorf("%s: site %q refusal %d, want %q %d", c.name, got, why, c.site, c.refusal)
		}
	}
}

// manySites is n sites in iidA: site i holds 10.(i/256).(i%256).0/24 and
// all hold 10.0.0.0/8, so every EID of the /8 has n candidates by scope.
func manySites(n int) []controller.Site {
	sites := make([]controller.Site, n)
	for i := range sites {
		sites[i] = controller.Site{Name: fmt.Sprintf("s%04d", i), AuthKey: fmt.Sprintf("key-of-site-%04d", i),
			Networks: []uint32{iidA}, EIDPrefixes: pfxs("10.0.0.0/8", fmt.Sprintf("10.%d.%d.0/24", i/256, i%256))}
	}
	return sites
}

func TestPickManySites(t *testing.T) {
	snap := newSiteSnap(manySites(1000), nil)
	in := regInfo{eids: []mapping.EID{mapping.PrefixEID(iidA, netip.MustParsePrefix("10.1.244.7/32"))},
		src: netip.MustParseAddr("127.0.0.1")}
	var ps pickScratch
	i, why := snap.pick(&in, &ps)
	if why != -1 || snap.sites[i].Name != "s0500" {
		t.Fatalf("picked %d refusal %d, want s0500", i, why)
	}
	in.eids[0] = mapping.PrefixEID(iidA, netip.MustParsePrefix("10.200.0.0/24"))
	if _, why := snap.pick(&in, &ps); why != regRefusedAmbiguous {
		t.Fatalf("an EID all 1000 sites hold alike: refusal %d", why)
	}
}

// BenchmarkPickManySites: the cost of choosing the site among 1,000, for
// an EID inside one site's /24; for one that every site holds only by the
// shared /8; for that with every site fenced by rloc_prefixes and a
// locator in none of them; and the worst case: a second record that only
// one site holds, so every holder of the first must be looked at.
func BenchmarkPickManySites(b *testing.B) {
	sites := manySites(1000)
	fenced := manySites(1000)
	for i := range fenced {
		fenced[i].RLOCPrefixes = pfxs(fmt.Sprintf("2001:db8:%x::/48", i))
	}
	lonely := manySites(1000)
	lonely[999].EIDPrefixes = append(lonely[999].EIDPrefixes, pfxs("172.16.0.0/16")...)
	eids := func(s ...string) []mapping.EID {
		out := make([]mapping.EID, len(s))
		for i, p := range s {
			out[i] = mapping.PrefixEID(iidA, netip.MustParsePrefix(p))
		}
		return out
	}
	for _, c := range []struct {
		name  string
		sites []controller.Site
		eids  []mapping.EID
		rloc  []netip.Addr
	}{
		{"distinct", sites, eids("10.1.244.7/32"), nil},
		{"shared", sites, eids("10.200.0.0/24"), nil},
		{"fenced-foreign-rloc", fenced, eids("10.200.0.0/24"), []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
		// Every site holds the first EID by the /8, only s0999 the second.
		{"worst", lonely, eids("10.200.0.0/24", "172.16.0.0/24"), nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			snap := newSiteSnap(c.sites, nil)
			in := regInfo{eids: c.eids, rlocs: c.rloc, src: netip.MustParseAddr("127.0.0.1")}
			var ps pickScratch
			b.ReportAllocs()
			for b.Loop() {
				snap.pick(&in, &ps)
			}
		})
	}
}

// naivePick is the rule stated plainly, over every site: the reference
// that pick, with its indexes and shortcuts, must agree with.
func naivePick(snap *siteSnap, in *regInfo) (string, bool) {
	var admitted, known []int32
	reg := in.registrant()
	for i := range snap.sites {
		st := &snap.sites[i]
		if snap.admits(int32(i), in) < 0 {
			continue
		}
		admitted = append(admitted, int32(i))
		xtr := false
		for _, j := range snap.xtrs[in.src] {
			xtr = xtr || j == int32(i)
		}
		if xtr || st.Name == reg || len(st.RLOCPrefixes) > 0 && st.AllowsRLOC(in.src) {
			known = append(known, int32(i))
		}
	}
	set := admitted
	if len(known) > 0 {
		set = known
	}
	best, n := -1, 0
	for _, i := range set {
		switch b := snap.sites[i].ScopeBits(in.eids[0]); {
		case b > best:
			best, n = b, 1
		case b == best:
			n++
		}
	}
	for _, i := range set {
		if n == 1 && snap.sites[i].ScopeBits(in.eids[0]) == best {
			return snap.sites[i].Name, false
		}
	}
	return "", len(set) > 0 // ambiguous, or refused for want of any site
}

// TestPickMatchesRule compares pick with naivePick on random sites and
// messages, through every path (locators with few and many unfenced
// sites, several records, known sources).
func TestPickMatchesRule(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 9))
	ips := []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16", "10.1.2.0/25", "2001:db8::/32", "2001:db8:1::/48"}
	macs := []string{"02:00:00:00:00:00/16", "02:00:10:00:00:00/24", "02:00:10:80:00:00/25", "0a:00:00:00:00:00/8"}
	rlocs := []string{"192.0.2.0/24", "192.0.2.0/25", "198.51.100.0/24", "2001:db8:ff::/48"}
	eids := []string{"10.1.2.3", "10.1.2.200", "10.1.9.0/24", "10.2.0.0/16", "10.3.0.1", "10.0.0.0/8", "2001:db8:1::5",
		"02:00:10:00:00:01", "02:00:10:90:00:01", "02:00:20:00:00:01", "0a:00:00:00:00:01", "0c:00:00:00:00:01"}
	addrs := []string{"192.0.2.1", "192.0.2.200", "198.51.100.7", "203.0.113.1", "2001:db8:ff::1", "127.0.0.1"}
	some := func(pool []string, p float64) []string {
		var out []string
		for _, x := range pool {
			if rnd.Float64() < p {
				out = append(out, x)
			}
		}
		return out
	}
	defer func(v int) { maxUnfenced = v }(maxUnfenced)
	var ps pickScratch
	for round := range 3000 {
		sites := make([]controller.Site, 3+rnd.IntN(8))
		for i := range sites {
			sites[i] = controller.Site{Name: fmt.Sprintf("s%d", i), Networks: []uint32{1 + uint32(rnd.IntN(2))},
				EIDPrefixes: pfxs(some(ips, 0.3)...), MACPrefixes: macPfxs(t, some(macs, 0.3)...),
				AnyMAC: rnd.IntN(5) == 0, RLOCPrefixes: pfxs(some(rlocs, 0.25)...)}
		}
		var xtrs []controller.XTR
		for _, a := range some(addrs, 0.3) {
			xtrs = append(xtrs, controller.XTR{Site: sites[rnd.IntN(len(sites))].Name, RLOC: netip.MustParseAddr(a)})
		}
		snap := newSiteSnap(sites, xtrs)
		maxUnfenced = []int{0, 64}[round%2]
		for range 20 {
			in := regInfo{src: netip.MustParseAddr(addrs[rnd.IntN(len(addrs))])}
			iid := uint32(1 + rnd.IntN(2))
			for range 1 + rnd.IntN(3) {
				e, _ := mapping.ParseEID(iid, eids[rnd.IntN(len(eids))])
				in.eids = append(in.eids, e)
			}
			for range rnd.IntN(3) {
				in.rlocs = append(in.rlocs, netip.MustParseAddr(addrs[rnd.IntN(len(addrs))]))
			}
			reg := ""
			if rnd.IntN(3) == 0 {
				reg = sites[rnd.IntN(len(sites))].Name
			}
			in.registrant = func() string { return reg }
			i, why := snap.pick(&in, &ps)
			got := ""
			if i >= 0 {
				got = snap.sites[i].Name
			}
			want, ambiguous := naivePick(snap, &in)
			if got != want || ambiguous != (why == regRefusedAmbiguous) {
				t.Fatalf("round %d: sites %+v xtrs %+v message %+v registrant %q: pick %q (refusal %d), rule %q (ambiguous %v)",
					round, sites, xtrs, in, reg, got, why, want, ambiguous)
			}
		}
	}
}
