package controller

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// TestReplicasExpireAndRefreshSafely: two replicas sweeping the same
// expired registrations at once announce each deletion once, and a
// replica flushing an older refresh never shortens a newer one.
func TestReplicasExpireAndRefreshSafely(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		var cs [2]*Controller
		for i := range cs {
			c, err := New(ctx, openDB(t, dsn), quietLog)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			cs[i] = c
		}
		if _, err := cs[0].CreateNetwork(ctx, 7, "seven"); err != nil {
			t.Fatal(err)
		}
		key, nets := "registration-key", []int64{7}
		if _, err := cs[0].CreateSite(ctx, SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets}); err != nil {
			t.Fatal(err)
		}
		// cs[1] writes too: let it see the site first.
		if err := cs[1].waitApplied(ctx, cs[0].LastEventID()); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		const n = 120
		for i := range n {
			e := mapping.PrefixEID(7, netip.MustParsePrefix(fmt.Sprintf("10.0.%d.%d/32", i/200, i%200+1)))
			rec := mapping.Record{EID: e, TTL: 10, Origin: mapping.OriginRegistered, Site: "dc1",
				Locators: []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.9"), Priority: 1, Weight: 1, Up: true}}}
			if _, _, err := cs[i%2].SaveMapping(ctx, rec, SaveOptions{Expires: now.Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		start := cs[0].LastEventID()
		var wg sync.WaitGroup
		var got [2]int
		for i := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if got[i], err = cs[i].ExpireRegistrations(ctx, now); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		var deleted int64
		cs[0].db.Model(&store.Event{}).Where("id > ? AND type = ?", start, EvMappingDeleted).Count(&deleted)
		if got[0]+got[1] != n || deleted != n {
			t.Errorf("replicas expired %d + %d and announced %d deletions, want %d in all", got[0], got[1], deleted, n)
		}

		// Refreshes flushed out of order keep the later expiry.
		e := mapping.PrefixEID(7, netip.MustParsePrefix("10.9.9.9/32"))
		rec := mapping.Record{EID: e, TTL: 10, Origin: mapping.OriginRegistered, Site: "dc1",
			Locators: []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.9"), Priority: 1, Weight: 1, Up: true}}}
		if _, _, err := cs[0].SaveMapping(ctx, rec, SaveOptions{Expires: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		later, earlier := now.Add(time.Hour), now.Add(30*time.Minute)
		if err := cs[0].TouchMappings(ctx, []Touch{{EID: e, Expires: later}}); err != nil {
			t.Fatal(err)
		}
		if err := cs[1].TouchMappings(ctx, []Touch{{EID: e, Expires: earlier}}); err != nil {
			t.Fatal(err)
		}
		var row store.Mapping
		if err := cs[0].db.Where("instance_id = 7 AND eid = ?", e.Address()).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.ExpiresAt == nil || !row.ExpiresAt.Equal(later) {
			t.Errorf("expiry %v after an older refresh, want %v", row.ExpiresAt, later)
		}
	})
}
