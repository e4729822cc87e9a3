package pipeline

import (
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

func TestElectDF(t *testing.T) {
	a, b, c := plOwnRLOC, plRlocB, plRlocC
	if got := ElectDF(10, nil); got.IsValid() {
		t.Fatalf("no candidate elected %v", got)
	}
	if got := ElectDF(10, []netip.Addr{b}); got != b {
		t.Fatalf("single candidate: %v", got)
	}
	won := map[netip.Addr]int{}
	for iid := uint32(0); iid < 1000; iid++ {
		df := ElectDF(iid, []netip.Addr{a, b, c})
		if df != ElectDF(iid, []netip.Addr{c, a, b, a}) || df != ElectDF(iid, []netip.Addr{netip.AddrFrom16(c.As16()), b, a}) {
			t.Fatalf("iid %d: the result depends on order, duplicates or the 4-in-6 form", iid)
		}
		won[df]++
		// Only the iids of the candidate that leaves move.
		rest := slices.DeleteFunc([]netip.Addr{a, b, c}, func(x netip.Addr) bool { return x == c })
		if got := ElectDF(iid, rest); df != c && got != df {
			t.Fatalf("iid %d: DF %v moved to %v when %v left", iid, df, got, c)
		}
	}
	for _, x := range []netip.Addr{a, b, c} {
		if won[x] < 250 || won[x] > 420 {
			t.Errorf("%v is DF of %d of 1000 instance-ids; want about a third", x, won[x])
		}
	}
}

var (
	mhIID   = uint32(10) // this xTR is DF
	mhOther = uint32(20) // the mate is DF
	mhHost  = mapping.MAC{0x02, 0, 0, 0, 0, 0x01}
	mhFar   = mapping.MAC{0x02, 0, 0, 0, 0, 0x02}
)

// mhView: xtr-a (RLOC A) and its live mate xtr-b (RLOC B) share site
// dc1's LAN; C and D are remote. xtr-a is DF of iid 10, not of 20.
func mhView(recs ...mapping.Record) SwitchView {
	v := plView(recs...)
	v.Mates = []Mate{{Name: "xtr-b", RLOC: plRlocB, Live: true}}
	v.DF = []uint32{mhIID}
	v.Peers = map[uint32][]netip.Addr{mhIID: {plRlocB, plRlocC}, mhOther: {plRlocB, plRlocC}, 30: {plRlocB}}
	v.BFDPorts = map[netip.Addr]uint32{plRlocB: 60002, plRlocC: 60003, plRlocD: 60004}
	return v
}

func mhFlows(t *testing.T, flows []openflow.Flow, m mapping.MAC) []string {
	t.Helper()
	out := plStrings(plEthDst(plTable(flows, TableL2Forward), m))
	slices.Sort(out)
	return out
}

func TestMultihomeFlood(t *testing.T) {
	flows, groups := Compile(mhView())
	fl, ok := plGroup(groups, FloodGroupID(mhIID, GroupKindFlood))
	if !ok {
		t.Fatal("the DF has no flood group")
	}
	for _, b := range fl.Buckets {
		if strings.Contains(fmt.Sprint(b.Actions), plRlocB.String()) || strings.Contains(fmt.Sprint(b.Actions), "c0000202") {
			t.Errorf("head-end replication to the mate: %v", fl)
		}
	}
	if len(fl.Buckets) != 3 { // p1, p2, C
		t.Errorf("flood group %v: want p1, p2 and C", fl)
	}
	for _, kind := range []uint32{GroupKindFlood, GroupKindFloodLocal} {
		if g, ok := plGroup(groups, FloodGroupID(mhOther, kind)); ok {
			t.Errorf("non-DF iid %d has flood group %v", mhOther, g)
		}
	}
	for _, from := range []uint64{MetaFromLocal, MetaFromTunnel} {
		m := openflow.Match{metaMatch(mhOther, from)}.Key()
		i := slices.IndexFunc(flows, func(f openflow.Flow) bool {
			return f.Table == TableL2Forward && f.Priority == PriorityFlood && f.Match.Key() == m
		})
		if i < 0 || len(flows[i].Actions) != 0 || flows[i].Goto != 0 {
			t.Errorf("non-DF BUM from %#x: want a drop, got %v", from, flows[i])
		}
	}
	plCheckInvariants(t, flows, groups, mhStages)
}

var mhStages = map[uint8][]uint8{
	TableClassifier: {StageClassifier}, TableLearn: {StageLearn}, TableResponder: {StageResponder},
	TableL2Forward: {StageL2Forward, StageSplitHorizon, StageFlood, StageSiteLAN}, TablePunt: {StagePunt},
}

func TestMultihomeUnicast(t *testing.T) {
	site := func(stage uint8, from uint64, acts ...openflow.Action) openflow.Flow {
		return plUcast(stage, mhIID, from, mhHost, acts...)
	}
	tests := []struct {
		name string
		rec  mapping.Record
		want []openflow.Flow
	}{
		{"own host on its port", plRec(mhIID, mhHost, "xtr-a", "p1"), []openflow.Flow{
			site(StageL2Forward, MetaFromTunnel, openflow.Output{Port: 1}), site(StageSiteLAN, MetaFromLocal)}},
		{"mate's host: every access port of the iid", plRec(mhIID, mhHost, "xtr-b", "lan-b"), []openflow.Flow{
			site(StageL2Forward, MetaFromTunnel, openflow.Output{Port: 1}, openflow.Output{Port: 2}), site(StageSiteLAN, MetaFromLocal)}},
		{"site record by the mate's RLOC", plRec(mhIID, mhHost, "", "", plLoc(plRlocB, 1, 100, true)), []openflow.Flow{
			site(StageL2Forward, MetaFromTunnel, openflow.Output{Port: 1}, openflow.Output{Port: 2}), site(StageSiteLAN, MetaFromLocal)}},
		{"site record by both RLOCs", plRec(mhIID, mhHost, "", "", plLoc(plOwnRLOC, 1, 100, true), plLoc(plRlocB, 1, 100, true)),
			[]openflow.Flow{site(StageL2Forward, MetaFromTunnel, openflow.Output{Port: 1}, openflow.Output{Port: 2}),
				site(StageSiteLAN, MetaFromLocal)}},
		{"remote, two RLOCs: select group", plRec(mhIID, mhHost, "xtr-c", "", plLoc(plRlocC, 1, 100, true), plLoc(plRlocD, 1, 100, true)),
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flows, groups := Compile(mhView(tc.rec))
			got := mhFlows(t, flows, mhHost)
			if tc.want == nil {
				if len(got) != 2 || !strings.Contains(got[0]+got[1], "group:") {
					t.Fatalf("want a select group and a split-horizon drop, got %v", got)
				}
				for _, g := range groups {
					if g.Type != openflow.GroupSelect {
						continue
					}
					if len(g.Buckets) != 2 || g.Buckets[0].WatchPort != 60003 || g.Buckets[1].WatchPort != 60004 {
						t.Errorf("select group %v: buckets must watch the BFD ports of C and D", g)
					}
				}
				return
			}
			want := plStrings(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
			plCheckCookies(t, plEthDst(flows, mhHost), tc.want)
			plCheckInvariants(t, flows, groups, mhStages)
		})
	}
}

// A host held by a live mate is not punted by this xTR (no false "port"
// changes between the edges); one held by a dead mate is, so this xTR can
// take it over.
func TestMultihomeLearning(t *testing.T) {
	suppress := func(v SwitchView) bool {
		v.Learn = LearnView{Enabled: true, IdleTimeout: 300}
		flows, groups := Compile(v)
		plCheckInvariants(t, flows, groups, mhStages)
		m := openflow.Match{metaMatch(mhIID, MetaFromLocal), openflow.EthSrc([6]byte(mhHost))}.Key()
		return slices.ContainsFunc(plTable(flows, TableLearn), func(f openflow.Flow) bool {
			return f.Priority == PrioritySuppress && f.Match.Key() == m
		})
	}
	rec := plRec(mhIID, mhHost, "xtr-b", "lan-b", plLoc(plOwnRLOC, 1, 100, true), plLoc(plRlocB, 1, 100, true))
	rec.Origin = mapping.OriginLearned
	v := mhView(rec)
	if !suppress(v) {
		t.Error("a host learned at the live mate is punted")
	}
	v.Mates = []Mate{{Name: "xtr-b", RLOC: plRlocB}}
	if suppress(v) {
		t.Error("a host learned at a dead mate is not punted")
	}
	v.Mates = nil
	if suppress(v) {
		t.Error("single-homed: a learned host of another xTR is suppressed")
	}
}

func TestMultihomeResponder(t *testing.T) {
	bind := func(iid uint32, ip string, mac mapping.MAC, xtr string, ls ...mapping.Locator) mapping.Record {
		r := plRec(iid, mac, xtr, "", ls...)
		r.EID = mapping.PrefixEID(iid, netip.MustParsePrefix(ip+"/32"))
		r.MAC = mac
		return r
	}
	far := []mapping.Locator{plLoc(plRlocC, 1, 100, true)}
	v := mhView(bind(mhIID, "198.51.100.7", mhFar, "xtr-c", far...), bind(mhOther, "198.51.100.8", mhFar, "xtr-c", far...),
		bind(mhIID, "198.51.100.9", mhHost, "xtr-b"))
	flows, groups := Compile(v)
	plCheckInvariants(t, flows, groups, mhStages)
	answered := map[string]bool{}
	names := map[string]string{"198.51.100.7": "remote in DF iid", "198.51.100.8": "remote in non-DF iid",
		"198.51.100.9": "site host"}
	for _, f := range plTable(flows, TableResponder) {
		if f.Priority != PriorityAnswer {
			continue
		}
		for ip, name := range names {
			if strings.Contains(f.Match.Key(), openflow.Match{openflow.ArpTPA(netip.MustParseAddr(ip))}.Key()) {
				answered[name] = true
			}
		}
	}
	if !answered["remote in DF iid"] || answered["remote in non-DF iid"] || answered["site host"] {
		t.Errorf("answered %v; want only the remote host of the DF's iid", answered)
	}
}

// Mates, DF and BFD ports change only the flows they are about: with no
// mates, DF and BFD ports left aside, the output is the single-homed one.
func TestMultihomeSingleHomedUnchanged(t *testing.T) {
	rec := plRec(mhIID, mhHost, "", "", plLoc(plRlocC, 1, 100, true), plLoc(plRlocD, 1, 100, true))
	base := plView(rec)
	f1, g1 := Compile(base)
	v := base
	v.DF = []uint32{mhOther}
	f2, g2 := Compile(v)
	if !reflect.DeepEqual(f1, f2) || !reflect.DeepEqual(g1, g2) {
		t.Error("a DF list without mates changed the output")
	}
	v.BFDPorts = map[netip.Addr]uint32{plRlocC: 60003}
	_, g3 := Compile(v)
	if reflect.DeepEqual(g1, g3) {
		t.Error("a BFD port did not show in the select group")
	}
}

// mhRandView adds random mates, DF sets and BFD ports to randView.
func mhRandView(rng *rand.Rand) SwitchView {
	v := randView(rng)
	if rng.IntN(4) == 0 {
		return v
	}
	v.Mates = []Mate{{Name: "x2", RLOC: rloc(2), Live: rng.IntN(3) != 0}}
	if rng.IntN(2) == 0 {
		v.Mates = append(v.Mates, Mate{Name: "x3", RLOC: rloc(3), Live: true})
	}
	for iid := uint32(1); iid <= 3; iid++ {
		if rng.IntN(2) == 0 {
			v.DF = append(v.DF, iid)
		}
	}
	if rng.IntN(3) == 0 {
		v.RLOCState = map[netip.Addr]RLOCState{rloc(2 + rng.IntN(3)): RLOCState(1 + rng.IntN(2))}
	}
	v.BFDPorts = map[netip.Addr]uint32{}
	for i := 2; i <= 4; i++ {
		if rng.IntN(2) == 0 {
			v.BFDPorts[rloc(i)] = uint32(60000 + i)
		}
	}
	return v
}

func TestMultihomeDeterminismAndInvariants(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 11))
		v := mhRandView(rng)
		f1, g1 := Compile(v)
		plCheckInvariants(t, f1, g1, mhStages)
		// Locators stay in place: randView's duplicate records of one EID
		// may differ only in their order.
		w := v
		for _, s := range []func(){
			func() { w.Mates = slices.Clone(v.Mates); slices.Reverse(w.Mates) },
			func() { w.DF = slices.Clone(v.DF); slices.Reverse(w.DF) },
			func() { w.Records = slices.Clone(v.Records); slices.Reverse(w.Records) },
			func() { w.Ports = slices.Clone(v.Ports); slices.Reverse(w.Ports) },
			func() { w.Networks = slices.Clone(v.Networks); slices.Reverse(w.Networks) },
		} {
			s()
		}
		f2, g2 := Compile(w)
		if !reflect.DeepEqual(f1, f2) || !reflect.DeepEqual(g1, g2) {
			t.Fatalf("seed %d: reordering the view changed the output", seed)
		}
		if f3, g3 := Compile(v); !reflect.DeepEqual(f1, f3) || !reflect.DeepEqual(g1, g3) {
			t.Fatalf("seed %d: compiling twice differs", seed)
		}
	}
}

