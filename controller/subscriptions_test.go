package controller_test

import (
	"context"
	"errors"
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

func sub(xtr string, iid uint32, eid string, nonce uint64, ttl time.Duration) controller.Subscription {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return controller.Subscription{XTRID: xtr, SiteID: "0000000000000001", Site: "dc1", InstanceID: iid, EID: eid,
		ITRRLOCs: []netip.Addr{netip.MustParseAddr("192.0.2.7")}, Port: 4342, TTL: 1440,
		CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(ttl), Nonce: nonce}
}

// TestSubscriptions runs the subscription life cycle on two replicas of
// one database (SQLite, and PostgreSQL when L2LISP_TEST_POSTGRES is set):
// what one stores the other lists; the replay rule; publication nonces
// raised in the database; expiry; unsubscribe; a restart.
func TestSubscriptions(t *testing.T) {
	storetest.Each(t, testSubscriptions)
}

func testSubscriptions(t *testing.T, dsn string) {
	a, b := newController(t, dsn), newController(t, dsn)
	ctx := context.Background()
	const x1, x2 = "20010db8000000000000000000000001", "20010db8000000000000000000000002"
	created, err := a.SaveSubscription(ctx, sub(x1, 4100, "198.51.100.7/32", 10, time.Hour))
	if err != nil || !created {
		t.Fatalf("save: %v created %v", err, created)
	}
	if _, err := a.SaveSubscription(ctx, sub(x2, 4100, "198.51.100.0/24", 1<<63-1, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SaveSubscription(ctx, sub(x2, 4100, "02:00:00:00:00:01", 5, -time.Minute)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b lists the subscriptions", func() bool {
		_, n := b.Subscriptions(controller.SubFilter{})
		return n == 3
	})
	got, _ := b.Subscriptions(controller.SubFilter{XTRID: x1})
	if len(got) != 1 || got[0].Site != "dc1" || got[0].Port != 4342 || got[0].ITRRLOCs[0] != netip.MustParseAddr("192.0.2.7") || got[0].Nonce != 0 {
		t.Fatalf("replica b: %+v", got)
	}
	// A refresh must carry a greater nonce.
	if _, err := b.SaveSubscription(ctx, sub(x1, 4100, "198.51.100.7/32", 10, time.Hour)); !errors.Is(err, controller.ErrReplay) {
		t.Fatalf("same nonce again: %v, want ErrReplay", err)
	}
	if created, err := b.SaveSubscription(ctx, sub(x1, 4100, "198.51.100.7/32", 11, time.Hour)); err != nil || created {
		t.Fatalf("refresh: %v created %v", err, created)
	}
	// Which subscribed prefixes a change concerns.
	host, _ := mapping.ParseEID(4100, "198.51.100.7")
	eventually(t, "replica a sees the refresh", func() bool { return len(a.SubscribedPrefixes(host)) == 2 })
	if p := a.SubscribedPrefixes(host); !slices.Equal(p, []string{"198.51.100.7/32", "198.51.100.0/24"}) {
		t.Fatalf("prefixes concerned by %s: %v", host, p)
	}
	net24, _ := mapping.ParseEID(4100, "198.51.100.0/24")
	if p := a.SubscribedPrefixes(net24); len(p) != 2 {
		t.Fatalf("prefixes concerned by the /24: %v", p)
	}
	// Publication: nonces raised in the database, the largest wrapping.
	subs, err := a.NextNonces(ctx, 4100, []string{"198.51.100.7/32", "198.51.100.0/24"}, time.Now())
	if err != nil || len(subs) != 2 {
		t.Fatalf("next nonces: %v %+v", err, subs)
	}
	for _, s := range subs {
		want := map[string]uint64{x1: 12, x2: 1 << 63}[s.XTRID]
		if s.Nonce != want {
			t.Errorf("%s nonce %d, want %d", s.XTRID, s.Nonce, want)
		}
	}
	if n, ok, err := b.SubscriptionNonce(ctx, controller.SubKey{XTRID: x1, IID: 4100, EID: "198.51.100.7/32"}); err != nil || !ok || n != 12 {
		t.Fatalf("nonce read back %d %v %v", n, ok, err)
	}
	// A refresh with the xTR's next nonce after the publication.
	if _, err := a.SaveSubscription(ctx, sub(x1, 4100, "198.51.100.7/32", 12, time.Hour)); !errors.Is(err, controller.ErrReplay) {
		t.Fatalf("nonce of the publication reused: %v", err)
	}
	// Expiry removes the lapsed one, through the feed.
	if n, err := b.ExpireSubscriptions(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	eventually(t, "replica a drops the expired subscription", func() bool {
		_, n := a.Subscriptions(controller.SubFilter{})
		return n == 2
	})
	if err := a.Unsubscribe(ctx, controller.SubKey{XTRID: x2, IID: 4100, EID: "198.51.100.0/24"}, 5); !errors.Is(err, controller.ErrReplay) {
		t.Fatalf("unsubscribe with an old nonce: %v", err)
	}
	if err := a.Unsubscribe(ctx, controller.SubKey{XTRID: x2, IID: 4100, EID: "198.51.100.0/24"}, 1<<63+1); err != nil {
		t.Fatal(err)
	}
	// A new replica loads what is left.
	c := newController(t, dsn)
	if got, n := c.Subscriptions(controller.SubFilter{}); n != 1 || got[0].XTRID != x1 {
		t.Fatalf("loaded: %+v", got)
	}
	evs, err := a.EventsSince(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
		if strings.Contains(string(ev.Data), "nonce") {
			t.Fatalf("a nonce in the feed: %s", ev.Data)
		}
	}
	want := []string{"subscription.created", "subscription.created", "subscription.created",
		"subscription.refreshed", "subscription.deleted", "subscription.deleted"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
}

// TestLocatorStatusReplicas: an xtr.down written through one replica marks
// the xTR's RLOC down on the other, in lookups and listings, without
// touching the stored record; the xTR coming back clears it.
func TestLocatorStatusReplicas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l2lisp.db")
	a, b := newController(t, path), newController(t, path)
	ctx := context.Background()
	if _, err := a.CreateNetwork(ctx, 4100, "blue"); err != nil {
		t.Fatal(err)
	}
	key, nets := "key-of-dc1", []int64{4100}
	if _, err := a.CreateSite(ctx, controller.SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets}); err != nil {
		t.Fatal(err)
	}
	for i, rloc := range []string{"192.0.2.1", "192.0.2.2"} {
		if _, err := a.CreateXTR(ctx, controller.XTRInput{Site: "dc1", Name: []string{"e1", "e2"}[i], RLOC: rloc}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := a.CreateMapping(ctx, controller.MappingInput{InstanceID: 4100, EID: "02:00:00:00:00:01", Site: "dc1"}); err != nil {
		t.Fatal(err)
	}
	ups := func(c *controller.Controller) []bool {
		res, err := c.Lookup(4100, "02:00:00:00:00:01")
		if err != nil || res.Record == nil {
			return nil
		}
		var out []bool
		for _, l := range res.Record.Locators {
			out = append(out, l.Up)
		}
		return out
	}
	if err := a.Emit(ctx, controller.EvXTRDown, nil, "", "dc1", "e2", map[string]string{"rloc": "192.0.2.2"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b marks e2 down", func() bool { return slices.Equal(ups(b), []bool{true, false}) })
	if !b.LocatorDown(netip.MustParseAddr("192.0.2.2")) || b.LocatorDown(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("LocatorDown disagrees with the lookup")
	}
	if rec, _ := b.Index().Lookup(mustParse(t, "02:00:00:00:00:01")); !rec.Locators[1].Up {
		t.Fatal("the stored record changed")
	}
	if err := b.Emit(ctx, controller.EvXTRUp, nil, "", "dc1", "e2", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica a marks e2 up again", func() bool { return slices.Equal(ups(a), []bool{true, true}) })
}

func mustParse(t *testing.T, s string) mapping.EID {
	t.Helper()
	e, err := mapping.ParseEID(4100, s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
