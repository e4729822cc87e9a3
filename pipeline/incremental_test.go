package pipeline

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// randView is a small random view whose records collide often: few MACs,
// iids, ports and locators, duplicate records per EID, local and remote.
func randView(rng *rand.Rand) SwitchView {
	v := SwitchView{XTR: "x1", Site: "s1", RLOC: netip.MustParseAddr("10.0.0.1"),
		TunnelPort: TunnelOFPort, VXLANPort: VXLANOFPort, Peers: map[uint32][]netip.Addr{},
		Encaps: map[uint32]Encap{}}
	if rng.IntN(8) == 0 {
		v.TunnelPort = 0
	}
	if rng.IntN(8) == 0 {
		v.VXLANPort = 0
	}
	if rng.IntN(8) == 0 {
		v.XTR = ""
	}
	for iid := uint32(1); iid <= 3; iid++ {
		if rng.IntN(4) != 0 {
			v.Networks = append(v.Networks, iid)
			v.Peers[iid] = []netip.Addr{rloc(2), rloc(3)}
			v.Encaps[iid] = Encap(rng.IntN(2))
		}
	}
	for i := range rng.IntN(4) {
		v.Ports = append(v.Ports, PortView{Name: "p" + string(rune('1'+i)), OFPort: uint32(i + 1), IID: uint32(1 + rng.IntN(3))})
	}
	v.Learn = LearnView{Enabled: rng.IntN(3) != 0, IdleTimeout: 300, Meter: rng.IntN(2) == 0}
	for range rng.IntN(30) {
		v.Records = append(v.Records, randRecord(rng))
	}
	return v
}

func rloc(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }

func randRecord(rng *rand.Rand) mapping.Record {
	iid := uint32(1 + rng.IntN(3))
	mac := mapping.MAC{0x02, 0, 0, 0, 0, byte(rng.IntN(12))}
	if rng.IntN(20) == 0 {
		mac[0] = 0x01 // multicast: ignored
	}
	r := mapping.Record{EID: mapping.MACEID(iid, mac), Version: uint64(rng.IntN(3)),
		Port: "p" + string(rune('1'+rng.IntN(4))), TTL: uint32(rng.IntN(2)),
		UpdatedAt: time.Unix(int64(rng.IntN(2)), 0)}
	switch rng.IntN(3) {
	case 0:
		r.XTR = "x1"
	case 1:
		r.XTR = "x2"
	}
	if rng.IntN(2) == 0 {
		r.Origin = mapping.OriginLearned
	} else {
		r.Origin = mapping.OriginStatic
	}
	r.Frozen = rng.IntN(5) == 0
	for range rng.IntN(4) {
		r.Locators = append(r.Locators, mapping.Locator{Addr: rloc(1 + rng.IntN(4)),
			Priority: uint8(rng.IntN(2)), Weight: uint8(rng.IntN(3) * 50), Up: rng.IntN(5) != 0})
	}
	if rng.IntN(6) == 0 { // an IP host bound to the MAC: base part
		ip := netip.AddrFrom4([4]byte{192, 168, 0, byte(rng.IntN(8))})
		if rng.IntN(2) == 0 {
			ip = netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(rng.IntN(8))})
		}
		r.EID = mapping.PrefixEID(iid, netip.PrefixFrom(ip, 32))
		r.MAC = mac
	}
	return r
}

// recordsOf returns pointers to the records of v with EID e.
func recordsOf(v *SwitchView, e mapping.EID) []*mapping.Record {
	var rs []*mapping.Record
	for i := range v.Records {
		if v.Records[i].EID == e {
			rs = append(rs, &v.Records[i])
		}
	}
	return rs
}

func sameCompile(t *testing.T, step string, v SwitchView, flows []openflow.Flow, groups []openflow.GroupEntry) {
	t.Helper()
	wf, wg := Compile(v)
	if !reflect.DeepEqual(flows, wf) {
		t.Fatalf("%s: flows differ\n got  %v\n want %v", step, flows, wf)
	}
	if !reflect.DeepEqual(groups, wg) && len(groups)+len(wg) > 0 {
		t.Fatalf("%s: groups differ\n got  %v\n want %v", step, groups, wg)
	}
}

// applyDelta plays a delta on a switch model keyed like the real one.
func applyDelta(fs map[string]openflow.Flow, gs map[uint32]openflow.GroupEntry, d openflow.Delta) {
	for _, f := range d.Flows {
		fs[f.Key()] = f
	}
	for _, f := range d.DelFlows {
		delete(fs, f.Key())
	}
	for _, g := range d.Groups {
		gs[g.ID] = g
	}
	for _, id := range d.DelGroups {
		delete(gs, id)
	}
}

// TestIncrementalMatchesCompile is the property the reconciler relies on:
// after any sequence of MAC record puts and deletes, base + parts equals
// Compile of the view, and the deltas played on the initial flow set give
// that same set.
func TestIncrementalMatchesCompile(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		v := randView(rng)
		in, ok := NewIncremental(v)
		if !ok {
			continue // a select group collision: Compile is used
		}
		flows, groups := in.Result()
		sameCompile(t, "initial", v, flows, groups)
		fs, gs := map[string]openflow.Flow{}, map[uint32]openflow.GroupEntry{}
		applyDelta(fs, gs, openflow.Delta{Flows: flows, Groups: groups})
		for step := range 40 {
			var e mapping.EID
			if len(v.Records) > 0 && rng.IntN(2) == 0 {
				i := rng.IntN(len(v.Records))
				e = v.Records[i].EID
				v.Records = slices.Delete(slices.Clone(v.Records), i, i+1)
			} else {
				r := randRecord(rng)
				e = r.EID
				v.Records = append(slices.Clone(v.Records), r)
			}
			if e.Family() != mapping.FamilyMAC {
				if in, ok = NewIncremental(v); !ok {
					break // IP records take the full path
				}
				flows, groups = in.Result()
				clear(fs)
				clear(gs)
				applyDelta(fs, gs, openflow.Delta{Flows: flows, Groups: groups})
				continue
			}
			d := newDeltaBuilder()
			if !in.set(e, recordsOf(&v, e), d) {
				break
			}
			applyDelta(fs, gs, d.delta(in))
			flows, groups = in.Result()
			sameCompile(t, "step "+string(rune('0'+step%10)), v, flows, groups)
			wf, wg := Compile(v)
			if len(fs) != len(wf) || len(gs) != len(wg) {
				t.Fatalf("seed %d step %d: delta model holds %d flows %d groups, want %d %d",
					seed, step, len(fs), len(gs), len(wf), len(wg))
			}
			for _, f := range wf {
				if !reflect.DeepEqual(fs[f.Key()], f) {
					t.Fatalf("seed %d step %d: delta model has %v, want %v", seed, step, fs[f.Key()], f)
				}
			}
			for _, g := range wg {
				if !reflect.DeepEqual(gs[g.ID], g) {
					t.Fatalf("seed %d step %d: delta model has group %v, want %v", seed, step, gs[g.ID], g)
				}
			}
		}
	}
}
