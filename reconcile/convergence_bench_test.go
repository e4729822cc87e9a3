package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/store"
)

// fakeSwitch stands in for an OpenFlow switch: Sync diffs the desired
// flows against what it holds, like the real sync does before talking to
// the switch, and keeps the result. No wire, no switch latency.
type fakeSwitch struct {
	mu      sync.Mutex
	flows   map[string]string
	applies int
}

func (f *fakeSwitch) Sync(_ context.Context, flows []openflow.Flow, groups []openflow.GroupEntry) (openflow.SyncResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := make(map[string]string, len(flows))
	var res openflow.SyncResult
	for _, fl := range flows {
		k, v := fl.Key(), fl.String()
		want[k] = v
		if old, ok := f.flows[k]; !ok {
			res.Added++
		} else if old != v {
			res.Modified++
		}
	}
	for k := range f.flows {
		if _, ok := want[k]; !ok {
			res.Deleted++
		}
	}
	f.flows = want
	return res, nil
}

// Apply changes the named flows only, like the real Apply does.
func (f *fakeSwitch) Apply(_ context.Context, d openflow.Delta) (openflow.SyncResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flows == nil {
		return openflow.SyncResult{}, openflow.ErrNeedSync
	}
	f.applies++
	var res openflow.SyncResult
	for _, fl := range d.Flows {
		k, v := fl.Key(), fl.String()
		if old, ok := f.flows[k]; !ok {
			res.Added++
		} else if old != v {
			res.Modified++
		}
		f.flows[k] = v
	}
	for _, fl := range d.DelFlows {
		if _, ok := f.flows[fl.Key()]; ok {
			res.Deleted++
			delete(f.flows, fl.Key())
		}
	}
	res.GroupsChanged = len(d.Groups) + len(d.DelGroups)
	return res, nil
}

// benchSites builds n sites with one xTR and one access port each, and
// macs learned hosts spread over them.
func benchSites(b testing.TB, n, macs int) *controller.Controller {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, b.TempDir()+"/l2lisp.db", log)
	if err != nil {
		b.Fatal(err)
	}
	c, err := controller.New(ctx, db, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	if _, err := c.CreateNetwork(ctx, 4100, "blue"); err != nil {
		b.Fatal(err)
	}
	key, nets := "0123456789abcdef", []int64{4100}
	for i := range n {
		site, xtr := fmt.Sprintf("site%03d", i), fmt.Sprintf("x%03d", i)
		if _, err := c.CreateSite(ctx, controller.SiteInput{Name: site, AuthKey: &key, Networks: &nets}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.CreateXTR(ctx, controller.XTRInput{Site: site, Name: xtr, RLOC: fmt.Sprintf("10.%d.%d.1", i/250, i%250)}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.BindPort(ctx, xtr, "p1", 4100); err != nil {
			b.Fatal(err)
		}
	}
	lc := controller.DefaultLearnConfig()
	lc.DupMoves, lc.MaxPerPort = 0, 0
	c.SetLearnConfig(lc)
	for i := range macs {
		m := mapping.MAC{0x02, 0xbb, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		if _, err := c.Learn(ctx, sight(fmt.Sprintf("x%03d", i%n), "p1", m, "")); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func sight(xtr, port string, mac mapping.MAC, ip string) controller.Sighting {
	s := controller.Sighting{XTR: xtr, Port: port, IID: 4100, MAC: mac, At: time.Now()}
	if ip != "" {
		s.IP, s.BindMAC = netip.MustParseAddr(ip), mac
	}
	return s
}

// BenchmarkMoveConvergence100Sites measures, for one learned MAC moving
// between two of 100 sites, the time from the start of the packet-in
// handling (Learn) to the reconciler having compiled and synced all 100
// switches (WaitSynced on each). Switches are in-process fakes, so this is
// the controller's share: database commit, feed, compile and diff.
func BenchmarkMoveConvergence100Sites(b *testing.B) {
	for _, macs := range []int{10, 1000} {
		b.Run(fmt.Sprintf("macs=%d", macs), func(b *testing.B) { benchMoves(b, macs) })
	}
}

func benchMoves(b *testing.B, macs int) {
	const sites = 100
	c := benchSites(b, sites, macs)
	sws := map[uint64]*fakeSwitch{}
	for _, x := range c.XTRs() {
		sws[x.DatapathID] = &fakeSwitch{}
	}
	rec := &Reconciler{Ctl: c, Log: slog.New(slog.DiscardHandler), Switch: func(dpid uint64) (FlowSyncer, bool) {
		sw, ok := sws[dpid]
		return sw, ok
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	names := c.XTRsServing(4100)
	waitAll := func(pos int64) {
		for _, n := range names {
			wctx, wcancel := context.WithTimeout(ctx, time.Minute)
			ok := rec.WaitSynced(wctx, n, pos)
			wcancel()
			if !ok {
				b.Fatalf("%s not synced", n)
			}
		}
	}
	waitAll(c.LastEventID())
	mac := mapping.MAC{0x02, 0xcc, 0, 0, 0, 1}
	if _, err := c.Learn(ctx, sight("x000", "p1", mac, "")); err != nil {
		b.Fatal(err)
	}
	waitAll(c.LastEventID())
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		xtr := fmt.Sprintf("x%03d", 1+i%(sites-1))
		if i%2 == 1 {
			xtr = "x000"
		}
		start := time.Now()
		res, err := c.Learn(ctx, sight(xtr, "p1", mac, ""))
		if err != nil || res.Verdict != controller.VerdictMove {
			b.Fatalf("move %d: %+v %v", i, res, err)
		}
		waitAll(res.Pos)
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	reportQuantiles(b, took)
}

func reportQuantiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, "max-ms")
	b.Logf("moves=%d p50=%.2fms p99=%.2fms max=%.2fms", len(d), q(0.5), q(0.99), float64(d[len(d)-1].Microseconds())/1000)
}
