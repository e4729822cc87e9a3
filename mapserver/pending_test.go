package mapserver

import (
	"net/netip"
	"testing"
	"time"
)

// TestPendingTable covers the bookkeeping of Map-Notifies waiting for an
// Ack: bounded size, matching by nonce and source, the retransmission
// order, and that an Ack and a give-up never both act on one entry.
func TestPendingTable(t *testing.T) {
	tb := newPendingTable(3)
	t0 := time.Now()
	a1 := netip.MustParseAddrPort("192.0.2.1:4342")
	a2 := netip.MustParseAddrPort("192.0.2.2:4342")
	p1 := &pending{nonce: 7, dsts: []netip.AddrPort{a1}, next: t0.Add(2 * time.Second)}
	p2 := &pending{nonce: 7, dsts: []netip.AddrPort{a2}, next: t0.Add(time.Second)}
	p3 := &pending{nonce: 9, dsts: []netip.AddrPort{a1}, next: t0.Add(3 * time.Second)}
	for _, p := range []*pending{p1, p2, p3} {
		if !tb.add(p) {
			t.Fatal("add refused below the bound")
		}
	}
	if tb.add(&pending{nonce: 10, dsts: []netip.AddrPort{a1}, next: t0}) || tb.size() != 3 {
		t.Fatalf("the table grew past its bound: %d", tb.size())
	}
	// Same nonce: the Ack's source picks the entry.
	if tb.match(7, netip.MustParseAddrPort("[::ffff:192.0.2.2]:9")) != p2 || tb.match(7, a1) != p1 {
		t.Fatal("match by source")
	}
	if tb.match(7, netip.MustParseAddrPort("198.51.100.1:1")) == nil || tb.match(8, a1) != nil {
		t.Fatal("match by nonce alone")
	}
	// Due in time order, the next wait to the earliest left.
	due, wait := tb.due(t0.Add(1500*time.Millisecond), nil)
	if len(due) != 1 || due[0] != p2 || wait != 500*time.Millisecond {
		t.Fatalf("due %v wait %v", due, wait)
	}
	// Acknowledged while in flight: the reschedule does nothing, a second
	// removal reports false.
	if !tb.remove(p2) || tb.remove(p2) {
		t.Fatal("remove of an entry in flight")
	}
	tb.reschedule(p2, t0.Add(time.Hour))
	if tb.size() != 2 || tb.match(7, a2) != p1 {
		t.Fatalf("after the Ack: size %d", tb.size())
	}
	due, _ = tb.due(t0.Add(4*time.Second), nil)
	if len(due) != 2 || due[0] != p1 || due[1] != p3 {
		t.Fatalf("due %v", due)
	}
	tb.reschedule(p1, t0.Add(5*time.Second))
	tb.mu.Lock()
	gaveUp := tb.forgetLocked(p3)
	tb.mu.Unlock()
	if !gaveUp || tb.remove(p3) || tb.size() != 1 {
		t.Fatal("give-up then Ack")
	}
	if !tb.add(&pending{nonce: 11, dsts: []netip.AddrPort{a1}, next: t0}) {
		t.Fatal("room freed by the Ack and the give-up not reused")
	}
}
