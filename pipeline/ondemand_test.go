package pipeline

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

var (
	odLocal  = mapping.MAC{0x02, 0, 0, 0, 1, 1}
	odCached = mapping.MAC{0x02, 0, 0, 0, 2, 1}
	odIPc    = netip.MustParseAddr("198.51.100.21") // bound to odCached
	odIPl    = netip.MustParseAddr("198.51.100.11") // bound to odLocal
	odIPu    = netip.MustParseAddr("198.51.100.31") // bound to a MAC not in the view
	odIP6c   = netip.MustParseAddr("2001:db8::21")  // bound to odCached
)

func odBinding(iid uint32, ip netip.Addr, m mapping.MAC, xtr string, ls ...mapping.Locator) mapping.Record {
	bits := 32
	if ip.Is6() {
		bits = 128
	}
	return mapping.Record{EID: mapping.PrefixEID(iid, netip.PrefixFrom(ip, bits)), MAC: m, XTR: xtr,
		Locators: ls, Origin: mapping.OriginLearned}
}

// odView: plView with iid 10 on demand, a local host (with a bound
// address) on p1, a cached remote host at B with two bound addresses, and
// an address bound to a MAC that is not in the view.
func odView() SwitchView {
	v := plView(
		plRec(10, odLocal, "xtr-a", "p1"),
		plRec(10, odCached, "xtr-b", "", plLoc(plRlocB, 1, 100, true)),
		odBinding(10, odIPl, odLocal, "xtr-a"),
		odBinding(10, odIPc, odCached, "xtr-b", plLoc(plRlocB, 1, 100, true)),
		odBinding(10, odIP6c, odCached, "xtr-b", plLoc(plRlocB, 1, 100, true)),
		odBinding(10, odIPu, mapping.MAC{0x02, 0, 0, 0, 3, 1}, "xtr-c", plLoc(plRlocC, 1, 100, true)),
		plRec(20, odCached, "xtr-b", "", plLoc(plRlocB, 1, 100, true)), // iid 20 pushes
	)
	v.Modes = map[uint32]Mode{10: ModeOnDemand}
	v.MapCache = MapCacheView{IdleTimeout: 60, Meter: true}
	return v
}

func odFind(fs []openflow.Flow, table uint8, prio uint16, substr string) []openflow.Flow {
	var out []openflow.Flow
	for _, f := range fs {
		if f.Table == table && f.Priority == prio && strings.Contains(f.String(), substr) {
			out = append(out, f)
		}
	}
	return out
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModePush, "push": ModePush, "on-demand": ModeOnDemand} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", in, m, err, want)
		}
	}
	if _, err := ParseMode("auto"); err == nil {
		t.Error(`ParseMode("auto"): no error; the pipeline knows only effective modes`)
	}
	if ModeOnDemand.String() != "on-demand" || ModePush.String() != "push" {
		t.Error("mode names")
	}
}

func TestOnDemandForwarding(t *testing.T) {
	flows, _ := Compile(odView())
	cached := plEthDst(flows, odCached)
	var in20 []openflow.Flow
	in10 := odFind(flows, TableL2Forward, PriorityUnicast, "metadata=000000000100000a/0000000001ffffff")
	in10 = slices.DeleteFunc(in10, func(f openflow.Flow) bool { return !strings.Contains(f.String(), "eth_dst=020000000201") })
	if len(in10) != 1 {
		t.Fatalf("cached host of the on-demand iid: %d flows, want 1 (no split-horizon drop):\n%s", len(in10), strings.Join(plStrings(cached), "\n"))
	}
	f := in10[0]
	if f.Cookie != openflow.StageCookie(StageMapCache) || f.IdleTimeout != 60 || !f.NotifyRemoval {
		t.Errorf("map-cache entry %s: cookie %#x idle %d notify %v; want stage %d, idle 60, notify",
			f, f.Cookie, f.IdleTimeout, f.NotifyRemoval, StageMapCache)
	}
	for _, g := range cached {
		if g.Cookie == openflow.StageCookie(StageSplitHorizon) && strings.Contains(g.String(), "0000000a/") {
			t.Errorf("split-horizon drop for a map-cache entry: %s", g)
		}
	}
	if in20 = odFind(flows, TableL2Forward, PriorityUnicast, "eth_dst=020000000201,metadata=0000000002000014"); len(in20) != 1 ||
		in20[0].IdleTimeout != 0 {
		t.Errorf("push iid 20 keeps its split-horizon drop, without timeout: %v", plStrings(in20))
	}
	local := odFind(flows, TableL2Forward, PriorityUnicast, "eth_dst=020000000101")
	if len(local) != 1 || local[0].IdleTimeout != 0 || local[0].Cookie != openflow.StageCookie(StageL2Forward) {
		t.Errorf("local host of an on-demand iid: %v", plStrings(local))
	}
}

