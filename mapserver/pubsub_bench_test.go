package mapserver

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
)

// BenchmarkMoveToNotify measures the time from a host move (the mapping
// saved at another site through the controller, as learning and the REST
// API do) to the Map-Notify at a subscribed xTR, which acknowledges each.
// Real SQLite controller, real server, real UDP on loopback.
//
//	go test -run '^$' -bench MoveToNotify -benchtime 1000x ./mapserver/
func BenchmarkMoveToNotify(b *testing.B) {
	ctl, _ := pubsubController(b, dbFile(b))
	place(b, ctl, "dc1", "192.0.2.1")
	s := startServer(b, ctl, Config{})
	c := newSubscriber(b, s.Addr(), "127.0.0.1:0", keyDC1, 50)
	c.subscribed(ctl, iidA, hostMAC)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		site, rloc := "dc2", "192.0.2.20"
		if i%2 == 1 {
			site, rloc = "dc1", "192.0.2.1"
		}
		start := time.Now()
		place(b, ctl, site, rloc)
		r := c.notify(5 * time.Second)
		lat = append(lat, r.at.Sub(start))
		c.ack(r, keyDC1)
	}
	b.StopTimer()
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkPublish10k measures one change published to 10,000 subscribers
// (distinct xTR-IDs on 100 loopback sockets): from the move to the last of
// the 10,000 Map-Notifies received. The subscribers do not acknowledge
// (the retransmission interval is set past the run) so that only the
// publication is measured.
//
//	go test -run '^$' -bench Publish10k -benchtime 20x ./mapserver/
func BenchmarkPublish10k(b *testing.B) {
	const subscribers, sockets = 10000, 100
	ctl, _ := pubsubController(b, dbFile(b))
	place(b, ctl, "dc1", "192.0.2.1")
	startServer(b, ctl, Config{Notify: NotifyConfig{Interval: time.Hour, MaxPending: 1 << 22}})
	var got atomic.Int64
	conns := make([]*net.UDPConn, sockets)
	for i := range conns {
		conns[i] = listenUDPTest(b, "127.0.0.1:0")
		_ = conns[i].SetReadBuffer(4 << 20)
		go func(c *net.UDPConn) {
			buf := make([]byte, 2048)
			for {
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					return
				}
				got.Add(1)
			}
		}(conns[i])
	}
	addSubscribers(b, ctl, conns, subscribers)
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		site, rloc := "dc2", "192.0.2.20"
		if i%2 == 1 {
			site, rloc = "dc1", "192.0.2.1"
		}
		want := got.Load() + subscribers
		start := time.Now()
		place(b, ctl, site, rloc)
		deadline := start.Add(30 * time.Second)
		for got.Load() < want {
			if time.Now().After(deadline) {
				b.Fatalf("move %d: %d of %d Map-Notifies arrived", i, got.Load()-(want-subscribers), subscribers)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	med := lat[len(lat)/2]
	b.ReportMetric(float64(med.Microseconds())/1000, "p50-ms")
	b.ReportMetric(subscribers/med.Seconds(), "subscribers/s")
}

// addSubscribers stores n subscriptions to hostMAC, spread over conns,
// written in parallel so the controller commits them in groups.
func addSubscribers(b *testing.B, ctl *controller.Controller, conns []*net.UDPConn, n int) {
	now := time.Now().UTC()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				port := conns[i%len(conns)].LocalAddr().(*net.UDPAddr).AddrPort().Port()
				_, err := ctl.SaveSubscription(testCtx(b), controller.Subscription{XTRID: fmt.Sprintf("%032x", i+1),
					SiteID: "0000000000000001", Site: "dc1", InstanceID: iidA, EID: hostMAC,
					ITRRLOCs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Port: port, TTL: 1440,
					CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(24 * time.Hour), Nonce: 1})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if got := ctl.SubscriptionCount(); got != n {
		b.Fatalf("%d subscriptions stored, want %d", got, n)
	}
}
