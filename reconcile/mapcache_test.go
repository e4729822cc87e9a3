package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// cacheSwitch is a fake switch that keeps the flows themselves, so that
// it can report its map-cache flows back (DumpFlows) and count the calls.
type cacheSwitch struct {
	mu      sync.Mutex
	flows   map[string]openflow.Flow
	synced  bool
	applies int
	syncs   int
}

func (f *cacheSwitch) Sync(_ context.Context, flows []openflow.Flow, _ []openflow.GroupEntry) (openflow.SyncResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	f.synced = true
	f.flows = map[string]openflow.Flow{}
	for _, fl := range flows {
		f.flows[fl.Key()] = fl
	}
	return openflow.SyncResult{Added: len(flows)}, nil
}

func (f *cacheSwitch) Apply(_ context.Context, d openflow.Delta) (openflow.SyncResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.synced {
		return openflow.SyncResult{}, openflow.ErrNeedSync
	}
	f.applies++
	for _, fl := range d.Flows {
		f.flows[fl.Key()] = fl
	}
	for _, fl := range d.DelFlows {
		delete(f.flows, fl.Key())
	}
	return openflow.SyncResult{Added: len(d.Flows), Deleted: len(d.DelFlows)}, nil
}

func (f *cacheSwitch) DumpFlows(_ context.Context, cookie, mask uint64) ([]openflow.FlowStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []openflow.FlowStats
	for _, fl := range f.flows {
		if fl.Cookie&mask == cookie&mask {
			out = append(out, openflow.FlowStats{Flow: fl})
		}
	}
	return out, nil
}

// toward lists the remote-host flows of table 30 the switch holds, as
// "mac->tun_dst".
func (f *cacheSwitch) toward() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, fl := range f.flows {
		if e, ok := entryOf(fl); ok {
			dst := ""
			for _, a := range fl.Actions {
				if sf, ok := a.(openflow.SetField); ok && strings.HasPrefix(sf.Field.String(), "tun_dst") {
					dst = sf.Field.String()
				}
			}
			out = append(out, e.MAC.String()+"->"+dst)
		}
	}
	slices.Sort(out)
	return out
}

func (f *cacheSwitch) calls() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applies, f.syncs
}

// odEnv is a controller of n sites with one on-demand network and one
// learned host per site, and a reconciler over cacheSwitches.
type odEnv struct {
	t    *testing.T
	c    *controller.Controller
	rec  *Reconciler
	sws  map[string]*cacheSwitch
	ctx  context.Context
	stop func() // ends the reconciler and waits for it
}

func newODEnv(t *testing.T, n int, cfg MapCacheConfig) *odEnv {
	c := benchSites(t, n, n)
	mode := controller.ModeOnDemand
	if _, err := c.UpdateNetwork(context.Background(), 4100, controller.NetworkChange{ForwardingMode: &mode}); err != nil {
		t.Fatal(err)
	}
	return startOD(t, c, cfg, nil)
}