func TestOnDemandMiss(t *testing.T) {
	flows, _ := Compile(odView())
	miss := odFind(flows, TableL2Forward, PriorityMiss, "")
	if len(miss) != 1 {
		t.Fatalf("miss flows: %v, want one (iid 10 only)", plStrings(miss))
	}
	m := miss[0]
	want := []openflow.OXM{metaMatch(10, MetaFromLocal), openflow.EthDstMasked([6]byte{}, unicastMask)}
	if m.Match.Key() != openflow.Match(want).Key() || m.WriteMeta == nil || *m.WriteMeta != (openflow.MetadataWrite{Value: MetaMiss, Mask: MetaMiss}) ||
		m.Goto != TablePunt || len(m.Actions) != 1 || m.Actions[0] != (openflow.Group{ID: FloodGroupID(10, GroupKindFlood)}) {
		t.Errorf("miss flow %s: want unicast from local ports of iid 10 flooded, flagged, to table 40", m)
	}
	punt := odFind(flows, TablePunt, PriorityMissPunt, "")
	if len(punt) != 1 || punt[0].Meter != MissMeter || punt[0].Cookie != openflow.StageCookie(StageMiss) {
		t.Fatalf("table-40 miss punt: %v", plStrings(punt))
	}
	if len(odFind(flows, TablePunt, PriorityTableMiss, "")) != 1 {
		t.Error("table 40 has no table-miss drop")
	}
	// Learning off: table 40 still exists for the misses.
	v := odView()
	v.Learn = LearnView{}
	flows, _ = Compile(v)
	if len(odFind(flows, TablePunt, PriorityMissPunt, "")) != 1 || len(odFind(flows, TablePunt, PriorityPunt, "")) != 0 {
		t.Errorf("without learning: table 40 is %v", plStrings(plTable(flows, TablePunt)))
	}
	// No on-demand network: no miss flow, no table 40.
	v.Modes = nil
	flows, _ = Compile(v)
	if len(plTable(flows, TablePunt)) != 0 || len(odFind(flows, TableL2Forward, PriorityMiss, "")) != 0 {
		t.Errorf("push only: %v", plStrings(append(plTable(flows, TablePunt), odFind(flows, TableL2Forward, PriorityMiss, "")...)))
	}
}

func TestOnDemandResponder(t *testing.T) {
	flows, _ := Compile(odView())
	for ip, want := range map[netip.Addr]bool{odIPc: true, odIPl: true, odIPu: false} {
		got := len(odFind(flows, TableResponder, PriorityAnswer, "arp_tpa="+hexAddr(ip))) == 1
		if got != want {
			t.Errorf("ARP answer for %s: %v, want %v", ip, got, want)
		}
	}
	if len(odFind(flows, TableNDAdvert, PriorityAnswer, "nd_target="+hexAddr(odIP6c))) != 1 {
		t.Error("no NA for the cached host's IPv6 address")
	}
	// The no-answer flows of probes and DAD are there for both families.
	if len(odFind(flows, TableResponder, PriorityNoAnswer, "arp_spa=00000000")) != 1 ||
		len(odFind(flows, TableResponder, PriorityNoAnswer, "ipv6_src=00000000000000000000000000000000")) != 1 {
		t.Errorf("probe/DAD flows missing:\n%s", strings.Join(plStrings(plTable(flows, TableResponder)), "\n"))
	}
	// The cached host leaves: its addresses are no longer answered.
	v := odView()
	v.Records = slices.DeleteFunc(v.Records, func(r mapping.Record) bool { return r.EID == mapping.MACEID(10, odCached) })
	flows, _ = Compile(v)
	if len(odFind(flows, TableResponder, PriorityAnswer, "arp_tpa="+hexAddr(odIPc))) != 0 {
		t.Error("answer for the address of a host no longer in the map-cache")
	}
}

