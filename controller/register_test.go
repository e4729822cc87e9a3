package controller_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store/storetest"
)

func strs(s ...string) *[]string { return &s }

// TestSiteScopeFields stores the new scope fields on SQLite and
// PostgreSQL, sees them on a second replica, and names the field of each
// malformed one.
func TestSiteScopeFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		a, b := newController(t, dsn), newController(t, dsn)
		ctx := context.Background()
		if _, err := a.CreateNetwork(ctx, 4100, "blue"); err != nil {
			t.Fatal(err)
		}
		key, nets, yes := "key-of-dc1", []int64{4100}, true
		s, err := a.CreateSite(ctx, controller.SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets,
			MACPrefixes: strs("02:00:10:ab:00:00/24", "0a:00:00:00:00:01"), RLOCPrefixes: strs("192.0.2.0/24", "2001:db8::/32")})
		if err != nil {
			t.Fatal(err)
		}
		if got := joinAny(s.MACPrefixes); got != "02:00:10:00:00:00/24 0a:00:00:00:00:01/48" || s.AnyMAC ||
			joinAny(s.RLOCPrefixes) != "192.0.2.0/24 2001:db8::/32" {
			t.Fatalf("created %+v", s)
		}
		if _, err := a.UpdateSite(ctx, controller.SiteInput{Name: "dc1", AnyMAC: &yes, RLOCPrefixes: strs()}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "replica b sees the scope", func() bool {
			s, err := b.Site("dc1")
			return err == nil && s.AnyMAC && len(s.MACPrefixes) == 2 && len(s.RLOCPrefixes) == 0
		})
		for _, c := range []struct {
			in    controller.SiteInput
			field string
		}{
			{controller.SiteInput{Name: "dc1", MACPrefixes: strs("02:00:10:00:00:00/0")}, "mac_prefixes"},
			{controller.SiteInput{Name: "dc1", MACPrefixes: strs("01:00:5e:00:00:00/24")}, "mac_prefixes"},
			{controller.SiteInput{Name: "dc1", MACPrefixes: strs("not-a-mac")}, "mac_prefixes"},
			{controller.SiteInput{Name: "dc1", RLOCPrefixes: strs("192.0.2.1")}, "rloc_prefixes"},
			{controller.SiteInput{Name: "dc1", RLOCPrefixes: strs("fe80::/10%eth0")}, "rloc_prefixes"},
		} {
			_, err := a.UpdateSite(ctx, c.in)
			wantKind(t, c.field, err, controller.KindInvalid, c.field)
		}
	})
}

func joinAny[T any](xs []T) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprint(x)
	}
	return strings.Join(out, " ")
}

