package client_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/northbound/client"
	"github.com/l2lisp/l2lisp/store"
)

// TestSubscriptions reads the subscriptions a real controller holds
// through the real API, with a filter and paging.
func TestSubscriptions(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, t.TempDir()+"/db", log)
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controller.New(ctx, db, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(northbound.New(ctl, northbound.Options{AdminToken: "admin"}).Handler())
	t.Cleanup(func() {
		srv.Close()
		ctl.Close()
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	now := time.Now().UTC().Truncate(time.Second)
	for i, eid := range []string{"198.51.100.7/32", "02:00:00:00:00:01"} {
		if _, err := ctl.SaveSubscription(ctx, controller.Subscription{XTRID: "20010db80000000000000000000000a1",
			SiteID: "0000000000000001", Site: "dc1", InstanceID: 4100 + uint32(i), EID: eid,
			ITRRLOCs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Port: 4342, TTL: 60,
			CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(time.Hour), Nonce: 1}); err != nil {
			t.Fatal(err)
		}
	}
	c := client.New(srv.URL, "admin", srv.Client())
	p, err := c.Subscriptions(ctx, client.SubscriptionFilter{})
	if err != nil || p.Total != 2 || len(p.Items) != 2 {
		t.Fatalf("all: %+v %v", p, err)
	}
	s := p.Items[0]
	if s.EID != "198.51.100.7/32" || s.XTRID != "20010db80000000000000000000000a1" || s.Site != "dc1" ||
		s.ITRRLOCs[0] != "192.0.2.1" || s.Port != 4342 || s.TTL != 60 || !s.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("first: %+v", s)
	}
	iid := int64(4101)
	p, err = c.Subscriptions(ctx, client.SubscriptionFilter{InstanceID: &iid, Site: "dc1", Limit: 1})
	if err != nil || p.Total != 1 || p.Items[0].EID != "02:00:00:00:00:01" || p.Limit != 1 {
		t.Fatalf("filtered: %+v %v", p, err)
	}
	if _, err := c.Subscriptions(ctx, client.SubscriptionFilter{XTRID: "nope"}); err == nil {
		t.Fatal("a malformed xtr_id was accepted")
	}
}
