package controller

import (
	"net/netip"
	"testing"

	"github.com/l2lisp/l2lisp/mapping"
)

func scopeSite(t *testing.T) Site {
	t.Helper()
	mac, err := mapping.ParseMACPrefix("02:00:10:00:00:00/24")
	if err != nil {
		t.Fatal(err)
	}
	return Site{Name: "dc1", Networks: []uint32{7}, MACPrefixes: []mapping.MACPrefix{mac},
		EIDPrefixes:  []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.1.2.0/24")},
		RLOCPrefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
}

func eidOf(t *testing.T, iid uint32, s string) mapping.EID {
	t.Helper()
	e, err := mapping.ParseEID(iid, s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSiteScope(t *testing.T) {
	s := scopeSite(t)
	anyMAC := s
	anyMAC.AnyMAC = true
	noIP := s
	noIP.EIDPrefixes = nil
	cases := []struct {
		name string
		site Site
		iid  uint32
		eid  string
		bits int
	}{
		{"ip in the /16", s, 7, "10.1.9.0/24", 16},
		{"ip in the /24 too: most specific", s, 7, "10.1.2.7", 24},
		{"the /16 itself", s, 7, "10.1.0.0/16", 16},
		{"wider than the scope", s, 7, "10.0.0.0/8", -1},
		{"ip outside", s, 7, "10.2.0.1", -1},
		{"ipv6 never matches ipv4", s, 7, "::a01:1", -1},
		{"no eid_prefixes: no ip at all", noIP, 7, "10.1.9.1", -1},
		{"mac in the oui", s, 7, "02:00:10:00:00:07", 24},
		{"mac outside", s, 7, "02:00:11:00:00:07", -1},
		{"any mac", anyMAC, 7, "0a:00:00:00:00:01", 0},
		{"any mac keeps the oui's length", anyMAC, 7, "02:00:10:00:00:07", 24},
	}
	for _, c := range cases {
		e := eidOf(t, c.iid, c.eid)
		if got := c.site.ScopeBits(e); got != c.bits {
			t.Errorf("%s: ScopeBits %d, want %d", c.name, got, c.bits)
		}
		if got := c.site.Owns(e); got != (c.bits >= 0) {
			t.Errorf("%s: Owns %v", c.name, got)
		}
	}
	if s.Owns(eidOf(t, 8, "10.1.9.1")) {
		t.Error("owns an EID of an instance-id it does not serve")
	}
	for a, want := range map[string]bool{"192.0.2.9": true, "::ffff:192.0.2.9": true, "198.51.100.1": false} {
		if got := s.AllowsRLOC(netip.MustParseAddr(a)); got != want {
			t.Errorf("AllowsRLOC(%s) = %v", a, got)
		}
	}
	if !(Site{}).AllowsRLOC(netip.MustParseAddr("203.0.113.1")) {
		t.Error("an empty rloc_prefixes list refuses an RLOC")
	}
}

func TestScopeRefusal(t *testing.T) {
	s := scopeSite(t)
	loc := func(a string) []mapping.Locator { return []mapping.Locator{{Addr: netip.MustParseAddr(a)}} }
	cases := []struct {
		iid  uint32
		eid  string
		locs []mapping.Locator
		want Refusal
	}{
		{7, "10.1.3.0/24", loc("192.0.2.1"), ""},
		{8, "10.1.3.0/24", loc("192.0.2.1"), RefusedIID},
		{7, "10.9.3.0/24", loc("192.0.2.1"), RefusedPrefix},
		{7, "02:00:20:00:00:01", loc("192.0.2.1"), RefusedMAC},
		{7, "02:00:10:00:00:01", loc("198.51.100.1"), RefusedRLOC},
		{7, "02:00:10:00:00:01", nil, ""},
	}
	for _, c := range cases {
		rec := mapping.Record{EID: eidOf(t, c.iid, c.eid), Locators: c.locs}
		if got := s.ScopeRefusal(&rec); got != c.want {
			t.Errorf("[%d]%s: %q, want %q", c.iid, c.eid, got, c.want)
		}
	}
}

func TestReplaceRefusal(t *testing.T) {
	a, b := scopeSite(t), scopeSite(t)
	b.Name = "dc2"
	narrow := b
	narrow.MACPrefixes = nil
	mac := eidOf(t, 7, "02:00:10:00:00:07")
	rec := func(origin mapping.Origin, site string) *mapping.Record {
		return &mapping.Record{EID: mac, Origin: origin, Site: site}
	}
	cases := []struct {
		name    string
		old     *mapping.Record
		exact   bool
		oldSite *Site
		want    Refusal
	}{
		{"static of another site", rec(mapping.OriginStatic, "dc2"), true, &b, RefusedStatic},
		{"static of the same site", rec(mapping.OriginStatic, "dc1"), true, &a, RefusedStatic},
		{"covering static of another site", rec(mapping.OriginStatic, "dc2"), false, nil, RefusedStatic},
		{"covering static of the same site", rec(mapping.OriginStatic, "dc1"), false, nil, ""},
		{"own registration", rec(mapping.OriginRegistered, "dc1"), true, &a, ""},
		{"move: both scopes hold it", rec(mapping.OriginRegistered, "dc2"), true, &b, ""},
		{"old site's scope does not hold it", rec(mapping.OriginRegistered, "dc2"), true, &narrow, RefusedForeign},
		{"learned elsewhere, outside that site's scope", rec(mapping.OriginLearned, "dc2"), true, &narrow, RefusedForeign},
		{"learned elsewhere, inside it", rec(mapping.OriginLearned, "dc2"), true, &b, ""},
		{"old site gone", rec(mapping.OriginRegistered, "dc3"), true, nil, RefusedForeign},
		{"covering registration of another site", rec(mapping.OriginRegistered, "dc2"), false, nil, ""},
	}
	for _, c := range cases {
		if got := ReplaceRefusal("dc1", c.old, c.exact, c.oldSite); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
