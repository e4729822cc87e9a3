package controller

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
)

// mhEnv is learnEnv plus a second xTR x1b at dc1: dc1 is multihomed.
func mhEnv(t *testing.T) *Controller {
	t.Helper()
	c := learnEnv(t)
	ctx := context.Background()
	if _, err := c.CreateXTR(ctx, XTRInput{Site: "dc1", Name: "x1b", RLOC: "192.0.2.11"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BindPort(ctx, "x1b", "lan", 4100); err != nil {
		t.Fatal(err)
	}
	c.SetBFDConfig(DefaultBFDConfig())
	return c
}

func TestBFDPortNumbers(t *testing.T) {
	c := mhEnv(t)
	seen := map[uint32]string{}
	for _, x := range c.XTRs() {
		if x.BFDOFPort < pipeline.FirstBFDOFPort || x.BFDOFPort > pipeline.LastBFDOFPort {
			t.Errorf("%s: BFD port %d out of range", x.Name, x.BFDOFPort)
		}
		if o, dup := seen[x.BFDOFPort]; dup {
			t.Errorf("%s and %s share BFD port %d", x.Name, o, x.BFDOFPort)
		}
		seen[x.BFDOFPort] = x.Name
	}
	ctx := context.Background()
	x2, _ := c.XTR("x2")
	if _, err := c.CreateSite(ctx, SiteInput{Name: "dc9", AuthKey: ptr("0123456789abcdef"), Networks: &[]int64{4100}}); err != nil {
		t.Fatal(err)
	}
	// A freed number is handed out again.
	if err := c.UnbindPort(ctx, "x2", "p1"); err != nil {
		t.Fatal(err)
	}
	_ = c.UnbindPort(ctx, "x2", "p2")
	if err := c.DeleteXTR(ctx, "x2"); err != nil {
		t.Fatal(err)
	}
	x9, err := c.CreateXTR(ctx, XTRInput{Site: "dc9", Name: "x9", RLOC: "192.0.2.9"})
	if err != nil || x9.BFDOFPort != x2.BFDOFPort {
		t.Fatalf("new xTR got BFD port %d (%v), want the freed %d", x9.BFDOFPort, err, x2.BFDOFPort)
	}
	v, _ := c.BaseView("x1")
	if len(v.BFDPorts) != 3 || v.BFDPorts[netip.MustParseAddr("192.0.2.9")] != x9.BFDOFPort {
		t.Errorf("x1's BFD ports %v: want one per peer RLOC (x1b, x3, x9)", v.BFDPorts)
	}
	if peers := c.BFDPeers("x1"); len(peers) != 3 {
		t.Errorf("BFDPeers %v", peers)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDesignatedForwarder(t *testing.T) {
	c := mhEnv(t)
	ctx := context.Background()
	df := func() string {
		a, b := c.DesignatedForwarders("x1"), c.DesignatedForwarders("x1b")
		if len(a)+len(b) != 1 {
			t.Fatalf("DF sets %v and %v: want exactly one DF of 4100", a, b)
		}
		if len(a) == 1 {
			return "x1"
		}
		return "x1b"
	}
	first := df()
	other := map[string]string{"x1": "x1b", "x1b": "x1"}[first]
	if got := c.DesignatedForwarders("x2"); !slices.Equal(got, []uint32{4100}) {
		t.Errorf("single-homed x2 is DF of %v", got)
	}
	// The DF's connection drops: the other takes over; it returns: back.
	emit := func(typ, xtr string) {
		t.Helper()
		if err := c.Emit(ctx, typ, nil, "", "dc1", xtr, nil); err != nil {
			t.Fatal(err)
		}
	}
	emit(EvXTRDown, first)
	if got := df(); got != other {
		t.Fatalf("DF %s down: DF is %s", first, got)
	}
	v, _ := c.BaseView(other)
	if !slices.Equal(v.DF, []uint32{4100}) || len(v.Mates) != 1 || v.Mates[0].Live {
		t.Errorf("view of %s: DF %v mates %+v", other, v.DF, v.Mates)
	}
	emit(EvXTRUp, first)
	if got := df(); got != first {
		t.Fatalf("DF back up: DF is %s", got)
	}
	// Drained: never DF while another is eligible; its locator at 254.
	x, pos, err := c.SetDrained(ctx, first, true)
	if err != nil || !x.Drained || pos == 0 {
		t.Fatalf("drain: %+v %d %v", x, pos, err)
	}
	if _, pos, _ := c.SetDrained(ctx, first, true); pos != 0 {
		t.Error("draining again wrote an event")
	}
	if got := df(); got != other {
		t.Fatalf("%s drained: DF is %s", first, got)
	}
	ls := c.LiveLocators([]mapping.Locator{{Addr: x.RLOC, Priority: 1, Weight: 100, Up: true}})
	if ls[0].Priority != pipeline.DrainPriority || !ls[0].Up {
		t.Errorf("drained locator %+v", ls[0])
	}
	v, _ = c.BaseView("x2")
	if v.RLOCState[x.RLOC] != pipeline.RLOCDrained {
		t.Errorf("x2's view does not show %s drained: %v", x.RLOC, v.RLOCState)
	}
	// Both drained: one of them still floods.
	if _, _, err := c.SetDrained(ctx, other, true); err != nil {
		t.Fatal(err)
	}
	df()
	for _, n := range []string{"x1", "x1b"} {
		if _, _, err := c.SetDrained(ctx, n, false); err != nil {
			t.Fatal(err)
		}
	}
	if got := df(); got != first || c.AnyLocatorDrained() {
		t.Fatalf("undrained: DF %s, drained left %v", got, c.AnyLocatorDrained())
	}
	if _, _, err := c.SetDrained(ctx, "nope", true); err == nil {
		t.Error("drained an unknown xTR")
	}
}

// BFD reports from every xTR decide which RLOCs are down; an isolated
// xTR's report does not count, and the result is rebuilt at start.
func TestBFDLocatorDown(t *testing.T) {
	c := mhEnv(t)
	ctx := context.Background()
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	x1, x1b, x2, x3 := a("192.0.2.1"), a("192.0.2.11"), a("192.0.2.2"), a("192.0.2.3")
	report := func(xtr string, r BFDReport) {
		t.Helper()
		if err := c.ReportBFD(ctx, xtr, r); err != nil {
			t.Fatal(err)
		}
	}
	// x1's WAN link is cut: it sees nobody, everybody else misses it.
	report("x1", BFDReport{x1b: false, x2: false, x3: false})
	report("x1b", BFDReport{x1: false, x2: true, x3: true})
	report("x2", BFDReport{x1: false, x1b: true, x3: true})
	report("x3", BFDReport{x1: false, x1b: true, x2: true})
	for _, tc := range []struct {
		a    netip.Addr
		down bool
	}{{x1, true}, {x1b, false}, {x2, false}, {x3, false}} {
		if c.LocatorDown(tc.a) != tc.down {
			t.Errorf("%s: down %v, want %v", tc.a, !tc.down, tc.down)
		}
	}
	if got := c.DesignatedForwarders("x1b"); !slices.Equal(got, []uint32{4100}) {
		t.Errorf("x1 cut off: x1b is DF of %v", got)
	}
	n := c.LastEventID()
	report("x2", BFDReport{x1: false, x1b: true, x3: true})
	if c.LastEventID() != n {
		t.Error("an unchanged report wrote an event")
	}
	// A restart rebuilds the same judgement from the feed.
	c2, err := New(ctx, c.db, c.log)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if !c2.LocatorDown(x1) || c2.LocatorDown(x2) {
		t.Error("restart: BFD judgement not rebuilt")
	}
	// A one-to-one failure decides nothing: x2 and x3 lose each other.
	report("x1", BFDReport{x1b: true, x2: true, x3: true})
	report("x2", BFDReport{x1: true, x1b: true, x3: false})
	report("x3", BFDReport{x1: true, x1b: true, x2: false})
	deadline := time.Now().Add(2 * time.Second)
	for c.LocatorDown(x1) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.LocatorDown(x1) || c.LocatorDown(x2) || c.LocatorDown(x3) {
		t.Errorf("after recovery: down x1 %v x2 %v x3 %v", c.LocatorDown(x1), c.LocatorDown(x2), c.LocatorDown(x3))
	}
	// A report of an xTR whose OpenFlow connection is down is stale.
	report("x2", BFDReport{x1: false, x1b: false, x3: true})
	report("x3", BFDReport{x1: false, x1b: true, x2: true})
	if !c.LocatorDown(x1) {
		t.Fatal("two of three see x1 down: want it down")
	}
	if err := c.Emit(ctx, EvXTRDown, nil, "", "dc2", "x2", nil); err != nil {
		t.Fatal(err)
	}
	if c.LocatorDown(x1) != true || c.LocatorDown(x1b) {
		t.Errorf("x2 disconnected: x1 down %v (want true: x3 alone), x1b down %v", c.LocatorDown(x1), c.LocatorDown(x1b))
	}
}

// Hosts seen at either xTR of a multihomed site are the site's hosts: no
// port changes between the edges, no IP binding flips; a host held by an
// xTR that went down is taken over.
func TestLearnMultihomed(t *testing.T) {
	c := mhEnv(t)
	ctx := context.Background()
	steps := []struct {
		s       Sighting
		verdict string
		bound   bool
		xtr     string
	}{
		{sight("x1", "p1", tMAC, "198.51.100.1"), VerdictLearn, true, "x1"},
		{sight("x1b", "lan", tMAC, "198.51.100.1"), VerdictNone, false, "x1"},
		{sight("x1b", "lan", tMAC, ""), VerdictNone, false, "x1"},
		{sight("x1", "p1", tMAC, "198.51.100.1"), VerdictNone, false, "x1"},
	}
	for i, st := range steps {
		res, err := c.Learn(ctx, st.s)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if res.Verdict != st.verdict || res.Bound != st.bound || res.Record.XTR != st.xtr {
			t.Fatalf("step %d: verdict %s bound %v xtr %s, want %s %v %s", i, res.Verdict, res.Bound,
				res.Record.XTR, st.verdict, st.bound, st.xtr)
		}
	}
	rec, _ := c.Record(mapping.MACEID(4100, tMAC))
	if len(rec.Locators) != 2 {
		t.Errorf("a host of a multihomed site has locators %v; want both xTRs'", rec.Locators)
	}
	if err := c.Emit(ctx, EvXTRDown, nil, "", "dc1", "x1", nil); err != nil {
		t.Fatal(err)
	}
	res, err := c.Learn(ctx, sight("x1b", "lan", tMAC, "198.51.100.1"))
	if err != nil || res.Verdict != VerdictPort || res.Record.XTR != "x1b" {
		t.Fatalf("x1 down: %s at %s (%v), want taken over by x1b", res.Verdict, res.Record.XTR, err)
	}
	ip, _ := c.Record(hostEID(4100, netip.MustParseAddr("198.51.100.1")))
	if ip.XTR != "x1b" {
		t.Errorf("the IP binding stayed at %s", ip.XTR)
	}
}
