package openflow

import (
	"testing"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// A bucket's watch port goes on the wire as given (OFPP_ANY when none),
// comes back from a group description the same way, and takes part in the
// comparison with what the switch holds.
func TestBucketWatchPort(t *testing.T) {
	g := GroupEntry{ID: 7, Type: GroupSelect, Buckets: []Bucket{
		{Weight: 1, WatchPort: 60001, Actions: []Action{Output{Port: 10}}},
		{Weight: 1, Actions: []Action{Output{Port: 10}}},
	}}
	gm, err := groupWire(g, ofp13.GroupAdd)
	if err != nil {
		t.Fatal(err)
	}
	if gm.Buckets[0].WatchPort != 60001 || gm.Buckets[1].WatchPort != ofp13.PortAny {
		t.Fatalf("watch ports on the wire: %d, %d", gm.Buckets[0].WatchPort, gm.Buckets[1].WatchPort)
	}
	back := groupFromWire(ofp13.GroupDesc{Type: gm.Type, GroupID: gm.GroupID, Buckets: gm.Buckets})
	if groupSig(back) != groupSig(g) {
		t.Errorf("read back differs:\n%s\n%s", groupSig(back), groupSig(g))
	}
	if back.Buckets[1].WatchPort != 0 {
		t.Errorf("OFPP_ANY read back as %d, want 0", back.Buckets[1].WatchPort)
	}
	h := g
	h.Buckets = []Bucket{g.Buckets[0], g.Buckets[1]}
	h.Buckets[0].WatchPort = 60002
	if groupSig(h) == groupSig(g) {
		t.Error("buckets watching other ports compare equal")
	}
	if got := g.String(); got != "group_id=7,type=1,bucket=weight:1,watch_port:60001,output:10,bucket=weight:1,output:10" {
		t.Errorf("String: %s", got)
	}
}
