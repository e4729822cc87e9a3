package pipeline

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

const plTunnel = 100

var (
	plOwnRLOC = netip.MustParseAddr("192.0.2.1")
	plRlocB   = netip.MustParseAddr("192.0.2.2")
	plRlocC   = netip.MustParseAddr("192.0.2.3")
	plRlocD   = netip.MustParseAddr("192.0.2.4")
	plMAC     = mapping.MAC{0x02, 0, 0, 0, 0, 0x0a}
)

func plLoc(a netip.Addr, prio, weight uint8, up bool) mapping.Locator {
	return mapping.Locator{Addr: a, Priority: prio, Weight: weight, Up: up}
}

// plView: iid 10 has two local ports and peers B, C (and our own RLOC,
// to be ignored); iid 20 one port and peer B; iid 30 only peers.
func plView(recs ...mapping.Record) SwitchView {
	return SwitchView{
		XTR: "xtr-a", Site: "dc1", RLOC: plOwnRLOC, TunnelPort: plTunnel,
		Ports: []PortView{
			{Name: "p1", OFPort: 1, IID: 10}, {Name: "p2", OFPort: 2, IID: 10},
			{Name: "p3", OFPort: 3, IID: 20}, {Name: "p4", OFPort: 4, IID: 40}, // 40 not served
		},
		Networks: []uint32{10, 20, 30, 10, mapping.MaxIID + 1}, // duplicate and out-of-range iids ignored
		Peers: map[uint32][]netip.Addr{
			10: {plRlocC, plOwnRLOC, plRlocB, plRlocB},
			20: {plRlocB},
			30: {plRlocB, plRlocC},
		},
		Records: recs,
	}
}

func plRec(iid uint32, m mapping.MAC, xtr, port string, ls ...mapping.Locator) mapping.Record {
	return mapping.Record{EID: mapping.MACEID(iid, m), XTR: xtr, Port: port, Locators: ls, Origin: mapping.OriginRegistered}
}

func plStrings(fs []openflow.Flow) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	return out
}

func plTable(fs []openflow.Flow, table uint8) []openflow.Flow {
	var out []openflow.Flow
	for _, f := range fs {
		if f.Table == table {
			out = append(out, f)
		}
	}
	return out
}

// plEthDst is the table-30 flows matching eth_dst=m.
func plEthDst(fs []openflow.Flow, m mapping.MAC) []openflow.Flow {
	want := openflow.EthDst(m).String()
	var out []openflow.Flow
	for _, f := range plTable(fs, TableL2Forward) {
		if slices.ContainsFunc(f.Match, func(o openflow.OXM) bool { return o.String() == want }) {
			out = append(out, f)
		}
	}
	return out
}

func plGroup(gs []openflow.GroupEntry, id uint32) (openflow.GroupEntry, bool) {
	for _, g := range gs {
		if g.ID == id {
			return g, true
		}
	}
	return openflow.GroupEntry{}, false
}

