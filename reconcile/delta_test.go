package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
)

// TestReconcilerDeltaMatchesCompile drives the reconciler through learned
// moves (delta passes), IP bindings and a port change (full passes) and
// checks after each round that every switch holds exactly Compile(View).
func TestReconcilerDeltaMatchesCompile(t *testing.T) {
	const sites = 6
	c := benchSites(t, sites, 20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sws := map[uint64]*fakeSwitch{}
	for _, x := range c.XTRs() {
		sws[x.DatapathID] = &fakeSwitch{}
	}
	rec := &Reconciler{Ctl: c, Log: slog.New(slog.DiscardHandler), Switch: func(dpid uint64) (FlowSyncer, bool) {
		sw, ok := sws[dpid]
		return sw, ok
	}}
	go rec.Run(ctx)
	check := func(round string) {
		t.Helper()
		pos := c.LastEventID()
		for _, x := range c.XTRs() {
			wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
			ok := rec.WaitSynced(wctx, x.Name, pos)
			wcancel()
			if !ok {
				t.Fatalf("%s: %s not synced", round, x.Name)
			}
			v, _ := c.View(x.Name)
			flows, _ := pipeline.Compile(v)
			sw := sws[x.DatapathID]
			sw.mu.Lock()
			if len(sw.flows) != len(flows) {
				t.Errorf("%s: %s holds %d flows, want %d", round, x.Name, len(sw.flows), len(flows))
			}
			for _, f := range flows {
				if got := sw.flows[f.Key()]; got != f.String() {
					t.Errorf("%s: %s has %q, want %q", round, x.Name, got, f.String())
				}
			}
			sw.mu.Unlock()
		}
	}
	check("initial")
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 12 {
		// A port change marks its xTR only; the learns below mark all,
		// so every switch reaches the last position.
		if round == 6 {
			if err := c.DeleteMapping(ctx, 4100, "02:bb:00:00:00:03"); err != nil {
				t.Log(err) // may already be gone
			}
			if _, err := c.BindPort(ctx, "x001", "p2", 4100); err != nil {
				t.Fatal(err)
			}
		}
		for range 5 {
			m := mapping.MAC{0x02, 0xbb, 0, 0, 0, byte(rng.IntN(25))}
			xtr := fmt.Sprintf("x%03d", rng.IntN(sites))
			ip := ""
			if round%4 == 3 {
				ip = fmt.Sprintf("192.168.1.%d", 1+rng.IntN(50))
			}
			if _, err := c.Learn(ctx, sight(xtr, "p1", m, ip)); err != nil {
				t.Fatal(err)
			}
		}
		check(fmt.Sprintf("round %d", round))
	}
	applies := 0
	for _, sw := range sws {
		sw.mu.Lock()
		applies += sw.applies
		sw.mu.Unlock()
	}
	if applies == 0 {
		t.Error("no delta was applied")
	}
}
