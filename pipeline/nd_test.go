package pipeline

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// ndBinding is an IP EID of iid bound to mac, as learning or registration
// stores it.
func ndBinding(iid uint32, ip string, mac mapping.MAC, xtr, port string) mapping.Record {
	a := netip.MustParseAddr(ip)
	return mapping.Record{EID: mapping.PrefixEID(iid, netip.PrefixFrom(a, a.BitLen())), MAC: mac,
		XTR: xtr, Port: port, Origin: mapping.OriginLearned}
}

// ndTables returns the flows of tables 20 and 21 as text.
func ndTables(flows []openflow.Flow) []string {
	var out []string
	for _, f := range flows {
		if f.Table == TableResponder || f.Table == TableNDAdvert {
			out = append(out, f.String())
		}
	}
	return out
}

// The exact table-20/21 flows of one IPv6 binding: the NS for its address
// is retyped in 20 and finished into the NA in 21; DAD and NS without SLL
// go on to forwarding.
func TestNDResponderFlows(t *testing.T) {
	mac := mapping.MAC{0x02, 0, 0, 0, 0, 0x0b}
	v := plView(ndBinding(10, "2001:db8:100::21", mac, "xtr-b", ""))
	v.Learn = LearnView{Enabled: true, Meter: true}
	flows, groups := Compile(v)
	want := []string{
		"table=20,priority=110,eth_type=86dd,icmpv6_type=87,ip_proto=3a,ipv6_src=00000000000000000000000000000000," +
			"metadata=0000000001000000/0000000001000000 actions=,goto_table:30",
		"table=20,priority=110,eth_type=86dd,icmpv6_type=87,ip_proto=3a,metadata=0000000001000000/0000000001000000," +
			"nd_sll=000000000000 actions=,goto_table:30",
		"table=20,priority=100,eth_type=86dd,icmpv6_type=87,ip_proto=3a,metadata=000000000100000a/0000000001ffffff," +
			"nd_target=20010db8010000000000000000000021 actions=set_field:icmpv6_type=88,goto_table:21",
		"table=20,priority=0, actions=,goto_table:30",
		"table=21,priority=100,eth_type=86dd,icmpv6_type=88,ip_proto=3a,metadata=000000000100000a/0000000001ffffff," +
			"nd_target=20010db8010000000000000000000021 actions=" +
			"move:0x8000.4[0+48]->0x8000.3[0],set_field:eth_src=02000000000b," +
			"move:0x8000.26[0+128]->0x8000.27[0],set_field:ipv6_src=20010db8010000000000000000000021," +
			"set_field:nd_reserved=60000000,set_field:nd_options_type=02,set_field:nd_tll=02000000000b," +
			"output:4294967288",
		"table=21,priority=0, actions=",
	}
	if got := ndTables(flows); !slices.Equal(got, want) {
		t.Errorf("tables 20/21:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	plCheckInvariants(t, flows, groups, ndStages)
}

var ndStages = map[uint8][]uint8{
	TableClassifier: {StageClassifier}, TableLearn: {StageLearn}, TableResponder: {StageResponder},
	TableNDAdvert: {StageResponder}, TableL2Forward: {StageL2Forward, StageSplitHorizon, StageFlood},
	TablePunt: {StagePunt},
}

// The NA actions in the order the e2e test verified on OVS: the option is
// retyped before the TLL is written (nd_tll has an NA prerequisite, hence
// table 21); the flags are Solicited|Override, never Router.
func TestNDAdvertActions(t *testing.T) {
	mac := mapping.MAC{0x02, 0, 0, 0, 0, 0x0b}
	ip := netip.MustParseAddr("2001:db8::b")
	acts := ndAdvertActions(mac, ip)
	idx := func(o openflow.OXM) int {
		return slices.IndexFunc(acts, func(a openflow.Action) bool {
			s, ok := a.(openflow.SetField)
			return ok && s.Field.Class == o.Class && s.Field.Field == o.Field
		})
	}
	typ, tll, res := idx(openflow.NDOptionsType(0)), idx(openflow.NDTLL([6]byte{})), idx(openflow.NDReserved(0))
	if typ < 0 || tll < 0 || res < 0 || typ > tll {
		t.Fatalf("actions %v: nd_options_type at %d, nd_tll at %d, nd_reserved at %d", acts, typ, tll, res)
	}
	if got := acts[res].(openflow.SetField).Field.Value; string(got) != "\x60\x00\x00\x00" {
		t.Errorf("nd_reserved %x, want 60000000 (S|O)", got)
	}
	if got := acts[typ].(openflow.SetField).Field.Value; len(got) != 1 || got[0] != 2 {
		t.Errorf("nd_options_type %x, want 02 (TLL)", got)
	}
	if last, ok := acts[len(acts)-1].(openflow.Output); !ok || last.Port != openflow.PortInPort {
		t.Errorf("last action %v, want output IN_PORT", acts[len(acts)-1])
	}
}

// Which bindings get an ND responder: IPv6 host EIDs bound to a unicast
// MAC in a served iid with local ports, wherever the host is; one flow
// pair per EID; IPv4 bindings keep the ARP responder and no table 21.
func TestNDResponderSelection(t *testing.T) {
	mac := mapping.MAC{0x02, 0, 0, 0, 0, 0x0b}
	mcast := mapping.MAC{0x33, 0x33, 0, 0, 0, 1}
	older := ndBinding(10, "2001:db8::1", mapping.MAC{0x02, 0, 0, 0, 0, 0x0c}, "xtr-a", "p1")
	newer := ndBinding(10, "2001:db8::1", mac, "xtr-a", "p1")
	newer.Version = 5
	net64 := ndBinding(10, "2001:db8::", mac, "", "")
	net64.EID = mapping.PrefixEID(10, netip.MustParsePrefix("2001:db8::/64"))
	tests := []struct {
		name    string
		recs    []mapping.Record
		targets []string // nd_target of the answered NS, in order
	}{
		{"local binding", []mapping.Record{ndBinding(10, "2001:db8::1", mac, "xtr-a", "p1")}, []string{"2001:db8::1"}},
		{"remote binding", []mapping.Record{ndBinding(20, "2001:db8::2", mac, "xtr-b", "")}, []string{"2001:db8::2"}},
		{"iid without local ports", []mapping.Record{ndBinding(30, "2001:db8::3", mac, "xtr-b", "")}, nil},
		{"unserved iid", []mapping.Record{ndBinding(40, "2001:db8::4", mac, "xtr-a", "p4")}, nil},
		{"multicast MAC", []mapping.Record{ndBinding(10, "2001:db8::5", mcast, "xtr-b", "")}, nil},
		{"no MAC", []mapping.Record{ndBinding(10, "2001:db8::6", mapping.MAC{}, "xtr-b", "")}, nil},
		{"prefix, not a host", []mapping.Record{net64}, nil},
		{"IPv4 only", []mapping.Record{ndBinding(10, "198.51.100.7", mac, "xtr-b", "")}, nil},
		{"highest version wins", []mapping.Record{older, newer}, []string{"2001:db8::1"}},
		{"several, sorted", []mapping.Record{ndBinding(10, "2001:db8::9", mac, "xtr-b", ""),
			ndBinding(10, "2001:db8::8", mac, "xtr-b", ""), ndBinding(10, "198.51.100.8", mac, "xtr-b", "")},
			[]string{"2001:db8::8", "2001:db8::9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flows, groups := Compile(plView(tc.recs...))
			plCheckInvariants(t, flows, groups, ndStages)
			var ns, na []string
			var noAnswer int
			for _, f := range flows {
				target := ""
				for _, o := range f.Match {
					if o.Class == openflow.ClassOpenFlowBasic && o.Field == 31 {
						target = netip.AddrFrom16([16]byte(o.Value)).String()
					}
				}
				switch {
				case f.Table == TableResponder && target != "":
					ns = append(ns, target)
					if f.Goto != TableNDAdvert || len(f.Actions) != 1 {
						t.Errorf("NS flow %v", f)
					}
				case f.Table == TableNDAdvert && target != "":
					na = append(na, target)
					if want := ndAdvertActions(mac, netip.MustParseAddr(target)); !slices.EqualFunc(f.Actions, want,
						func(a, b openflow.Action) bool { return a.String() == b.String() }) {
						t.Errorf("NA flow %v, want actions %v", f, want)
					}
				case f.Table == TableResponder && f.Priority == PriorityNoAnswer && strings.Contains(f.Match.Key(), "icmpv6_type"):
					noAnswer++
				}
			}
			if !slices.Equal(ns, tc.targets) || !slices.Equal(na, tc.targets) {
				t.Errorf("answered NS %v, NA %v, want %v", ns, na, tc.targets)
			}
			hasTable21 := slices.ContainsFunc(flows, func(f openflow.Flow) bool { return f.Table == TableNDAdvert })
			if want := len(tc.targets) > 0; hasTable21 != want || (noAnswer == 2) != want {
				t.Errorf("table 21 present %v, %d no-answer ND flows; want responder %v", hasTable21, noAnswer, want)
			}
		})
	}
}