func startOD(t *testing.T, c *controller.Controller, cfg MapCacheConfig, sws map[string]*cacheSwitch) *odEnv {
	if sws == nil {
		sws = map[string]*cacheSwitch{}
		for _, x := range c.XTRs() {
			sws[x.Name] = &cacheSwitch{}
		}
	}
	byDPID := map[uint64]*cacheSwitch{}
	for _, x := range c.XTRs() {
		byDPID[x.DatapathID] = sws[x.Name]
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rec := &Reconciler{Ctl: c, Log: slog.New(slog.DiscardHandler), MapCache: cfg, Switch: func(dpid uint64) (FlowSyncer, bool) {
		sw, ok := byDPID[dpid]
		return sw, ok
	}}
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	e := &odEnv{t: t, c: c, rec: rec, sws: sws, ctx: ctx, stop: func() { cancel(); <-done }}
	e.waitSynced()
	return e
}

func (e *odEnv) waitSynced() {
	e.t.Helper()
	pos := e.c.LastEventID()
	for name := range e.sws {
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		ok := e.rec.WaitSynced(ctx, name, pos)
		cancel()
		if !ok {
			e.t.Fatalf("%s not synced to %d", name, pos)
		}
	}
}

// eventually waits for cond, failing with what after 10 s.
func (e *odEnv) eventually(what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// matchesCompile checks that every switch holds exactly what the pipeline
// compiles from its view with its map-cache.
func (e *odEnv) matchesCompile() {
	e.t.Helper()
	for name, sw := range e.sws {
		v, _ := e.c.ViewWith(name, e.rec.cachedFor(name))
		v.MapCache = e.rec.MapCache.view()
		flows, _ := pipeline.Compile(v)
		sw.mu.Lock()
		if len(sw.flows) != len(flows) {
			e.t.Errorf("%s holds %d flows, compile gives %d", name, len(sw.flows), len(flows))
		}
		for _, f := range flows {
			if got := sw.flows[f.Key()]; got.String() != f.String() {
				e.t.Errorf("%s has %q, want %q", name, got.String(), f.String())
			}
		}
		sw.mu.Unlock()
	}
}

func hostMAC(i int) mapping.MAC { return mapping.MAC{0x02, 0xbb, 0, 0, 0, byte(i)} }

func rlocOf(i int) string { return fmt.Sprintf("0a%02x%02x01", i/250, i%250) }

// TestMapCacheStartsEmptyAndFillsOnMiss: a switch of an on-demand network
// starts with no remote host; a miss installs one on that switch only.
func TestMapCacheStartsEmptyAndFillsOnMiss(t *testing.T) {
	e := newODEnv(t, 6, MapCacheConfig{Size: 100, Idle: time.Minute})
	for name, sw := range e.sws {
		if got := sw.toward(); len(got) != 0 {
			t.Errorf("%s starts with remote hosts %v", name, got)
		}
	}
	e.matchesCompile()
	before := map[string][2]int{}
	for name, sw := range e.sws {
		a, s := sw.calls()
		before[name] = [2]int{a, s}
	}
	if !e.rec.Miss("x000", 4100, hostMAC(1)) {
		t.Fatal("miss for a remote host not taken")
	}
	if e.rec.Miss("x000", 4100, hostMAC(0)) || e.rec.Miss("x000", 4100, mapping.MAC{0x02, 0xee, 0, 0, 0, 1}) {
		t.Error("a miss for a local or unknown host was taken")
	}
	want := []string{hostMAC(1).String() + "->tun_dst=" + rlocOf(1)}
	e.eventually("x000 holds host 1", func() bool { return slices.Equal(e.sws["x000"].toward(), want) })
	e.matchesCompile()
	for name, sw := range e.sws {
		if a, s := sw.calls(); name != "x000" && (a != before[name][0] || s != before[name][1]) {
			t.Errorf("%s was synced for another switch's miss", name)
		}
	}
	if n := e.rec.MapCacheSize("x000"); n != 1 {
		t.Errorf("x000's map-cache holds %d, want 1", n)
	}
}

// TestMapCacheMoveTouchesOnlyInterested: a host that moves updates only
// the switches holding it and its old and new homes.
func TestMapCacheMoveTouchesOnlyInterested(t *testing.T) {
	e := newODEnv(t, 8, MapCacheConfig{Size: 100, Idle: time.Minute})
	for _, h := range []string{"x000", "x003"} {
		e.rec.Miss(h, 4100, hostMAC(1))
	}
	e.eventually("holders hold host 1", func() bool {
		return len(e.sws["x000"].toward()) == 1 && len(e.sws["x003"].toward()) == 1
	})
	before := map[string]int{}
	for name, sw := range e.sws {
		before[name], _ = sw.calls()
	}
	res, err := e.c.Learn(e.ctx, sight("x005", "p1", hostMAC(1), ""))
	if err != nil || res.Verdict != controller.VerdictMove {
		t.Fatalf("move: %+v %v", res, err)
	}
	e.waitSynced()
	touched := []string{}
	for name, sw := range e.sws {
		if a, _ := sw.calls(); a != before[name] {
			touched = append(touched, name)
		}
	}
	slices.Sort(touched)
	if want := []string{"x000", "x001", "x003", "x005"}; !slices.Equal(touched, want) {
		t.Errorf("a move touched %v, want the holders and the old and new homes %v", touched, want)
	}
	want := []string{hostMAC(1).String() + "->tun_dst=" + rlocOf(5)}
	for _, h := range []string{"x000", "x003"} {
		if got := e.sws[h].toward(); !slices.Equal(got, want) {
			t.Errorf("%s holds %v after the move, want %v", h, got, want)
		}
	}
	e.matchesCompile()
	// The host moves to a holder: there it is local, no entry any more.
	if _, err := e.c.Learn(e.ctx, sight("x003", "p1", hostMAC(1), "")); err != nil {
		t.Fatal(err)
	}
	e.waitSynced()
	if got := e.sws["x003"].toward(); len(got) != 0 {
		t.Errorf("x003 holds %v for a host now local to it", got)
	}
	if e.rec.MapCacheSize("x003") != 0 {
		t.Error("x003's map-cache still counts the host")
	}
	e.matchesCompile()
}

// TestMapCacheIdleAndCap: an entry that idles out leaves; a full cache
// evicts its idlest entries for new misses and stays under its cap.
func TestMapCacheIdleAndCap(t *testing.T) {
	e := newODEnv(t, 8, MapCacheConfig{Size: 3, Idle: time.Minute})
	e.rec.Miss("x000", 4100, hostMAC(1))
	e.eventually("x000 holds host 1", func() bool { return len(e.sws["x000"].toward()) == 1 })
	var entry openflow.Flow
	for _, f := range e.sws["x000"].flows {
		if _, ok := entryOf(f); ok {
			entry = f
		}
	}
	e.rec.CacheRemoved("x000", openflow.FlowRemoved{Flow: entry, Reason: openflow.RemovedDelete})
	if e.rec.MapCacheSize("x000") != 1 {
		t.Fatal("a removal the sync made dropped the entry")
	}
	e.rec.CacheRemoved("x000", openflow.FlowRemoved{Flow: entry, Reason: openflow.RemovedIdleTimeout})
	e.eventually("the idle entry leaves", func() bool { return e.rec.MapCacheSize("x000") == 0 })
	for i := 1; i <= 7; i++ {
		e.rec.Miss("x000", 4100, hostMAC(i))
		e.eventually(fmt.Sprintf("host %d installed", i), func() bool { return e.rec.cache.holds("x000", mapping.MACEID(4100, hostMAC(i))) })
		time.Sleep(2 * time.Millisecond) // distinct ages
	}
	e.eventually("x000 settles", func() bool { return len(e.sws["x000"].toward()) == e.rec.MapCacheSize("x000") })
	if n := e.rec.MapCacheSize("x000"); n > 3 || n == 0 {
		t.Errorf("x000's map-cache holds %d, cap 3", n)
	}
	if !e.rec.cache.holds("x000", mapping.MACEID(4100, hostMAC(7))) {
		t.Error("the newest host was evicted instead of the idlest")
	}
	if e.rec.cache.holds("x000", mapping.MACEID(4100, hostMAC(1))) {
		t.Error("the oldest idle host was kept")
	}
	e.matchesCompile()
}

// TestMapCacheReadBack: a new reconciler (a restart, a new leader) reads
// every switch's map-cache back instead of wiping it.
func TestMapCacheReadBack(t *testing.T) {
	e := newODEnv(t, 4, MapCacheConfig{Size: 100, Idle: time.Minute})
	e.rec.Miss("x000", 4100, hostMAC(1))
	e.rec.Miss("x000", 4100, hostMAC(2))
	e.rec.Miss("x002", 4100, hostMAC(3))
	e.eventually("entries installed", func() bool {
		return len(e.sws["x000"].toward()) == 2 && len(e.sws["x002"].toward()) == 1
	})
	e.stop()
	held := map[string][]string{}
	for name, sw := range e.sws {
		held[name] = sw.toward()
		sw.mu.Lock()
		sw.synced = false // a new connection: the state must be read back
		sw.mu.Unlock()
	}
	e2 := startOD(t, e.c, MapCacheConfig{Size: 100, Idle: time.Minute}, e.sws)
	for name, sw := range e2.sws {
		if got := sw.toward(); !slices.Equal(got, held[name]) {
			t.Errorf("%s holds %v after the takeover, want %v", name, got, held[name])
		}
	}
	if e2.rec.MapCacheSize("x000") != 2 || e2.rec.MapCacheSize("x002") != 1 {
		t.Errorf("read back %d and %d entries, want 2 and 1", e2.rec.MapCacheSize("x000"), e2.rec.MapCacheSize("x002"))
	}
	if hs := e2.rec.cache.holdersOf(mapping.MACEID(4100, hostMAC(1))); !slices.Equal(hs, []string{"x000"}) {
		t.Errorf("holders of host 1: %v", hs)
	}
	e2.matchesCompile()
}
