package controller

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

func newRegTestController(t *testing.T) *Controller {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "reg.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(ctx, db, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if s, err := db.DB(); err == nil {
			_ = s.Close()
		}
	})
	if _, err := c.CreateNetwork(ctx, 7, "seven"); err != nil {
		t.Fatal(err)
	}
	key, nets, pfx := "registration-key", []int64{7}, []string{"10.0.0.0/8"}
	if _, err := c.CreateSite(ctx, SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets, EIDPrefixes: &pfx}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTouchAndExpireRegistrations(t *testing.T) {
	ctx := context.Background()
	c := newRegTestController(t)
	now := time.Now().UTC().Truncate(time.Second)
	eid := func(s string) mapping.EID { return mapping.PrefixEID(7, netip.MustParsePrefix(s)) }
	save := func(e mapping.EID, origin mapping.Origin, exp time.Time) {
		rec := mapping.Record{EID: e, TTL: 10, Origin: origin, Site: "dc1", XTR: "192.0.2.9",
			Locators: []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.9"), Priority: 1, Weight: 1, Up: true}}}
		if _, _, err := c.SaveMapping(ctx, rec, SaveOptions{Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	save(eid("10.0.0.1/32"), mapping.OriginRegistered, now.Add(-time.Minute)) // refreshed below
	save(eid("10.0.0.2/32"), mapping.OriginRegistered, now.Add(-time.Minute)) // lapses
	save(eid("10.0.0.3/32"), mapping.OriginRegistered, now.Add(time.Hour))    // still valid
	save(eid("10.0.0.4/32"), mapping.OriginStatic, time.Time{})               // never expires
	last := c.LastEventID()

	touches := []Touch{{EID: eid("10.0.0.1/32"), Expires: now.Add(time.Hour)},
		{EID: eid("10.0.0.4/32"), Expires: now.Add(-time.Hour)}} // static: left alone
	if err := c.TouchMappings(ctx, touches); err != nil {
		t.Fatal(err)
	}
	if c.LastEventID() != last {
		t.Fatal("touching wrote to the change feed")
	}
	n, err := c.ExpireRegistrations(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("expired %d, want 1", n)
	}
	cases := []struct {
		eid  string
		kept bool
	}{{"10.0.0.1/32", true}, {"10.0.0.2/32", false}, {"10.0.0.3/32", true}, {"10.0.0.4/32", true}}
	for _, tc := range cases {
		r, ok := c.Index().Get(eid(tc.eid))
		if ok != tc.kept {
			t.Errorf("%s kept=%v, want %v", tc.eid, ok, tc.kept)
		}
		if ok && r.Version != 1 {
			t.Errorf("%s version %d: touching rewrote it", tc.eid, r.Version)
		}
	}
	evs, err := c.EventsSince(ctx, last, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != EvMappingDeleted || evs[0].EID != "10.0.0.2/32" || evs[0].Actor != ActorSystem {
		t.Fatalf("events: %+v", evs)
	}
}

func TestTouchMappingsMany(t *testing.T) {
	ctx := context.Background()
	c := newRegTestController(t)
	now := time.Now().UTC().Truncate(time.Second)
	var touches []Touch
	for i := range 1200 { // several statements per group
		e := mapping.PrefixEID(7, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32))
		rec := mapping.Record{EID: e, TTL: 10, Origin: mapping.OriginRegistered, Site: "dc1"}
		if _, _, err := c.SaveMapping(ctx, rec, SaveOptions{Expires: now.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			touches = append(touches, Touch{EID: e, Expires: now.Add(time.Duration(i%3) * time.Hour)})
		}
	}
	if err := c.TouchMappings(ctx, touches); err != nil {
		t.Fatal(err)
	}
	n, err := c.ExpireRegistrations(ctx, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// Odd EIDs were never touched; even ones with i%3 == 0 were touched to now.
	want := 600 + 200
	if n != want {
		t.Fatalf("expired %d, want %d", n, want)
	}
}
