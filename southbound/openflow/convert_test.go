package openflow

import (
	"net/netip"
	"testing"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

func TestPrepareCookie(t *testing.T) {
	f := Flow{Table: 1, Priority: 10, Cookie: StageCookie(3) | 0xdead, Match: Match{EthType(0x0806), ArpOp(1)},
		Actions: []Action{Output{Port: 1}}}
	p, err := prepare(f)
	if err != nil {
		t.Fatal(err)
	}
	if p.cookie&CookieOwnerMask != CookieOwner || p.cookie&CookieStageMask != StageCookie(3)&CookieStageMask {
		t.Errorf("cookie %#x lost owner or stage", p.cookie)
	}
	reordered := f
	reordered.Match = Match{ArpOp(1), EthType(0x0806)}
	if q, _ := prepare(reordered); q.cookie != p.cookie || q.key != p.key {
		t.Errorf("field order changed the cookie: %#x vs %#x", q.cookie, p.cookie)
	}
	changes := []func(*Flow){
		func(f *Flow) { f.IdleTimeout = 5 },
		func(f *Flow) { f.HardTimeout = 5 },
		func(f *Flow) { f.NotifyRemoval = true },
		func(f *Flow) { f.Meter = 1 },
		func(f *Flow) { f.Goto = 2 },
		func(f *Flow) { f.WriteMeta = &MetadataWrite{1, 1} },
		func(f *Flow) { f.Actions = []Action{Output{Port: 2}} },
		func(f *Flow) { f.Match = Match{EthType(0x0806)} },
	}
	for i, ch := range changes {
		g := f
		ch(&g)
		q, err := prepare(g)
		if err != nil {
			t.Fatal(err)
		}
		if q.cookie == p.cookie {
			t.Errorf("change %d kept cookie %#x", i, q.cookie)
		}
	}
	if _, err := prepare(Flow{Table: 2, Goto: 1}); err == nil {
		t.Error("backward goto accepted")
	}
	if _, err := prepare(Flow{Actions: []Action{Move{Src: OXM{Class: 0x1234}, Dst: EthDst(macA), NBits: 1}}}); err == nil {
		t.Error("move of an unknown field accepted")
	}
}

func TestCanonicalMatch(t *testing.T) {
	a := Match{OXM{Class: ClassNXM0, Field: 1, Value: macA[:]}, Metadata(0x1234, ^uint64(0)),
		OXM{Class: ClassOpenFlowBasic, Field: fieldEthSrc, Value: macB[:], Mask: make([]byte, 6)},
		EthDstMasked(mac("03:00:00:00:00:01"), mac("01:00:00:00:00:00"))}
	b := Match{EthDst(macA), basic(fieldMetadata, u64(0x1234)),
		EthDstMasked(mac("01:00:00:00:00:00"), mac("01:00:00:00:00:00"))}
	if ka, kb := canonical(a).Key(), canonical(b).Key(); ka != kb {
		t.Errorf("canonical keys differ:\n%s\n%s", ka, kb)
	}
}

func TestGroupSig(t *testing.T) {
	g := GroupEntry{ID: 1, Type: GroupAll, Buckets: []Bucket{{Weight: 5, Actions: []Action{
		Output{Port: 1}, Move{Src: OXM{Class: ClassNXM0, Field: 2}, Dst: OXM{Class: ClassNXM0, Field: 1}, NBits: 48}}}}}
	h := GroupEntry{ID: 1, Type: GroupAll, Buckets: []Bucket{{Actions: []Action{
		Output{Port: 1}, Move{Src: EthSrc(macA), Dst: EthDst(macA), NBits: 48}}}}}
	if groupSig(g) != groupSig(h) {
		t.Errorf("equal all-groups differ:\n%s\n%s", groupSig(g), groupSig(h))
	}
	g.Type, h.Type = GroupSelect, GroupSelect
	if groupSig(g) == groupSig(h) {
		t.Error("select groups with other weights compare equal")
	}
	gm, err := groupWire(GroupEntry{ID: 2, Type: GroupAll, Buckets: []Bucket{{Weight: 9}}}, ofp13.GroupAdd)
	if err != nil || gm.Buckets[0].Weight != 0 || gm.Buckets[0].WatchPort != ofp13.PortAny {
		t.Errorf("group wire %+v %v", gm, err)
	}
}

func TestDiff(t *testing.T) {
	mk := func(prio uint16, port uint32) prepared {
		p, err := prepare(Flow{Table: 1, Priority: prio, Match: Match{InPort(port)}, Actions: []Action{Output{Port: port}}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	same, changed, gone, fresh := mk(1, 1), mk(2, 2), mk(3, 3), mk(4, 4)
	changedOld := changed
	changedOld.cookie ^= 1
	st := &flowState{flows: map[string]installed{}, groups: map[uint32]groupState{}}
	for _, p := range []prepared{same, changedOld, gone} {
		st.flows[p.key] = installed{table: 1, prio: p.flow.Priority, cookie: p.cookie, match: p.add.Match}
	}
	// An installed flow under an odd key but with the desired content is claimed, not replaced.
	odd := mk(5, 5)
	st.flows["odd"] = installed{table: 1, prio: 5, cookie: odd.cookie}
	keep := GroupEntry{ID: 1, Type: GroupAll, Buckets: []Bucket{{Actions: []Action{Output{Port: 1}}}}}
	mod := GroupEntry{ID: 2, Type: GroupSelect, Buckets: []Bucket{{Weight: 1}}}
	del := GroupEntry{ID: 3, Type: GroupIndirect}
	for _, g := range []GroupEntry{keep, mod, del} {
		st.groups[g.ID] = groupState{entry: g, sig: groupHash(g)}
	}
	mod.Buckets = []Bucket{{Weight: 2}}
	add := GroupEntry{ID: 4, Type: GroupAll}
	want := map[string]prepared{same.key: same, changed.key: changed, fresh.key: fresh, odd.key: odd}
	wantGroups := map[uint32]groupState{}
	for _, g := range []GroupEntry{keep, mod, add} {
		wantGroups[g.ID] = groupState{entry: g, sig: groupHash(g)}
	}
	p := diff(st, want, wantGroups)
	if len(p.adds) != 1 || p.adds[0].key != fresh.key || len(p.replaces) != 1 || p.replaces[0].key != changed.key ||
		len(p.dels) != 1 || p.dels[0].cookie != gone.cookie || p.claims["odd"] != odd.key {
		t.Errorf("flow plan %+v", p)
	}
	if len(p.groupAdds) != 1 || p.groupAdds[0].entry.ID != 4 || len(p.groupMods) != 1 || p.groupMods[0].entry.ID != 2 ||
		len(p.groupDels) != 1 || p.groupDels[0].entry.ID != 3 {
		t.Errorf("group plan adds %v mods %v dels %v", p.groupAdds, p.groupMods, p.groupDels)
	}
	if _, err := prepareFlows([]Flow{same.flow, same.flow}); err == nil {
		t.Error("duplicate desired flows accepted")
	}
}

// TestAppendActionSig holds the fmt-free signatures of a flood bucket's
// actions equal to actionSig's.
func TestAppendActionSig(t *testing.T) {
	for _, a := range []Action{
		Output{Port: 7}, Output{Port: 7, MaxLen: 128}, Output{Port: PortController}, Output{Port: PortInPort},
		SetField{Field: TunnelID(0x1068)}, SetField{Field: TunDst(netip.MustParseAddr("192.0.2.9"))},
		SetField{Field: TunDst(netip.MustParseAddr("2001:db8::9"))}, SetField{Field: EthDst([6]byte{2, 0, 0, 0, 0, 1})},
	} {
		if got, want := string(appendActionSig(nil, a)), actionSig(a); got != want {
			t.Errorf("%v: %q, want %q", a, got, want)
		}
	}
	bucket := func(w uint16, rloc string) Bucket {
		return Bucket{Weight: w, Actions: []Action{SetField{Field: TunDst(netip.MustParseAddr(rloc))}, Output{Port: 10}}}
	}
	all := GroupEntry{ID: GroupOwnedBase + 1, Type: GroupAll, Buckets: []Bucket{bucket(3, "192.0.2.9")}}
	reweighed := GroupEntry{ID: GroupOwnedBase + 1, Type: GroupAll, Buckets: []Bucket{bucket(5, "192.0.2.9")}}
	moved := GroupEntry{ID: GroupOwnedBase + 1, Type: GroupAll, Buckets: []Bucket{bucket(3, "192.0.2.10")}}
	if groupHash(all) != groupHash(reweighed) || groupHash(all) == groupHash(moved) {
		t.Errorf("weights of an all group must not count, locators must: %s %s %s", groupSig(all), groupSig(reweighed), groupSig(moved))
	}
}
