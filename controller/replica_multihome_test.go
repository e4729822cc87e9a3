package controller_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// TestMultihomeReplicas: two replicas of one database (SQLite, and
// PostgreSQL when L2LISP_TEST_POSTGRES is set) agree on BFD port numbers,
// on a drain and on a BFD judgement one of them wrote, and so on the
// designated forwarder.
func TestMultihomeReplicas(t *testing.T) {
	storetest.Each(t, testMultihomeReplicas)
}

func testMultihomeReplicas(t *testing.T, dsn string) {
	a, b := newController(t, dsn), newController(t, dsn)
	ctx := context.Background()
	key, nets := "0123456789abcdef", []int64{4100}
	if _, err := a.CreateNetwork(ctx, 4100, "blue"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"dc1", "dc2"} {
		if _, err := a.CreateSite(ctx, controller.SiteInput{Name: s, AuthKey: &key, Networks: &nets}); err != nil {
			t.Fatal(err)
		}
	}
	ports := map[uint32]bool{}
	for _, x := range []controller.XTRInput{{Site: "dc1", Name: "e1", RLOC: "192.0.2.1"},
		{Site: "dc1", Name: "e2", RLOC: "192.0.2.101"}, {Site: "dc2", Name: "f1", RLOC: "192.0.2.2"}} {
		got, err := a.CreateXTR(ctx, x)
		if err != nil || ports[got.BFDOFPort] {
			t.Fatalf("%s: BFD port %d (%v)", x.Name, got.BFDOFPort, err)
		}
		ports[got.BFDOFPort] = true
	}
	df := func(c *controller.Controller) string {
		for _, n := range []string{"e1", "e2"} {
			if slices.Equal(c.DesignatedForwarders(n), []uint32{4100}) {
				return n
			}
		}
		return ""
	}
	eventually(t, "replica b knows the xTRs", func() bool {
		_, err := b.XTR("f1") // the last one created
		return err == nil && df(b) != ""
	})
	first := df(a)
	if df(b) != first {
		t.Fatalf("replicas elect %s and %s", first, df(b))
	}
	if _, _, err := a.SetDrained(ctx, first, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b follows the drain", func() bool { return df(b) != first && df(b) != "" })
	if _, _, err := a.SetDrained(ctx, first, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b follows the undrain", func() bool { return df(b) == first })
	// Both others lose the DF's RLOC over BFD: b judges it down too.
	x, _ := a.XTR(first)
	other := map[string]string{"e1": "e2", "e2": "e1"}[first]
	ox, _ := a.XTR(other)
	f1 := netip.MustParseAddr("192.0.2.2")
	for _, r := range []struct {
		name string
		rep  controller.BFDReport
	}{{other, controller.BFDReport{x.RLOC: false, f1: true}}, {"f1", controller.BFDReport{x.RLOC: false, ox.RLOC: true}}} {
		if err := a.ReportBFD(ctx, r.name, r.rep); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "replica b judges the RLOC down and moves the DF", func() bool {
		return b.LocatorDown(x.RLOC) && df(b) == other
	})
}
