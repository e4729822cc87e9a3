package main

import (
	"net/netip"
	"testing"

	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// TestBenchCountsOnlyCorrectAnswers: a negative reply, a reply for another
// EID and a Map-Notify for another EID are answers, but not correct ones.
func TestBenchCountsOnlyCorrectAnswers(t *testing.T) {
	w := &benchWorker{c: benchConfig{kind: "map-request", iid: 1000}, base: 0x0a000000}
	loc := []packet.Locator{{Priority: 1, Weight: 100, Reachable: true, Addr: packet.AddrFromIP(netip.MustParseAddr("192.0.2.1"))}}
	reply := func(p string, locs []packet.Locator) []byte {
		e := packet.NewPrefixEID(netip.MustParsePrefix(p)).WithIID(1000)
		b, err := (&packet.MapReply{Nonce: 1, Records: []packet.Record{{EID: e, TTL: 1, Locators: locs}}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"positive host reply", reply("10.0.0.7/32", loc), true},
		{"positive covering prefix", reply("10.0.0.0/24", loc), true},
		{"negative reply", reply("10.0.0.0/24", nil), false},
		{"another EID", reply("10.0.0.8/32", loc), false},
		{"garbage", []byte{0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, false},
	} {
		if got := w.correct(c.b, 7); got != c.want {
			t.Errorf("%s: correct = %v, want %v", c.name, got, c.want)
		}
	}
	w.c.kind = "map-register"
	notify := func(i uint32) []byte {
		b, err := (&packet.MapNotify{Nonce: 1, Records: []packet.Record{{EID: w.eid(i), TTL: 1, Locators: loc}}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !w.correct(notify(7), 7) || w.correct(notify(8), 7) {
		t.Error("Map-Notify for the registered EID not told from another")
	}
}
