package sim

import (
	"errors"
	"testing"

	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// TestApplyAgainstRealServer checks the incremental Apply: it needs a Sync
// on the connection first, sends only what a delta changes (groups before
// the flows using them, deletions after), and leaves the switch holding
// what a full Sync of the same desired state would, so a later Sync finds
// nothing to do.
func TestApplyAgainstRealServer(t *testing.T) {
	srv, addr := startServer(t)
	s, err := Dial(ctxT(t), addr, Options{DPID: 43})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sw := waitSwitch(t, srv, 43)
	if _, err := sw.Apply(ctxT(t), openflow.Delta{Flows: l2Flows(1)}); !errors.Is(err, openflow.ErrNeedSync) {
		t.Fatalf("apply before any sync: %v, want ErrNeedSync", err)
	}
	const n = 50
	if _, err := sw.Sync(ctxT(t), l2Flows(n), flood); err != nil {
		t.Fatal(err)
	}
	// Desired: flows 0..n-1 except 3, flow 7 now via group 8, flow n new.
	want := l2Flows(n + 1)
	sel := openflow.GroupEntry{ID: openflow.GroupOwnedBase + 8, Type: openflow.GroupSelect, Buckets: []openflow.Bucket{
		{Weight: 1, Actions: []openflow.Action{openflow.Output{Port: 101}}},
		{Weight: 1, Actions: []openflow.Action{openflow.Output{Port: 102}}}}}
	want[1+7].Actions = []openflow.Action{openflow.Group{ID: openflow.GroupOwnedBase + 8}}
	d := openflow.Delta{Flows: []openflow.Flow{want[1+7], want[1+n], want[1+9]},
		DelFlows: []openflow.Flow{want[1+3]}, Groups: []openflow.GroupEntry{sel}}
	before := s.FlowMods()
	res, err := sw.Apply(ctxT(t), d)
	if err != nil || res.Added != 1 || res.Modified != 1 || res.Deleted != 1 || res.GroupsChanged != 1 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if got := s.FlowMods() - before; got != 3 {
		t.Errorf("apply sent %d flow-mods, want 3 (flow 9 was unchanged)", got)
	}
	if s.FlowCount() != n+1 || s.HasEthDst(mac(3)) != 0 || s.HasEthDst(mac(n)) != 1 || len(s.Groups()) != 2 {
		t.Fatalf("sim holds %d flows, %d groups", s.FlowCount(), len(s.Groups()))
	}
	want = append(want[:1+3], want[1+4:]...)
	if res, err := sw.Sync(ctxT(t), want, []openflow.GroupEntry{flood[0], sel}); err != nil || res != (openflow.SyncResult{}) {
		t.Fatalf("sync after apply changed things: %+v %v", res, err)
	}
	// Back: the group goes after the flow that used it.
	back := l2Flows(8)[1+7]
	res, err = sw.Apply(ctxT(t), openflow.Delta{Flows: []openflow.Flow{back}, DelGroups: []uint32{openflow.GroupOwnedBase + 8, openflow.GroupOwnedBase + 99}})
	if err != nil || res.Modified != 1 || res.GroupsChanged != 1 || len(s.Groups()) != 1 {
		t.Fatalf("apply back: %+v %v, %d groups", res, err, len(s.Groups()))
	}
	if _, err := sw.Apply(ctxT(t), openflow.Delta{Flows: want[:1], DelFlows: want[:1]}); err == nil {
		t.Error("apply accepted a flow both wanted and deleted")
	}
}
