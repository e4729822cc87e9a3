package controller_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
)

// BenchmarkSaveMappingParallel measures new registered EIDs saved by many
// goroutines at once, as the Map-Server's workers do: each save is its own
// write, group-committed with whatever else is waiting.
func BenchmarkSaveMappingParallel(b *testing.B) {
	ctx := context.Background()
	c := newController(b, filepath.Join(b.TempDir(), "l2lisp.db"))
	if _, err := c.CreateNetwork(ctx, 4100, "blue"); err != nil {
		b.Fatal(err)
	}
	key, nets := "bench-site-key", []int64{4100}
	if _, err := c.CreateSite(ctx, controller.SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets}); err != nil {
		b.Fatal(err)
	}
	locs := []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.1"), Priority: 1, Weight: 100, Up: true}}
	var n atomic.Uint32
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			rec := mapping.Record{EID: mapping.PrefixEID(4100, netip.PrefixFrom(a, 32)), Locators: locs,
				TTL: 3, Origin: mapping.OriginRegistered, Site: "dc1", XTR: "192.0.2.1"}
			if _, _, err := c.SaveMapping(ctx, rec, controller.SaveOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
