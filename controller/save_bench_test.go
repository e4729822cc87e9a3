package controller_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

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

// BenchmarkRegisterMany measures new EIDs stored by Map-Registers as the
// Map-Server's workers hand them over: 8 workers, each passing 128
// one-record registrations of 64 ITRs per write. ns/op is per EID.
func BenchmarkRegisterMany(b *testing.B) {
	ctx := context.Background()
	c := newController(b, filepath.Join(b.TempDir(), "l2lisp.db"))
	if _, err := c.CreateNetwork(ctx, 4100, "blue"); err != nil {
		b.Fatal(err)
	}
	key, nets, pfx := "bench-site-key", []int64{4100}, []string{"10.0.0.0/8"}
	if _, err := c.CreateSite(ctx, controller.SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets, EIDPrefixes: &pfx}); err != nil {
		b.Fatal(err)
	}
	locs := []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.1"), Priority: 1, Weight: 100, Up: true}}
	const workers, per = 8, 128
	var n atomic.Int64
	b.ResetTimer()
	done := make(chan struct{}, workers)
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			regs := make([]controller.Registration, per)
			for {
				first := n.Add(per) - per
				if first >= int64(b.N) {
					return
				}
				for k := range regs {
					i := first + int64(k)
					a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
					rec := mapping.Record{EID: mapping.PrefixEID(4100, netip.PrefixFrom(a, 32)), Locators: locs,
						TTL: 3, XTR: "127.0.1." + strconv.Itoa(int(i%64))}
					regs[k] = controller.Registration{Site: "dc1", Records: []mapping.Record{rec}, Expires: time.Now().Add(time.Hour)}
				}
				for _, r := range c.RegisterMany(ctx, regs) {
					if r.Err != nil {
						b.Error(r.Err)
						return
					}
				}
			}
		}()
	}
	for range workers {
		<-done
	}
}