// The incremental path holds for multihomed views too: base + parts equals
// Compile after random record changes.
func TestMultihomeIncremental(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 13))
		v := mhRandView(rng)
		in, ok := NewIncremental(v)
		if !ok {
			continue
		}
		flows, groups := in.Result()
		sameCompile(t, "initial", v, flows, groups)
		for step := range 30 {
			r := randRecord(rng)
			if r.EID.Family() != mapping.FamilyMAC {
				continue
			}
			v.Records = append(slices.Clone(v.Records), r)
			if _, ok := in.Update(map[mapping.EID][]mapping.Record{r.EID: derefs(recordsOf(&v, r.EID))}); !ok {
				break
			}
			flows, groups = in.Result()
			sameCompile(t, fmt.Sprintf("seed %d step %d", seed, step), v, flows, groups)
		}
		w := v
		w.DF = append(slices.Clone(v.DF), 1)
		if in.Fits(w) != sameMultihome(v, w) {
			t.Fatalf("seed %d: Fits ignores a DF change", seed)
		}
	}
}

func derefs(rs []*mapping.Record) []mapping.Record {
	out := make([]mapping.Record, len(rs))
	for i, r := range rs {
		out[i] = *r
	}
	return out
}

// A down RLOC carries nothing; a drained one only when nothing better is
// left.
func TestRLOCState(t *testing.T) {
	two := plRec(mhIID, mhFar, "", "", plLoc(plRlocC, 1, 100, true), plLoc(plRlocD, 1, 100, true))
	for _, tc := range []struct {
		name  string
		state map[netip.Addr]RLOCState
		want  string // the tun_dst of a direct encap, "group" or "" for no flow
	}{
		{"both up", nil, "group"},
		{"C down", map[netip.Addr]RLOCState{plRlocC: RLOCDown}, "c0000204"},
		{"C drained", map[netip.Addr]RLOCState{plRlocC: RLOCDrained}, "c0000204"},
		{"both drained", map[netip.Addr]RLOCState{plRlocC: RLOCDrained, plRlocD: RLOCDrained}, "group"},
		{"C drained, D down", map[netip.Addr]RLOCState{plRlocC: RLOCDrained, plRlocD: RLOCDown}, "c0000203"},
		{"both down", map[netip.Addr]RLOCState{plRlocC: RLOCDown, plRlocD: RLOCDown}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := plView(two)
			v.RLOCState = tc.state
			flows, _ := Compile(v)
			got := strings.Join(mhFlows(t, flows, mhFar), " ")
			switch {
			case tc.want == "" && got != "":
				t.Fatalf("want no flow, got %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Fatalf("want %s, got %s", tc.want, got)
			}
		})
	}
}