// authorityEnv: network 4100; dc1 (10.1.0.0/16, MACs 02:00:10/24, RLOCs
// 192.0.2.0/24), dc2 (10.1.0.0/16 and 10.2.0.0/16, any MAC), dc3 (only
// 10.3.0.0/16); a static MAC and a static /24 of dc1.
func authorityEnv(t *testing.T) *controller.Controller {
	t.Helper()
	c := newController(t, filepath.Join(t.TempDir(), "l2lisp.db"))
	ctx := context.Background()
	if _, err := c.CreateNetwork(ctx, 4100, "blue"); err != nil {
		t.Fatal(err)
	}
	key, nets, yes := "key-of-a-site", []int64{4100}, true
	for _, in := range []controller.SiteInput{
		{Name: "dc1", EIDPrefixes: strs("10.1.0.0/16"), MACPrefixes: strs("02:00:10:00:00:00/24"), RLOCPrefixes: strs("192.0.2.0/24")},
		{Name: "dc2", EIDPrefixes: strs("10.1.0.0/16", "10.2.0.0/16"), AnyMAC: &yes},
		{Name: "dc3", EIDPrefixes: strs("10.3.0.0/16")},
	} {
		in.AuthKey, in.Networks = &key, &nets
		if _, err := c.CreateSite(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, eid := range []string{"02:00:00:00:00:01", "10.1.200.0/24"} {
		in := controller.MappingInput{InstanceID: 4100, EID: eid, Site: "dc1",
			RLOCs: []controller.LocatorInput{{Address: "192.0.2.1"}}}
		if _, _, err := c.CreateMapping(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func regRec(t *testing.T, eid, rloc, xtr string) mapping.Record {
	t.Helper()
	e, err := mapping.ParseEID(4100, eid)
	if err != nil {
		t.Fatal(err)
	}
	return mapping.Record{EID: e, TTL: 1440, XTR: xtr,
		Locators: []mapping.Locator{{Addr: netip.MustParseAddr(rloc), Priority: 1, Weight: 100, Up: true}}}
}

func TestRegisterMappingsAuthority(t *testing.T) {
	c := authorityEnv(t)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if _, err := c.RegisterMappings(ctx, "dc1", []mapping.Record{regRec(t, "02:00:10:00:00:07", "192.0.2.1", "192.0.2.1")}, exp); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		site  string
		recs  []mapping.Record
		why   controller.Refusal
		owner string
	}{
		{"static MAC of another site", "dc2", []mapping.Record{regRec(t, "02:00:00:00:00:01", "198.51.100.9", "x")}, controller.RefusedStatic, "dc1"},
		{"static prefix itself", "dc1", []mapping.Record{regRec(t, "10.1.200.0/24", "192.0.2.1", "x")}, controller.RefusedStatic, "dc1"},
		{"more specific inside another site's static prefix", "dc2", []mapping.Record{regRec(t, "10.1.200.7", "198.51.100.9", "x")}, controller.RefusedStatic, "dc1"},
		{"MAC outside the scope", "dc1", []mapping.Record{regRec(t, "02:00:20:00:00:01", "192.0.2.1", "x")}, controller.RefusedMAC, ""},
		{"IP outside the scope", "dc3", []mapping.Record{regRec(t, "10.1.5.0/24", "198.51.100.9", "x")}, controller.RefusedPrefix, ""},
		{"RLOC outside the scope", "dc1", []mapping.Record{regRec(t, "10.1.5.0/24", "198.51.100.9", "x")}, controller.RefusedRLOC, ""},
		{"all or none", "dc2", []mapping.Record{regRec(t, "10.2.5.0/24", "198.51.100.9", "x"),
			regRec(t, "02:00:00:00:00:01", "198.51.100.9", "x")}, controller.RefusedStatic, "dc1"},
	}
	before := mappingsOf(t, c)
	for _, k := range cases {
		_, err := c.RegisterMappings(ctx, k.site, k.recs, exp)
		var ref *controller.RefusedError
		if !errors.As(err, &ref) || ref.Reason != k.why || ref.Owner != k.owner || ref.Site != k.site {
			t.Errorf("%s: %v, want refused %s (owner %q)", k.name, err, k.why, k.owner)
		}
	}
	if after := mappingsOf(t, c); !slices.Equal(before, after) {
		t.Fatalf("refused registrations changed the mappings:\n%v\n%v", before, after)
	}

	// dc2's scope (any MAC) and dc1's (02:00:10/24) both hold the MAC: a move.
	got, err := c.RegisterMappings(ctx, "dc2", []mapping.Record{regRec(t, "02:00:10:00:00:07", "198.51.100.9", "198.51.100.9")}, exp)
	if err != nil || len(got) != 1 || got[0].Old == nil || got[0].Old.Site != "dc1" || got[0].Old.XTR != "192.0.2.1" ||
		got[0].Record.Version != 2 || got[0].Record.Site != "dc2" || got[0].Record.Origin != mapping.OriginRegistered {
		t.Fatalf("move: %+v %v", got, err)
	}
	// Back is not allowed to dc3, which does not hold MACs; and dc1 may
	// not take over a MAC registered by dc2 outside dc1's own scope.
	if _, err := c.RegisterMappings(ctx, "dc2", []mapping.Record{regRec(t, "0a:00:00:00:00:09", "198.51.100.9", "y")}, exp); err != nil {
		t.Fatal(err)
	}
	_, err = c.RegisterMappings(ctx, "dc1", []mapping.Record{regRec(t, "0a:00:00:00:00:09", "192.0.2.1", "x")}, exp)
	var ref *controller.RefusedError
	if !errors.As(err, &ref) || ref.Reason != controller.RefusedMAC {
		t.Fatalf("dc1 takes dc2's MAC outside its scope: %v", err)
	}
}

// mappingsOf lists every mapping as "eid site origin version".
func mappingsOf(t *testing.T, c *controller.Controller) []string {
	t.Helper()
	recs, _, err := c.ListMappings(context.Background(), controller.MappingFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s %s %s v%d", r.EID, r.Site, r.Origin, r.Version))
	}
	return out
}
