package mapserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/pipeline"
)

// TestLocatorStatusDrainAndBFD: draining edge2 sends its locator out with
// priority 254 (still reachable) to subscribers and in Map-Replies; BFD
// reports of two other xTRs that lost it mark it down (R bit clear,
// priority 255) and notify the subscriber as a dropped connection would.
func TestLocatorStatusDrainAndBFD(t *testing.T) {
	ctl, _ := pubsubController(t, dbFile(t))
	ctx := testCtx(t)
	if _, err := ctl.CreateXTR(ctx, controller.XTRInput{Site: "dc1", Name: "edge1b", RLOC: "192.0.2.21"}); err != nil {
		t.Fatal(err)
	}
	place(t, ctl, "dc2", "192.0.2.20")
	s := startServer(t, ctl, Config{})
	c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 30)
	c.subscribed(ctl, iidA, hostMAC)
	next := func(prio uint8, up bool) {
		t.Helper()
		r := c.notify(2 * time.Second)
		c.nonce = r.notify.Nonce
		l := r.notify.Records[0].Locators[0]
		if l.Priority != prio || l.Reachable != up {
			t.Fatalf("Map-Notify locator priority %d R=%v, want %d %v", l.Priority, l.Reachable, prio, up)
		}
		c.ack(r, keyDC1)
		if l := ligLocator(t, s); l.Priority != prio || l.Reachable != up {
			t.Fatalf("Map-Reply locator priority %d R=%v, want %d %v", l.Priority, l.Reachable, prio, up)
		}
	}
	if _, _, err := ctl.SetDrained(ctx, "edge2", true); err != nil {
		t.Fatal(err)
	}
	next(pipeline.DrainPriority, true)
	if _, _, err := ctl.SetDrained(ctx, "edge2", false); err != nil {
		t.Fatal(err)
	}
	next(1, true)
	lost := netip.MustParseAddr("192.0.2.20")
	for _, x := range []struct{ name, other string }{{"edge1", "192.0.2.21"}, {"edge1b", "127.0.0.1"}} {
		r := controller.BFDReport{lost: false, netip.MustParseAddr(x.other): true}
		if err := ctl.ReportBFD(ctx, x.name, r); err != nil {
			t.Fatal(err)
		}
	}
	next(255, false)
	if err := ctl.ReportBFD(ctx, "edge1", controller.BFDReport{lost: true, netip.MustParseAddr("192.0.2.21"): true}); err != nil {
		t.Fatal(err)
	}
	next(1, true)
}
