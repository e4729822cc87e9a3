package mapserver

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// checkLocator asserts the single locator of a Map-Notify's only record.
func checkLocator(t *testing.T, n *packet.MapNotify, rloc string, up bool) {
	t.Helper()
	if len(n.Records) != 1 || len(n.Records[0].Locators) != 1 {
		t.Fatalf("map-notify records: %+v", n.Records)
	}
	l := n.Records[0].Locators[0]
	if l.Addr.IP.String() != rloc || l.Reachable != up || (l.Priority == 255) == up {
		t.Fatalf("locator %s R=%v priority %d, want %s up=%v", l.Addr.IP, l.Reachable, l.Priority, rloc, up)
	}
}

// TestPubSubMove subscribes a codec-built xTR over UDP, moves the EID and
// checks that the Map-Notify arrives within 100 ms with the next nonce and
// the new locator, and that an acknowledged notify is not sent again.
func TestPubSubMove(t *testing.T) {
	ctl, _ := pubsubController(t, dbFile(t))
	place(t, ctl, "dc1", "192.0.2.1")
	s := startServer(t, ctl, Config{Notify: NotifyConfig{Interval: 300 * time.Millisecond}})
	c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 1)
	before := counterValue(t, subOutcomes[subCreated])
	conf := c.subscribed(ctl, iidA, hostMAC)
	checkLocator(t, &conf.notify, "192.0.2.1", true)
	if got := counterValue(t, subOutcomes[subCreated]) - before; got != 1 {
		t.Fatalf("created subscriptions counted %v, want 1", got)
	}
	subs, _ := ctl.Subscriptions(controller.SubFilter{})
	if len(subs) != 1 || subs[0].Site != "dc1" || subs[0].EID != hostMAC || subs[0].TTL != 1440 ||
		subs[0].Port != c.addr().Port() || subs[0].ITRRLOCs[0] != c.addr().Addr() {
		t.Fatalf("stored subscription: %+v", subs)
	}
	for i, site := range []string{"dc2", "dc1"} {
		rloc := map[string]string{"dc1": "192.0.2.1", "dc2": "192.0.2.20"}[site]
		start := time.Now()
		place(t, ctl, site, rloc)
		r := c.notify(2 * time.Second)
		if d := r.at.Sub(start); d > 100*time.Millisecond {
			t.Errorf("move %d: Map-Notify %v after the move, want within 100 ms", i, d)
		}
		if r.notify.Nonce != c.nonce+1 {
			t.Fatalf("publication nonce %x, want %x", r.notify.Nonce, c.nonce+1)
		}
		c.nonce = r.notify.Nonce
		checkLocator(t, &r.notify, rloc, true)
		c.ack(r, keyDC1)
	}
	if r, ok := c.recv(700 * time.Millisecond); ok {
		t.Fatalf("an acknowledged Map-Notify came again: %v nonce %x", r.typ, r.notify.Nonce)
	}
	// A withdrawal is published with TTL 0.
	if err := ctl.DeleteMapping(testCtx(t), iidA, hostMAC); err != nil {
		t.Fatal(err)
	}
	r := c.notify(2 * time.Second)
	if len(r.notify.Records) != 1 || r.notify.Records[0].TTL != 0 || len(r.notify.Records[0].Locators) != 0 {
		t.Fatalf("withdrawal: %+v", r.notify.Records)
	}
	c.ack(r, keyDC1)
}

// TestPubSubRetransmitGiveUp leaves a publication unacknowledged: it is
// sent 1+Retries times, Interval apart, then given up, counted and raised.
func TestPubSubRetransmitGiveUp(t *testing.T) {
	ctl, _ := pubsubController(t, dbFile(t))
	place(t, ctl, "dc1", "192.0.2.1")
	const interval = 200 * time.Millisecond
	s := startServer(t, ctl, Config{Notify: NotifyConfig{Interval: interval, Retries: 3}})
	c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 2)
	c.subscribed(ctl, iidA, hostMAC)
	gaveUp := counterValue(t, giveUps[kindPublish])
	resent := counterValue(t, retransmits[kindPublish])
	place(t, ctl, "dc2", "192.0.2.20")
	var copies []received
	for {
		r, ok := c.recv(3 * interval)
		if !ok {
			break
		}
		copies = append(copies, r)
	}
	if len(copies) != 4 {
		t.Fatalf("got %d copies, want 4 (the first and 3 retransmissions)", len(copies))
	}
	for i, r := range copies {
		if r.typ != packet.TypeMapNotify || r.notify.Nonce != copies[0].notify.Nonce {
			t.Fatalf("copy %d: %v nonce %x", i, r.typ, r.notify.Nonce)
		}
		if i > 0 {
			gap := r.at.Sub(copies[i-1].at)
			t.Logf("copy %d after %v", i, gap)
			if gap < interval*3/4 || gap > interval*2 {
				t.Errorf("copy %d came %v after the previous one, want about %v", i, gap, interval)
			}
		}
	}
	waitFor(t, "the give-up counted", 5*time.Second, func() bool {
		return counterValue(t, giveUps[kindPublish]) == gaveUp+1
	})
	if got := counterValue(t, retransmits[kindPublish]) - resent; got != 3 {
		t.Errorf("retransmissions counted %v, want 3", got)
	}
	waitFor(t, "the give-up event", 5*time.Second, func() bool {
		evs, err := ctl.EventsSince(testCtx(t), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			var d map[string]string
			if ev.Type == controller.EvNotifyUnacked && json.Unmarshal(ev.Data, &d) == nil &&
				d["kind"] == "publish" && d["copies"] == "4" && ev.EID == hostMAC {
				return true
			}
		}
		return false
	})
	if s.ps.pend.size() != 0 {
		t.Fatalf("%d Map-Notifies still pending", s.ps.pend.size())
	}
}

// TestPubSubRestart restarts the controller and the server on the same
// database: the subscription is still there and the next publication
// carries the nonce after the last one sent.
func TestPubSubRestart(t *testing.T) {
	file := dbFile(t)
	ctl, stop := pubsubController(t, file)
	place(t, ctl, "dc1", "192.0.2.1")
	s := startServer(t, ctl, Config{})
	c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 3)
	c.subscribed(ctl, iidA, hostMAC)
	place(t, ctl, "dc2", "192.0.2.20")
	r := c.notify(2 * time.Second)
	c.ack(r, keyDC1)
	c.nonce = r.notify.Nonce
	s.Close()
	stop()

	ctl2, _ := openController(t, file)
	subs, n := ctl2.Subscriptions(controller.SubFilter{})
	if n != 1 || subs[0].XTRID != xtrIDText(&c.xtrID) || subs[0].EID != hostMAC {
		t.Fatalf("after the restart: %d subscriptions %+v", n, subs)
	}
	s2 := startServer(t, ctl2, Config{})
	c.server = s2.Addr()
	place(t, ctl2, "dc1", "192.0.2.1")
	r = c.notify(2 * time.Second)
	if r.notify.Nonce != c.nonce+1 {
		t.Fatalf("publication after the restart has nonce %x, want %x", r.notify.Nonce, c.nonce+1)
	}
	checkLocator(t, &r.notify, "192.0.2.1", true)
	c.ack(r, keyDC1)
}
