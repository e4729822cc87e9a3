package mapserver

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
)

// TestPubSubReplicas runs two replicas on one database: a subscription
// made through the one that does not publish is known to the other, which
// alone sends the publication (its Publisher flag is the one a leader
// election would set), and takes the Ack.
func TestPubSubReplicas(t *testing.T) {
	file := dbFile(t)
	ctlA, _ := pubsubController(t, file)
	ctlB, _ := openController(t, file)
	place(t, ctlA, "dc1", "192.0.2.1")
	var leaderB atomic.Bool
	a := startServer(t, ctlA, Config{Notify: NotifyConfig{Publisher: func() bool { return false }}})
	b := startServer(t, ctlB, Config{Notify: NotifyConfig{Publisher: leaderB.Load, Interval: 200 * time.Millisecond}})
	c := newSubscriber(t, a.Addr(), "127.0.0.1:0", keyDC1, 60)
	c.subscribed(ctlA, iidA, hostMAC)
	waitFor(t, "replica b knows the subscription", 5*time.Second, func() bool {
		_, n := ctlB.Subscriptions(controller.SubFilter{})
		return n == 1
	})
	place(t, ctlA, "dc2", "192.0.2.20")
	if r, ok := c.recv(600 * time.Millisecond); ok {
		t.Fatalf("published with no replica publishing: %v from %v", r.typ, r.from)
	}
	leaderB.Store(true)
	place(t, ctlA, "dc1", "192.0.2.1")
	r := c.notify(3 * time.Second)
	if r.from != b.Addr() {
		t.Fatalf("publication from %v, want replica b %v", r.from, b.Addr())
	}
	if r.notify.Nonce != c.nonce+1 {
		t.Fatalf("nonce %x, want %x", r.notify.Nonce, c.nonce+1)
	}
	checkLocator(t, &r.notify, "192.0.2.1", true)
	c.ack(r, keyDC1)
	waitFor(t, "replica b has the Ack", 5*time.Second, func() bool { return b.ps.pend.size() == 0 })
}

// TestSubscriptionSweep: the publishing replica removes a subscription
// whose TTL ran out, through the feed.
func TestSubscriptionSweep(t *testing.T) {
	ctl, _ := pubsubController(t, dbFile(t))
	startServer(t, ctl, Config{Notify: NotifyConfig{SweepInterval: 50 * time.Millisecond}})
	now := time.Now().UTC()
	if _, err := ctl.SaveSubscription(context.Background(), controller.Subscription{XTRID: "20010db8000000000000000000000070",
		Site: "dc1", InstanceID: iidA, EID: hostMAC, ITRRLOCs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Port: 4342,
		TTL: 1, CreatedAt: now.Add(-2 * time.Minute), RefreshedAt: now.Add(-2 * time.Minute), ExpiresAt: now.Add(-time.Minute), Nonce: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lapsed subscription removed", 5*time.Second, func() bool { return ctl.SubscriptionCount() == 0 })
}
