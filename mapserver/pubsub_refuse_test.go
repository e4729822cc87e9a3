package mapserver

import (
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// TestPubSubRefused checks that a subscription the server cannot
// authenticate is refused, counted, raised as an event and never stored:
// no xTR-ID, a subscriber of no known site, an Ack signed with another key
// and a replayed request.
func TestPubSubRefused(t *testing.T) {
	ctl, _ := pubsubController(t, dbFile(t))
	place(t, ctl, "dc1", "192.0.2.1")
	s := startServer(t, ctl, Config{Notify: NotifyConfig{Interval: 200 * time.Millisecond}})
	expectReply := func(c *subscriber, what string) {
		t.Helper()
		r, ok := c.recv(2 * time.Second)
		if !ok || r.typ != packet.TypeMapReply || len(r.reply.Records) != 1 {
			t.Fatalf("%s: want a Map-Reply instead of a subscription, got %v", what, r.typ)
		}
	}

	t.Run("no xTR-ID", func(t *testing.T) {
		c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 10)
		before := counterValue(t, subOutcomes[subRefusedNoXTRID])
		req := c.request(iidA, hostMAC)
		req.HasXTRID = false
		c.send(req)
		expectReply(c, "no xTR-ID")
		if counterValue(t, subOutcomes[subRefusedNoXTRID]) != before+1 {
			t.Fatal("refusal not counted")
		}
	})
	t.Run("subscriber of no site", func(t *testing.T) {
		c := newSubscriber(t, s.Addr(), "127.0.0.2:0", keyDC1, 11)
		before := counterValue(t, subOutcomes[subRefusedNoSite])
		c.subscribe(iidA, hostMAC)
		expectReply(c, "unknown subscriber")
		if counterValue(t, subOutcomes[subRefusedNoSite]) != before+1 {
			t.Fatal("refusal not counted")
		}
	})
	t.Run("ack signed with another key", func(t *testing.T) {
		c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 12)
		before := counterValue(t, subOutcomes[subRefusedAuth])
		badAcks := counterValue(t, ackResults[ackBadAuth])
		c.subscribe(iidA, hostMAC)
		r := c.notify(2 * time.Second)
		c.ack(r, keyDC2)
		waitFor(t, "the refusal counted", 5*time.Second, func() bool {
			return counterValue(t, subOutcomes[subRefusedAuth]) == before+1
		})
		if counterValue(t, ackResults[ackBadAuth]) != badAcks+1 {
			t.Fatal("bad Ack not counted")
		}
		// Refused means no more copies of the confirmation, and nothing stored.
		if r, ok := c.recv(500 * time.Millisecond); ok {
			t.Fatalf("confirmation sent again after the bad Ack: %v", r.typ)
		}
	})
	t.Run("never acknowledged", func(t *testing.T) {
		c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 13)
		before := counterValue(t, subOutcomes[subRefusedUnacked])
		c.subscribe(iidA, hostMAC)
		waitFor(t, "the give-up", 5*time.Second, func() bool {
			return counterValue(t, subOutcomes[subRefusedUnacked]) == before+1
		})
	})
	t.Run("replayed request", func(t *testing.T) {
		c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 14)
		c.subscribed(ctl, iidA, hostMAC)
		before := counterValue(t, subOutcomes[subRefusedReplay])
		c.nonce -= 2 // resend the nonce of the first request
		c.subscribe(iidA, hostMAC)
		waitFor(t, "the replay counted", 5*time.Second, func() bool {
			return counterValue(t, subOutcomes[subRefusedReplay]) == before+1
		})
		if r, ok := c.recv(300 * time.Millisecond); ok {
			t.Fatalf("a replayed request was answered: %v", r.typ)
		}
	})
	subs, _ := ctl.Subscriptions(controller.SubFilter{})
	if len(subs) != 1 || subs[0].XTRID != xtrIDText(&[16]byte{0x20, 15: 14}) {
		t.Fatalf("stored subscriptions: %+v", subs)
	}
	waitFor(t, "refusal events", 5*time.Second, func() bool {
		evs, err := ctl.EventsSince(testCtx(t), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Type == controller.EvSubscriptionRefused {
				n++
			}
		}
		return n >= 1
	})
}

// TestPubSubUnsubscribe ends a subscription with the RFC 9437 request (one
// ITR-RLOC of AFI 0): confirmed to the request's source, and removed once
// acknowledged.
func TestPubSubUnsubscribe(t *testing.T) {
	ctl, _ := pubsubController(t, dbFile(t))
	place(t, ctl, "dc1", "192.0.2.1")
	s := startServer(t, ctl, Config{})
	c := newSubscriber(t, s.Addr(), "127.0.0.1:0", keyDC1, 20)
	c.subscribed(ctl, iidA, hostMAC, "10.1.0.0/16")
	req := c.request(iidA, hostMAC)
	req.ITRRLOCs = []packet.Address{{AFI: packet.AFINone}}
	c.send(req)
	r := c.notify(2 * time.Second)
	if r.notify.Nonce != req.Nonce {
		t.Fatalf("unsubscribe confirmation nonce %x, want %x", r.notify.Nonce, req.Nonce)
	}
	c.ack(r, keyDC1)
	waitFor(t, "the subscription removed", 5*time.Second, func() bool {
		subs, _ := ctl.Subscriptions(controller.SubFilter{})
		return len(subs) == 1 && subs[0].EID == "10.1.0.0/16"
	})
	place(t, ctl, "dc2", "192.0.2.20") // no longer published to this xTR
	if r, ok := c.recv(300 * time.Millisecond); ok {
		t.Fatalf("published after unsubscribing: %v", r.typ)
	}
}