// A network on instance-id BFDKey still receives from peers: OVS hands
// its frames to the BFD ports, which are classified like the tunnel.
func TestClassifyBFDKey(t *testing.T) {
	v := mhView()
	count := func(v SwitchView) int {
		flows, groups := Compile(v)
		plCheckInvariants(t, flows, groups, mhStages)
		n := 0
		for _, f := range plTable(flows, TableClassifier) {
			if strings.Contains(f.Match.Key(), openflow.Match{openflow.TunnelID(BFDKey)}.Key()) {
				n++
			}
		}
		return n
	}
	if n := count(v); n != 0 {
		t.Fatalf("instance-id %d not served, %d flows classify it", BFDKey, n)
	}
	v.Networks = append(v.Networks, BFDKey)
	if n := count(v); n != 1+len(v.BFDPorts) {
		t.Fatalf("%d flows classify instance-id %d; want the tunnel's and one per BFD port (%d)", n, BFDKey, len(v.BFDPorts))
	}
}

func TestAnnouncements(t *testing.T) {
	far := plRec(mhIID, mhFar, "xtr-c", "", plLoc(plRlocC, 1, 100, true))
	site := plRec(mhIID, mhHost, "xtr-b", "lan-b")
	other := plRec(mhOther, mhFar, "xtr-c", "", plLoc(plRlocC, 1, 100, true))
	v := mhView(site, far, other)
	got := Announcements(v, []uint32{mhIID})
	want := []Announcement{{Port: 1, MAC: mhFar}, {Port: 2, MAC: mhFar}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("announcements %+v, want %+v (remote hosts of iid 10 on its ports)", got, want)
	}
	if got := Announcements(v, nil); len(got) != 0 {
		t.Errorf("no iid asked, got %+v", got)
	}
	f := AnnounceFrame(mhFar)
	if len(f) != 60 || !slices.Equal(f[0:6], mhFar[:]) || !slices.Equal(f[6:12], mhFar[:]) ||
		f[12] != 0x80 || f[13] != 0x35 || f[21] != 3 || !slices.Equal(f[22:28], mhFar[:]) || !slices.Equal(f[32:38], mhFar[:]) {
		t.Errorf("frame % x", f)
	}
}
