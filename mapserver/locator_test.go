package mapserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// setXTR emits the event the southbound emits when an xTR's OpenFlow
// connection goes down or comes back.
func setXTR(t *testing.T, ctl *controller.Controller, name, site, rloc string, up bool) {
	t.Helper()
	typ := controller.EvXTRDown
	if up {
		typ = controller.EvXTRUp
	}
	if err := ctl.Emit(testCtx(t), typ, nil, "", site, name, map[string]string{"rloc": rloc}); err != nil {
		t.Fatal(err)
	}
}

// ligLocator resolves hostMAC and returns its only locator.
func ligLocator(t *testing.T, s *Server) packet.Locator {
	t.Helper()
	res, err := client.Lig(testCtx(t), client.LigOptions{MR: s.Addr().String(), IID: iidA, EID: hostMAC})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || len(res.Records[0].Locators) != 1 {
		t.Fatalf("map-reply: %+v", res.Records)
	}
	return res.Records[0].Locators[0]
}

// TestLocatorStatus takes an xTR down the way the southbound reports it:
// its RLOC goes out with the R bit clear and priority 255 in Map-Replies
// and in the Map-Notify to subscribers, and as up: false in the API; the
// xTR coming back undoes it all.
func TestLocatorStatus(t *testing.T) {
	ctl, _ := pubsubController(t, dbFile(t))
	place(t, ctl, "dc2", "192.0.2.20") // edge2's RLOC
	s := startServer(t, ctl, Config{})
	c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 30)
	c.subscribed(ctl, iidA, hostMAC)
	if l := ligLocator(t, s); !l.Reachable || l.Priority != 1 {
		t.Fatalf("up locator in the Map-Reply: %+v", l)
	}
	for _, up := range []bool{false, true} {
		setXTR(t, ctl, "edge2", "dc2", "192.0.2.20", up)
		r := c.notify(2 * time.Second)
		if r.notify.Nonce != c.nonce+1 {
			t.Fatalf("status publication nonce %x, want %x", r.notify.Nonce, c.nonce+1)
		}
		c.nonce = r.notify.Nonce
		checkLocator(t, &r.notify, "192.0.2.20", up)
		c.ack(r, keyDC1)
		if l := ligLocator(t, s); l.Reachable != up || (l.Priority == 255) == up {
			t.Fatalf("up=%v: Map-Reply locator R=%v priority %d", up, l.Reachable, l.Priority)
		}
		res, err := ctl.Lookup(iidA, hostMAC)
		if err != nil || res.Record == nil || res.Record.Locators[0].Up != up {
			t.Fatalf("up=%v: lookup %+v %v", up, res.Record, err)
		}
		recs, _, err := ctl.ListMappings(testCtx(t), controller.MappingFilter{Limit: 10})
		if err != nil || len(recs) != 1 || recs[0].Locators[0].Up != up {
			t.Fatalf("up=%v: listed %+v %v", up, recs, err)
		}
		if ctl.XTRDown("edge2") == up {
			t.Fatalf("XTRDown(edge2) = %v with up=%v", ctl.XTRDown("edge2"), up)
		}
	}
	// The stored record itself never changes: status is the controller's view.
	if rec, _ := ctl.Record(mustEID(t, hostMAC)); !rec.Locators[0].Up {
		t.Fatal("status changed the stored record")
	}
}

// TestLocatorStatusSurvivesRestart: the last xtr.down in the feed is the
// status a restarted controller starts from.
func TestLocatorStatusSurvivesRestart(t *testing.T) {
	file := dbFile(t)
	ctl, stop := pubsubController(t, file)
	place(t, ctl, "dc2", "192.0.2.20")
	setXTR(t, ctl, "edge2", "dc2", "192.0.2.20", false)
	setXTR(t, ctl, "edge1", "dc1", "127.0.0.1", false)
	setXTR(t, ctl, "edge1", "dc1", "127.0.0.1", true)
	stop()
	ctl2, _ := openController(t, file)
	if !ctl2.XTRDown("edge2") || ctl2.XTRDown("edge1") {
		t.Fatalf("after restart: edge2 down %v, edge1 down %v", ctl2.XTRDown("edge2"), ctl2.XTRDown("edge1"))
	}
	res, err := ctl2.Lookup(iidA, hostMAC)
	if err != nil || res.Record.Locators[0].Up {
		t.Fatalf("lookup after restart: %+v %v", res.Record, err)
	}
}

// TestMoveNoticeRetransmitted: the Map-Notify telling an xTR that its EID
// moved away is sent again until acknowledged.
func TestMoveNoticeRetransmitted(t *testing.T) {
	ctl := newController(t)
	old := listenUDPTest(t, "127.0.0.2:0")
	s := startServer(t, ctl, Config{ETRPort: old.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port(),
		Notify: NotifyConfig{Interval: 150 * time.Millisecond, Retries: 5}})
	ctx := testCtx(t)
	_, b, err := client.BuildRegister(regOpt(s, keyDC1, "10.1.8.0/24", rloc1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.WriteToUDPAddrPort(b, s.Addr()); err != nil {
		t.Fatal(err)
	}
	readNotify(t, old, keyDC1) // the acknowledgement of the register
	if _, err := client.Register(ctx, regOpt(s, keyDC2, "10.1.8.0/24", rloc9)); err != nil {
		t.Fatal(err)
	}
	first := readNotify(t, old, keyDC1)
	again := readNotify(t, old, keyDC1)
	if again.Nonce != first.Nonce {
		t.Fatalf("retransmission nonce %x, want %x", again.Nonce, first.Nonce)
	}
	ack := again.Acknowledge()
	ab, _ := ack.Append(nil)
	if err := packet.Sign(ab, ack.AlgID, []byte(keyDC1)); err != nil {
		t.Fatal(err)
	}
	if _, err := old.WriteToUDPAddrPort(ab, s.Addr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the notice acknowledged", 5*time.Second, func() bool { return s.ps.pend.size() == 0 })
	buf := make([]byte, 2048)
	_ = old.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	if n, _, err := old.ReadFromUDPAddrPort(buf); err == nil {
		// One copy may have crossed the Ack on the wire; not two.
		_ = n
		_ = old.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
		if _, _, err := old.ReadFromUDPAddrPort(buf); err == nil {
			t.Fatal("the notice kept coming after its Ack")
		}
	}
}

func mustEID(t *testing.T, s string) mapping.EID {
	t.Helper()
	e, err := mapping.ParseEID(iidA, s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