func TestClassifier(t *testing.T) {
	v := plView()
	v.Ports = append(v.Ports, PortView{Name: "bogus", OFPort: plTunnel, IID: 10}, PortView{Name: "zero", IID: 10})
	flows, _ := Compile(v)
	table0 := plTable(flows, TableClassifier)
	tests := []struct {
		name     string
		match    openflow.Match
		wantMeta uint64 // 0: no flow expected
	}{
		{"port p1 in iid 10", openflow.Match{openflow.InPort(1)}, 10 | MetaFromLocal},
		{"port p2 in iid 10", openflow.Match{openflow.InPort(2)}, 10 | MetaFromLocal},
		{"port p3 in iid 20", openflow.Match{openflow.InPort(3)}, 20 | MetaFromLocal},
		{"port of an unserved iid", openflow.Match{openflow.InPort(4)}, 0},
		{"ofport 0 ignored", openflow.Match{openflow.InPort(0)}, 0},
		{"tunnel port is no access port", openflow.Match{openflow.InPort(plTunnel)}, 0},
		{"tunnel, served iid 10", openflow.Match{openflow.InPort(plTunnel), openflow.TunnelID(10)}, 10 | MetaFromTunnel},
		{"tunnel, served iid 20", openflow.Match{openflow.InPort(plTunnel), openflow.TunnelID(20)}, 20 | MetaFromTunnel},
		{"tunnel, served iid 30 without ports", openflow.Match{openflow.InPort(plTunnel), openflow.TunnelID(30)}, 30 | MetaFromTunnel},
		{"tunnel, foreign iid 40", openflow.Match{openflow.InPort(plTunnel), openflow.TunnelID(40)}, 0},
		{"tunnel, foreign iid 99", openflow.Match{openflow.InPort(plTunnel), openflow.TunnelID(99)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []openflow.Flow
			for _, f := range table0 {
				if f.Match.Key() == tc.match.Key() {
					got = append(got, f)
				}
			}
			if tc.wantMeta == 0 {
				if len(got) != 0 {
					t.Fatalf("want no flow, got %v", plStrings(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one flow, got %v", plStrings(got))
			}
			f := got[0]
			if f.WriteMeta == nil || *f.WriteMeta != (openflow.MetadataWrite{Value: tc.wantMeta, Mask: MetaMask}) ||
				f.Goto != TableLearn || len(f.Actions) != 0 || f.Priority != PriorityClassify {
				t.Fatalf("got %v, want write_metadata %#x/%#x goto %d", f, tc.wantMeta, MetaMask, TableLearn)
			}
		})
	}
	// 3 ports + 3 served tunnel iids + table-miss drop.
	if len(table0) != 7 {
		t.Errorf("table 0 has %d flows, want 7: %v", len(table0), plStrings(table0))
	}
	miss := table0[len(table0)-1]
	if miss.Priority != PriorityTableMiss || len(miss.Match) != 0 || len(miss.Actions) != 0 || miss.Goto != 0 {
		t.Errorf("last table-0 flow %v is not a table-miss drop", miss)
	}
}

func TestPassThroughTables(t *testing.T) {
	flows, _ := Compile(plView())
	for _, tc := range []struct{ table, next uint8 }{{TableLearn, TableResponder}, {TableResponder, TableL2Forward}} {
		got := plTable(flows, tc.table)
		if len(got) != 1 || len(got[0].Match) != 0 || got[0].Goto != tc.next || len(got[0].Actions) != 0 {
			t.Errorf("table %d: got %v, want a single goto_table:%d", tc.table, plStrings(got), tc.next)
		}
	}
}

func plUcast(stage uint8, iid uint32, from uint64, m mapping.MAC, acts ...openflow.Action) openflow.Flow {
	return openflow.Flow{
		Table: TableL2Forward, Priority: PriorityUnicast, Cookie: openflow.StageCookie(stage),
		Match: openflow.Match{metaMatch(iid, from), openflow.EthDst(m)}, Actions: acts,
	}
}

// plRemote is the encap flow from local ports plus the split-horizon drop.
func plRemote(iid uint32, m mapping.MAC, acts ...openflow.Action) []openflow.Flow {
	return []openflow.Flow{
		plUcast(StageL2Forward, iid, MetaFromLocal, m, acts...),
		plUcast(StageSplitHorizon, iid, MetaFromTunnel, m),
	}
}

func plEncap(iid uint32, a netip.Addr) []openflow.Action { return tunnelEncap(iid, a, plTunnel) }

func TestForwardUnicast(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::2")
	tests := []struct {
		name string
		view func(SwitchView) SwitchView
		rec  mapping.Record
		want []openflow.Flow
	}{
		{"local by RLOC, known port", nil, plRec(10, plMAC, "", "p1", plLoc(plOwnRLOC, 1, 100, true)),
			[]openflow.Flow{plUcast(StageL2Forward, 10, 0, plMAC, openflow.Output{Port: 1})}},
		{"local by xTR name, known port", nil, plRec(10, plMAC, "xtr-a", "p2"),
			[]openflow.Flow{plUcast(StageL2Forward, 10, 0, plMAC, openflow.Output{Port: 2})}},
		{"local, own RLOC down still local", nil, plRec(10, plMAC, "", "p2", plLoc(plOwnRLOC, 1, 100, false)),
			[]openflow.Flow{plUcast(StageL2Forward, 10, 0, plMAC, openflow.Output{Port: 2})}},
		{"local, unknown port floods locally", nil, plRec(10, plMAC, "xtr-a", "nope"),
			[]openflow.Flow{plUcast(StageL2Forward, 10, 0, plMAC, openflow.Group{ID: FloodGroupID(10, GroupKindFloodLocal)})}},
		{"local, port of another iid floods locally", nil, plRec(10, plMAC, "xtr-a", "p3"),
			[]openflow.Flow{plUcast(StageL2Forward, 10, 0, plMAC, openflow.Group{ID: FloodGroupID(10, GroupKindFloodLocal)})}},
		{"local in iid without ports: no flow", nil, plRec(30, plMAC, "xtr-a", "p1"), nil},
		{"remote, single locator", nil, plRec(10, plMAC, "xtr-b", "", plLoc(plRlocB, 1, 100, true)),
			plRemote(10, plMAC, plEncap(10, plRlocB)...)},
		{"lower priority number wins", nil, plRec(20, plMAC, "", "",
			plLoc(plRlocB, 5, 50, true), plLoc(plRlocC, 2, 50, true), plLoc(plRlocD, 7, 50, true)),
			plRemote(20, plMAC, plEncap(20, plRlocC)...)},
		{"down locator skipped", nil, plRec(10, plMAC, "", "",
			plLoc(plRlocB, 1, 50, false), plLoc(plRlocC, 2, 50, true)),
			plRemote(10, plMAC, plEncap(10, plRlocC)...)},
		{"priority 255 skipped", nil, plRec(10, plMAC, "", "",
			plLoc(plRlocB, 255, 50, true), plLoc(plRlocC, 9, 50, true)),
			plRemote(10, plMAC, plEncap(10, plRlocC)...)},
		{"zero weight among equals skipped", nil, plRec(10, plMAC, "", "",
			plLoc(plRlocB, 1, 0, true), plLoc(plRlocC, 1, 100, true)),
			plRemote(10, plMAC, plEncap(10, plRlocC)...)},
		{"other-family locator skipped", nil, plRec(10, plMAC, "", "",
			plLoc(v6, 1, 50, true), plLoc(plRlocC, 2, 50, true)),
			plRemote(10, plMAC, plEncap(10, plRlocC)...)},
		{"all locators down: no flow, flooded", nil, plRec(10, plMAC, "", "",
			plLoc(plRlocB, 1, 50, false), plLoc(plRlocC, 1, 50, false)), nil},
		{"only priority 255: no flow", nil, plRec(10, plMAC, "", "", plLoc(plRlocB, 255, 50, true)), nil},
		{"no locators: no flow", nil, plRec(10, plMAC, "xtr-b", ""), nil},
		{"unserved iid ignored", nil, plRec(40, plMAC, "", "", plLoc(plRlocB, 1, 50, true)), nil},
		{"IP EID ignored", nil, mapping.Record{
			EID:      mapping.PrefixEID(10, netip.MustParsePrefix("10.0.0.1/32")),
			Locators: []mapping.Locator{plLoc(plRlocB, 1, 50, true)}}, nil},
		{"no tunnel port: no encap", func(v SwitchView) SwitchView { v.TunnelPort = 0; return v },
			plRec(10, plMAC, "", "", plLoc(plRlocB, 1, 50, true)), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := plView(tc.rec)
			if tc.view != nil {
				v = tc.view(v)
			}
			flows, _ := Compile(v)
			got := plStrings(plTable(flows, TableL2Forward))
			got = slices.DeleteFunc(got, func(s string) bool { return !strings.Contains(s, "eth_dst") })
			want := plStrings(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
			if len(tc.want) > 0 {
				plCheckCookies(t, plEthDst(flows, plMAC), tc.want)
			}
		})
	}
}

// plCheckCookies compares cookies, which Flow.String leaves out.
func plCheckCookies(t *testing.T, got, want []openflow.Flow) {
	t.Helper()
	for _, w := range want {
		i := slices.IndexFunc(got, func(f openflow.Flow) bool { return f.Key() == w.Key() })
		if i < 0 || got[i].Cookie != w.Cookie {
			t.Errorf("flow %v: cookie mismatch or missing", w)
		}
	}
}

func TestDuplicateRecords(t *testing.T) {
	older := plRec(10, plMAC, "xtr-b", "", plLoc(plRlocB, 1, 50, true))
	older.Version = 3
	newer := plRec(10, plMAC, "xtr-z", "p2", plLoc(plOwnRLOC, 1, 50, true)) // sorts after xtr-b
	newer.Version = 9
	tie := plRec(10, plMAC, "xtr-c", "", plLoc(plRlocC, 1, 50, true))
	tie.Version = 3
	tests := []struct {
		name string
		recs []mapping.Record
		want []openflow.Flow
	}{
		{"newest wins, newest first", []mapping.Record{newer, older},
			[]openflow.Flow{plUcast(StageL2Forward, 10, 0, plMAC, openflow.Output{Port: 2})}},
		{"newest wins, newest last", []mapping.Record{older, newer},
			[]openflow.Flow{plUcast(StageL2Forward, 10, 0, plMAC, openflow.Output{Port: 2})}},
		{"equal versions: fixed tie-break (xTR name)", []mapping.Record{tie, older},
			plRemote(10, plMAC, plEncap(10, plRlocB)...)},
		{"equal versions, other order", []mapping.Record{older, tie},
			plRemote(10, plMAC, plEncap(10, plRlocB)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flows, _ := Compile(plView(tc.recs...))
			got, want := plStrings(plEthDst(flows, plMAC)), plStrings(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

func TestSelectGroup(t *testing.T) {
	type bucket struct {
		addr   netip.Addr
		weight uint16
	}
	tests := []struct {
		name string
		ls   []mapping.Locator
		want []bucket
	}{
		{"weighted", []mapping.Locator{plLoc(plRlocC, 1, 70, true), plLoc(plRlocB, 1, 30, true)},
			[]bucket{{plRlocB, 30}, {plRlocC, 70}}},
		{"all weights zero split evenly", []mapping.Locator{plLoc(plRlocC, 3, 0, true), plLoc(plRlocB, 3, 0, true)},
			[]bucket{{plRlocB, 1}, {plRlocC, 1}}},
		{"worse priority and down left out", []mapping.Locator{
			plLoc(plRlocB, 1, 25, true), plLoc(plRlocC, 1, 75, true), plLoc(plRlocD, 2, 100, true),
			plLoc(netip.MustParseAddr("192.0.2.9"), 1, 50, false)},
			[]bucket{{plRlocB, 25}, {plRlocC, 75}}},
		{"duplicate address once", []mapping.Locator{
			plLoc(plRlocB, 1, 20, true), plLoc(plRlocB, 1, 40, true), plLoc(plRlocD, 1, 60, true)},
			[]bucket{{plRlocB, 40}, {plRlocD, 60}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flows, groups := Compile(plView(plRec(10, plMAC, "", "", tc.ls...)))
			fwd := plEthDst(flows, plMAC)
			if len(fwd) != 2 {
				t.Fatalf("want encap + split-horizon flows, got %v", plStrings(fwd))
			}
			i := slices.IndexFunc(fwd, func(f openflow.Flow) bool { return len(f.Actions) == 1 })
			if i < 0 {
				t.Fatalf("no group flow in %v", plStrings(fwd))
			}
			ga, ok := fwd[i].Actions[0].(openflow.Group)
			if !ok || ga.ID-SelectGroupBase >= selectGroupSpan {
				t.Fatalf("flow %v does not use a select group", fwd[i])
			}
			g, ok := plGroup(groups, ga.ID)
			if !ok || g.Type != openflow.GroupSelect {
				t.Fatalf("group %d missing or not SELECT: %v", ga.ID, g)
			}
			var want []openflow.Bucket
			for _, b := range tc.want {
				want = append(want, openflow.Bucket{Weight: b.weight, Actions: plEncap(10, b.addr)})
			}
			if !reflect.DeepEqual(g.Buckets, want) {
				t.Fatalf("buckets\n\t%v\nwant\n\t%v", g, openflow.GroupEntry{ID: g.ID, Type: g.Type, Buckets: want})
			}
		})
	}
}

func TestSelectGroupSharingAndIDs(t *testing.T) {
	set1 := []mapping.Locator{plLoc(plRlocB, 1, 50, true), plLoc(plRlocC, 1, 50, true)}
	set2 := []mapping.Locator{plLoc(plRlocB, 1, 40, true), plLoc(plRlocC, 1, 60, true)}
	m2 := mapping.MAC{2, 0, 0, 0, 0, 2}
	m3 := mapping.MAC{2, 0, 0, 0, 0, 3}
	flows, groups := Compile(plView(
		plRec(10, plMAC, "", "", set1...), plRec(10, m2, "", "", plReversed(set1)...),
		plRec(10, m3, "", "", set2...), plRec(20, plMAC, "", "", set1...)))
	gid := func(iid uint32, m mapping.MAC) uint32 {
		for _, f := range plEthDst(flows, m) {
			if f.Match[0].String() == metaMatch(iid, MetaFromLocal).String() {
				return f.Actions[0].(openflow.Group).ID
			}
		}
		t.Fatalf("no flow for %v in %d", m, iid)
		return 0
	}
	tests := []struct {
		name       string
		a, b       uint32
		wantShared bool
	}{
		{"same set, same iid, any order", gid(10, plMAC), gid(10, m2), true},
		{"other weights", gid(10, plMAC), gid(10, m3), false},
		{"other iid", gid(10, plMAC), gid(20, plMAC), false},
	}
	for _, tc := range tests {
		if (tc.a == tc.b) != tc.wantShared {
			t.Errorf("%s: ids %d and %d, shared want %v", tc.name, tc.a, tc.b, tc.wantShared)
		}
	}
	if n := plCountSelect(groups); n != 3 {
		t.Errorf("%d select groups, want 3", n)
	}
}

func plReversed(ls []mapping.Locator) []mapping.Locator {
	out := slices.Clone(ls)
	slices.Reverse(out)
	return out
}

func plCountSelect(gs []openflow.GroupEntry) int {
	n := 0
	for _, g := range gs {
		if g.Type == openflow.GroupSelect {
			n++
		}
	}
	return n
}

func TestSelectGroupCollisionProbes(t *testing.T) {
	best := []mapping.Locator{plLoc(plRlocB, 1, 50, true), plLoc(plRlocC, 1, 50, true)}
	c := newCompiler(plView())
	first := c.selectGroup(10, best)
	// A fresh compiler where that id is already taken must probe onward.
	c2 := newCompiler(plView())
	c2.addGroup(first, openflow.GroupSelect, nil)
	if second := c2.selectGroup(10, best); second == first || second-SelectGroupBase >= selectGroupSpan {
		t.Fatalf("collision not resolved: %d then %d", first, second)
	}
	if again := c.selectGroup(10, best); again != first {
		t.Fatalf("same set got %d then %d", first, again)
	}
}

func TestFloodGroups(t *testing.T) {
	flows, groups := Compile(plView())
	out := func(p uint32) openflow.Bucket {
		return openflow.Bucket{Actions: []openflow.Action{openflow.Output{Port: p}}}
	}
	her := func(iid uint32, a netip.Addr) openflow.Bucket { return openflow.Bucket{Actions: plEncap(iid, a)} }
	tests := []struct {
		name string
		id   uint32
		want []openflow.Bucket // nil: no group
	}{
		{"iid 10 from local: ports + peers, own RLOC skipped", FloodGroupID(10, GroupKindFlood),
			[]openflow.Bucket{out(1), out(2), her(10, plRlocB), her(10, plRlocC)}},
		{"iid 10 from tunnel: ports only", FloodGroupID(10, GroupKindFloodLocal),
			[]openflow.Bucket{out(1), out(2)}},
		{"iid 20 from local", FloodGroupID(20, GroupKindFlood), []openflow.Bucket{out(3), her(20, plRlocB)}},
		{"iid 20 from tunnel", FloodGroupID(20, GroupKindFloodLocal), []openflow.Bucket{out(3)}},
		{"iid 30 has no local ports", FloodGroupID(30, GroupKindFlood), nil},
		{"iid 30 has no local ports (tunnel)", FloodGroupID(30, GroupKindFloodLocal), nil},
		{"iid 40 not served", FloodGroupID(40, GroupKindFlood), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, ok := plGroup(groups, tc.id)
			if tc.want == nil {
				if ok {
					t.Fatalf("unexpected group %v", g)
				}
				return
			}
			if !ok || g.Type != openflow.GroupAll || !reflect.DeepEqual(g.Buckets, tc.want) {
				t.Fatalf("got %v (found %v), want ALL group with %v", g, ok, tc.want)
			}
			// The flood flow of that group matches the right source bit.
			from := MetaFromLocal
			if tc.id&3 == GroupKindFloodLocal {
				from = MetaFromTunnel
			}
			want := openflow.Flow{Table: TableL2Forward, Priority: PriorityFlood, Cookie: openflow.StageCookie(StageFlood),
				Match: openflow.Match{metaMatch((tc.id-FloodGroupBase)>>2, from)}, Actions: []openflow.Action{openflow.Group{ID: tc.id}}}
			if !slices.ContainsFunc(flows, func(f openflow.Flow) bool { return reflect.DeepEqual(f, want) }) {
				t.Fatalf("missing flood flow %v", want)
			}
		})
	}
	for _, g := range groups {
		if g.ID < FloodGroupBase || g.ID&3 != GroupKindFloodLocal {
			continue
		}
		for _, b := range g.Buckets {
			for _, a := range b.Actions {
				if o, ok := a.(openflow.Output); ok && o.Port == plTunnel {
					t.Errorf("split horizon: tunnel-sourced flood group %d outputs to the tunnel", g.ID)
				}
			}
		}
	}
}

// plRandomView builds a larger view: n MACs over several iids, a mix of local
// and remote records, multi-locator sets and some unusable ones.
func plRandomView(seed uint64, n int) SwitchView {
	r := rand.New(rand.NewPCG(seed, 1))
	v := SwitchView{XTR: "xtr-a", RLOC: plOwnRLOC, TunnelPort: plTunnel, VXLANPort: plVXLAN,
		Peers: map[uint32][]netip.Addr{}, Encaps: map[uint32]Encap{3: EncapVXLAN, 6: EncapVXLAN}}
	rlocs := make([]netip.Addr, 16)
	for i := range rlocs {
		rlocs[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
	}
	for iid := uint32(1); iid <= 8; iid++ {
		v.Networks = append(v.Networks, iid)
		for p := range 4 {
			ofp := (iid-1)*4 + uint32(p) + 1
			v.Ports = append(v.Ports, PortView{Name: fmt.Sprintf("tap%d", ofp), OFPort: ofp, IID: iid})
		}
		v.Peers[iid] = append([]netip.Addr{plOwnRLOC}, rlocs[iid:iid+4]...)
	}
	for i := range n {
		iid := uint32(i%9 + 1) // iid 9 is not served
		m := mapping.MAC{0x02, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 0}
		rec := plRec(iid, m, "", "")
		switch r.IntN(6) {
		case 0:
			rec.XTR, rec.Port = "xtr-a", fmt.Sprintf("tap%d", r.IntN(40))
		default:
			for range r.IntN(3) + 1 {
				rec.Locators = append(rec.Locators, plLoc(rlocs[r.IntN(len(rlocs))],
					uint8(r.IntN(3)), uint8(r.IntN(4)*25), r.IntN(8) != 0))
			}
		}
		v.Records = append(v.Records, rec)
	}
	return v
}

func plShuffled(v SwitchView, seed uint64) SwitchView {
	r := rand.New(rand.NewPCG(seed, 2))
	sh := func(n int, swap func(i, j int)) { r.Shuffle(n, swap) }
	v.Ports = slices.Clone(v.Ports)
	sh(len(v.Ports), func(i, j int) { v.Ports[i], v.Ports[j] = v.Ports[j], v.Ports[i] })
	v.Networks = slices.Clone(v.Networks)
	sh(len(v.Networks), func(i, j int) { v.Networks[i], v.Networks[j] = v.Networks[j], v.Networks[i] })
	peers := make(map[uint32][]netip.Addr, len(v.Peers))
	for k, ps := range v.Peers {
		ps = slices.Clone(ps)
		sh(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		peers[k] = ps
	}
	v.Peers = peers
	v.Records = slices.Clone(v.Records)
	for i := range v.Records {
		ls := slices.Clone(v.Records[i].Locators)
		sh(len(ls), func(i, j int) { ls[i], ls[j] = ls[j], ls[i] })
		v.Records[i].Locators = ls
	}
	sh(len(v.Records), func(i, j int) { v.Records[i], v.Records[j] = v.Records[j], v.Records[i] })
	return v
}

func TestDeterminism(t *testing.T) {
	tests := []struct {
		name string
		view SwitchView
	}{
		{"small", plView(plRec(10, plMAC, "", "", plLoc(plRlocB, 1, 50, true), plLoc(plRlocC, 1, 50, true)))},
		{"random 2000", plRandomView(1, 2000)},
		{"random 500 other seed", plRandomView(7, 500)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f1, g1 := Compile(tc.view)
			for seed := range uint64(3) {
				f2, g2 := Compile(plShuffled(tc.view, seed))
				if !reflect.DeepEqual(f1, f2) || !reflect.DeepEqual(g1, g2) {
					t.Fatalf("shuffle %d changed the output", seed)
				}
			}
		})
	}
}

// Invariants that must hold for any view.
func TestInvariants(t *testing.T) {
	dup := plView(plRec(10, plMAC, "", "", plLoc(plRlocB, 1, 50, true)))
	dup.Records = append(dup.Records, plRec(10, plMAC, "xtr-a", "p1"))
	dup.Records[1].Version = 9
	dup.Ports = append(dup.Ports, PortView{Name: "p1-again", OFPort: 1, IID: 20})
	tests := []struct {
		name string
		view SwitchView
	}{
		{"empty", SwitchView{}},
		{"test view", plView()},
		{"duplicate records and ports", dup},
		{"random", plRandomView(3, 3000)},
	}
	stages := map[uint8][]uint8{
		TableClassifier: {StageClassifier}, TableLearn: {StageLearn}, TableResponder: {StageResponder},
		TableL2Forward: {StageL2Forward, StageSplitHorizon, StageFlood},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flows, groups := Compile(tc.view)
			plCheckInvariants(t, flows, groups, stages)
		})
	}
}

func plCheckInvariants(t *testing.T, flows []openflow.Flow, groups []openflow.GroupEntry, stages map[uint8][]uint8) {
	t.Helper()
	keys := map[string]bool{}
	tables := map[uint8]bool{}
	for _, f := range flows {
		tables[f.Table] = true
		if keys[f.Key()] {
			t.Errorf("duplicate flow key %s", f.Key())
		}
		keys[f.Key()] = true
		stage := uint8((f.Cookie & openflow.CookieStageMask) >> 40)
		if f.Cookie&openflow.CookieOwnerMask != openflow.CookieOwner || f.Cookie&openflow.CookieHashMask != 0 ||
			!slices.Contains(stages[f.Table], stage) {
			t.Errorf("flow %v: bad cookie %#x", f, f.Cookie)
		}
		if f.Goto != 0 && f.Goto <= f.Table {
			t.Errorf("flow %v: goto backwards", f)
		}
	}
	if !slices.IsSortedFunc(flows, func(a, b openflow.Flow) int {
		return cmp.Or(cmp.Compare(a.Table, b.Table), cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.Match.Key(), b.Match.Key()))
	}) {
		t.Error("flows not sorted by table, priority (descending), match")
	}
	ids := map[uint32]bool{}
	for _, g := range groups {
		if ids[g.ID] {
			t.Errorf("duplicate group id %d", g.ID)
		}
		ids[g.ID] = true
		if len(g.Buckets) == 0 {
			t.Errorf("group %d has no buckets", g.ID)
		}
	}
	used := map[uint32]bool{}
	for _, f := range flows {
		if f.Goto != 0 && !tables[f.Goto] {
			t.Errorf("flow %v: goto a table without flows", f)
		}
		for _, a := range f.Actions {
			if g, ok := a.(openflow.Group); ok {
				used[g.ID] = true
				if !ids[g.ID] {
					t.Errorf("flow %v: group %d does not exist", f, g.ID)
				}
			}
		}
	}
	for id := range ids {
		if !used[id] {
			t.Errorf("group %d is never referenced", id)
		}
	}
	if !slices.IsSortedFunc(groups, func(a, b openflow.GroupEntry) int { return cmp.Compare(a.ID, b.ID) }) {
		t.Error("groups not sorted by id")
	}
}

func BenchmarkCompile10kMACs(b *testing.B) {
	v := plRandomView(42, 10000)
	b.ReportAllocs()
	for b.Loop() {
		Compile(v)
	}
}

// The worked example of docs/pipeline.md.
func ExampleCompile() {
	mac := func(s string) mapping.MAC { m, _ := mapping.ParseMAC(s); return m }
	a := netip.MustParseAddr
	v := SwitchView{
		XTR: "xtr-a", Site: "dc1", RLOC: a("192.0.2.1"), TunnelPort: 100,
		Ports:    []PortView{{Name: "vm1", OFPort: 1, IID: 5000}, {Name: "vm2", OFPort: 2, IID: 5000}},
		Networks: []uint32{5000},
		Peers:    map[uint32][]netip.Addr{5000: {a("192.0.2.2"), a("192.0.2.3")}},
		Records: []mapping.Record{
			plRec(5000, mac("02:00:00:00:00:01"), "xtr-a", "vm1", plLoc(a("192.0.2.1"), 1, 100, true)),
			plRec(5000, mac("02:00:00:00:00:02"), "xtr-b", "", plLoc(a("192.0.2.2"), 1, 100, true)),
			plRec(5000, mac("02:00:00:00:00:03"), "", "",
				plLoc(a("192.0.2.2"), 1, 60, true), plLoc(a("192.0.2.3"), 1, 40, true), plLoc(a("192.0.2.4"), 2, 100, true)),
		},
	}
	flows, groups := Compile(v)
	for _, f := range flows {
		fmt.Printf("stage=%d %v\n", f.Cookie&openflow.CookieStageMask>>40, f)
	}
	for _, g := range groups {
		fmt.Println(g)
	}
	// Output:
	// stage=1 table=0,priority=100,in_port=00000001 actions=,write_metadata:0x1001388/0x3ffffff,goto_table:10
	// stage=1 table=0,priority=100,in_port=00000002 actions=,write_metadata:0x1001388/0x3ffffff,goto_table:10
	// stage=1 table=0,priority=100,in_port=00000064,tun_id=0000000000001388 actions=,write_metadata:0x2001388/0x3ffffff,goto_table:10
	// stage=1 table=0,priority=0, actions=
	// stage=2 table=10,priority=0, actions=,goto_table:20
	// stage=3 table=20,priority=0, actions=,goto_table:30
	// stage=4 table=30,priority=100,eth_dst=020000000001,metadata=0000000000001388/0000000000ffffff actions=output:1
	// stage=4 table=30,priority=100,eth_dst=020000000002,metadata=0000000001001388/0000000001ffffff actions=set_field:tun_id=0000000000001388,set_field:tun_dst=c0000202,output:100
	// stage=5 table=30,priority=100,eth_dst=020000000002,metadata=0000000002001388/0000000002ffffff actions=
	// stage=4 table=30,priority=100,eth_dst=020000000003,metadata=0000000001001388/0000000001ffffff actions=group:1164655475
	// stage=5 table=30,priority=100,eth_dst=020000000003,metadata=0000000002001388/0000000002ffffff actions=
	// stage=6 table=30,priority=1,metadata=0000000001001388/0000000001ffffff actions=group:1342197281
	// stage=6 table=30,priority=1,metadata=0000000002001388/0000000002ffffff actions=group:1342197282
	// stage=4 table=30,priority=0, actions=
	// group_id=1164655475,type=1,bucket=weight:60,set_field:tun_id=0000000000001388,set_field:tun_dst=c0000202,output:100,bucket=weight:40,set_field:tun_id=0000000000001388,set_field:tun_dst=c0000203,output:100
	// group_id=1342197281,type=0,bucket=weight:0,output:1,bucket=weight:0,output:2,bucket=weight:0,set_field:tun_id=0000000000001388,set_field:tun_dst=c0000202,output:100,bucket=weight:0,set_field:tun_id=0000000000001388,set_field:tun_dst=c0000203,output:100
	// group_id=1342197282,type=0,bucket=weight:0,output:1,bucket=weight:0,output:2
}