func hexAddr(a netip.Addr) string {
	var b strings.Builder
	for _, x := range a.AsSlice() {
		b.WriteString(strings.ToLower(string("0123456789abcdef"[x>>4]) + string("0123456789abcdef"[x&15])))
	}
	return b.String()
}

// TestOnDemandDeterministic: same view, any input order, same output;
// compiling twice gives the same.
func TestOnDemandDeterministic(t *testing.T) {
	v := odView()
	f1, g1 := Compile(v)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		w := odView()
		rng.Shuffle(len(w.Records), func(i, j int) { w.Records[i], w.Records[j] = w.Records[j], w.Records[i] })
		f2, g2 := Compile(w)
		if !reflect.DeepEqual(f1, f2) || !reflect.DeepEqual(g1, g2) {
			t.Fatal("output depends on record order")
		}
	}
}

// TestOnDemandEntryIsItsOwnDelta: installing one remote host adds exactly
// its entry and the answers for its addresses, nothing else.
func TestOnDemandEntryIsItsOwnDelta(t *testing.T) {
	v := odView()
	v.Records = slices.DeleteFunc(v.Records, func(r mapping.Record) bool { return r.EID == mapping.MACEID(10, odCached) })
	in, ok := NewIncremental(v)
	if !ok {
		t.Fatal("NewIncremental")
	}
	d, ok := in.Update(map[mapping.EID][]mapping.Record{
		mapping.MACEID(10, odCached): {plRec(10, odCached, "xtr-b", "", plLoc(plRlocB, 1, 100, true))}})
	if !ok {
		t.Fatal("Update")
	}
	if len(d.DelFlows)+len(d.Groups)+len(d.DelGroups) != 0 {
		t.Errorf("delta deletes or touches groups: %+v", d)
	}
	// The encap flow, two ARP flows for the v4 address, NS and NA for the v6 one.
	if len(d.Flows) != 5 {
		t.Errorf("delta adds %d flows, want 5:\n%s", len(d.Flows), strings.Join(plStrings(d.Flows), "\n"))
	}
	flows, groups := in.Result()
	sameCompile(t, "after install", odView(), flows, groups)
	d, _ = in.Update(map[mapping.EID][]mapping.Record{mapping.MACEID(10, odCached): nil})
	if len(d.DelFlows) != 5 || len(d.Flows) != 0 {
		t.Errorf("evicting the entry: %d deleted, %d added; want 5, 0", len(d.DelFlows), len(d.Flows))
	}
}

// TestIncrementalOnDemandMatchesCompile is TestIncrementalMatchesCompile
// with on-demand networks, whose IP bindings go through Update too.
func TestIncrementalOnDemandMatchesCompile(t *testing.T) {
	ipUpdates := 0
	defer func() {
		if ipUpdates < 100 {
			t.Errorf("only %d updates of on-demand IP bindings exercised", ipUpdates)
		}
	}()
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 11))
		v := randView(rng)
		v.Modes = map[uint32]Mode{}
		for _, iid := range v.Networks {
			if rng.IntN(3) != 0 {
				v.Modes[iid] = ModeOnDemand
			}
		}
		v.MapCache = MapCacheView{IdleTimeout: uint16(rng.IntN(2) * 30), Meter: rng.IntN(2) == 0}
		in, ok := NewIncremental(v)
		if !ok {
			continue
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
			if e.Family() != mapping.FamilyMAC && v.Modes[e.IID] != ModeOnDemand {
				if in, ok = NewIncremental(v); !ok {
					break
				}
				flows, groups = in.Result()
				clear(fs)
				clear(gs)
				applyDelta(fs, gs, openflow.Delta{Flows: flows, Groups: groups})
				continue
			}
			var recs []mapping.Record
			for _, r := range recordsOf(&v, e) {
				recs = append(recs, *r)
			}
			d, ok := in.Update(map[mapping.EID][]mapping.Record{e: recs})
			if !ok {
				break
			}
			if e.Family() != mapping.FamilyMAC {
				ipUpdates++
			}
			applyDelta(fs, gs, d)
			flows, groups = in.Result()
			sameCompile(t, "step", v, flows, groups)
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
		}
	}
}
