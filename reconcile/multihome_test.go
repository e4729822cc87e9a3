package reconcile

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/store"
)

// gatedSwitch is a fakeSwitch whose syncs can be held, and that records
// the frames sent out of it.
type gatedSwitch struct {
	fakeSwitch
	gate chan struct{} // non-nil: Sync and Apply wait until it is closed
	out  []openflow.Action
	pkts [][]byte
	pmu  sync.Mutex
}

func (g *gatedSwitch) wait() {
	g.pmu.Lock()
	gate := g.gate
	g.pmu.Unlock()
	if gate != nil {
		<-gate
	}
}

func (g *gatedSwitch) Sync(ctx context.Context, flows []openflow.Flow, groups []openflow.GroupEntry) (openflow.SyncResult, error) {
	g.wait()
	return g.fakeSwitch.Sync(ctx, flows, groups)
}

func (g *gatedSwitch) Apply(ctx context.Context, d openflow.Delta) (openflow.SyncResult, error) {
	g.wait()
	return g.fakeSwitch.Apply(ctx, d)
}

func (g *gatedSwitch) PacketOut(_ context.Context, _ uint32, acts []openflow.Action, data []byte) error {
	g.pmu.Lock()
	defer g.pmu.Unlock()
	g.out = append(g.out, acts...)
	g.pkts = append(g.pkts, data)
	return nil
}

// floods says whether the switch holds iid 4100's tunnel flood flow with
// a group (it is the DF) rather than the non-DF's drop.
func (g *gatedSwitch) floods() bool {
	key := openflow.Flow{Table: pipeline.TableL2Forward, Priority: pipeline.PriorityFlood,
		Match: openflow.Match{openflow.Metadata(4100|pipeline.MetaFromTunnel, pipeline.MetaIIDMask|pipeline.MetaFromTunnel)}}.Key()
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Contains(g.flows[key], "group:")
}

// mhController is a controller with site mh (xTRs a and b on one LAN)
// and site far (xTR c) holding one host.
func mhController(t *testing.T) *controller.Controller {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, t.TempDir()+"/l2lisp.db", log)
	if err != nil {
		t.Fatal(err)
	}
	c, err := controller.New(ctx, db, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateNetwork(ctx, 4100, "blue")
	must(err)
	key, nets := "0123456789abcdef", []int64{4100}
	for _, x := range []struct{ site, name, rloc string }{{"mh", "a", "192.0.2.1"}, {"mh", "b", "192.0.2.2"}, {"far", "c", "192.0.2.3"}} {
		if _, err := c.Site(x.site); err != nil {
			_, err = c.CreateSite(ctx, controller.SiteInput{Name: x.site, AuthKey: &key, Networks: &nets})
			must(err)
		}
		_, err = c.CreateXTR(ctx, controller.XTRInput{Site: x.site, Name: x.name, RLOC: x.rloc})
		must(err)
		_, err = c.BindPort(ctx, x.name, "p1", 4100)
		must(err)
	}
	_, _, err = c.CreateMapping(ctx, controller.MappingInput{InstanceID: 4100, EID: "02:00:00:00:00:03", Site: "far"})
	must(err)
	c.SetBFDConfig(controller.DefaultBFDConfig())
	return c
}

// TestDFHandOver drains the DF of a multihomed site while its switch is
// slow to sync: the other xTR becomes DF only once the old DF's switch
// has let go (break before make), then announces the remote host on its
// uplink.
func TestDFHandOver(t *testing.T) {
	c := mhController(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sws := map[string]*gatedSwitch{}
	byDPID := map[uint64]*gatedSwitch{}
	for _, x := range c.XTRs() {
		sws[x.Name] = &gatedSwitch{}
		byDPID[x.DatapathID] = sws[x.Name]
	}
	rec := &Reconciler{Ctl: c, Log: slog.New(slog.DiscardHandler), Switch: func(dpid uint64) (FlowSyncer, bool) {
		sw, ok := byDPID[dpid]
		return sw, ok
	}}
	go rec.Run(ctx)
	synced := func() {
		t.Helper()
		pos := c.LastEventID()
		for _, x := range c.XTRs() {
			wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
			ok := rec.WaitSynced(wctx, x.Name, pos)
			wcancel()
			if !ok {
				t.Fatalf("%s not synced to %d", x.Name, pos)
			}
		}
	}
	synced()
	df := "a"
	if len(c.DesignatedForwarders("b")) == 1 {
		df = "b"
	}
	other := map[string]string{"a": "b", "b": "a"}[df]
	if !sws[df].floods() || sws[other].floods() || !sws["c"].floods() {
		t.Fatalf("flooding: %s %v, %s %v, c %v; want the DF %s and c", df, sws[df].floods(), other, sws[other].floods(), sws["c"].floods(), df)
	}
	before := len(sws[other].pkts)
	gate := make(chan struct{})
	sws[df].pmu.Lock()
	sws[df].gate = gate
	sws[df].pmu.Unlock()
	if _, _, err := c.SetDrained(ctx, df, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if sws[other].floods() {
		t.Fatalf("%s floods while %s's switch may still flood", other, df)
	}
	sws[df].pmu.Lock()
	sws[df].gate = nil
	sws[df].pmu.Unlock()
	close(gate)
	deadline := time.Now().Add(20 * time.Second)
	for !sws[other].floods() || sws[df].floods() {
		if time.Now().After(deadline) {
			t.Fatalf("hand-over never completed: %s %v, %s %v", df, sws[df].floods(), other, sws[other].floods())
		}
		time.Sleep(20 * time.Millisecond)
	}
	synced()
	sws[other].pmu.Lock()
	defer sws[other].pmu.Unlock()
	if len(sws[other].pkts) <= before {
		t.Fatalf("%s sent no announcement", other)
	}
	f := sws[other].pkts[len(sws[other].pkts)-1]
	if want := pipeline.AnnounceFrame(mapping.MAC{2, 0, 0, 0, 0, 3}); string(f) != string(want) {
		t.Errorf("announcement % x, want % x", f, want)
	}
	if o, ok := sws[other].out[len(sws[other].out)-1].(openflow.Output); !ok || o.Port != pipeline.FirstAccessOFPort {
		t.Errorf("announced out of %v, want the uplink %d", sws[other].out[len(sws[other].out)-1], pipeline.FirstAccessOFPort)
	}
}
