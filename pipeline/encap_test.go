package pipeline

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

const plVXLAN = 101

func TestParseEncap(t *testing.T) {
	for _, name := range EncapNames() {
		e, err := ParseEncap(name)
		if err != nil || e.String() != name {
			t.Errorf("ParseEncap(%q) = %v, %v", name, e, err)
		}
	}
	if e, err := ParseEncap(""); err != nil || e != EncapLISPGPE {
		t.Errorf(`ParseEncap("") = %v, %v; want the default lisp-gpe`, e, err)
	}
	for _, bad := range []string{"lisp", "VXLAN", "gpe", " vxlan"} {
		e, err := ParseEncap(bad)
		if err == nil {
			t.Errorf("ParseEncap(%q) accepted", bad)
		}
		if v := encapView(); v.tunnelPort(e) != 0 {
			t.Errorf("ParseEncap(%q) gave %v, which has a tunnel port", bad, e)
		}
	}
	if s := Encap(9).String(); s != "encap(9)" {
		t.Errorf("unknown encap prints %q", s)
	}
}

// encapView is plView with iid 20 and iid 30 on VXLAN, iid 10 on the
// default LISP-GPE.
func encapView(recs ...mapping.Record) SwitchView {
	v := plView(recs...)
	v.VXLANPort = plVXLAN
	v.Encaps = map[uint32]Encap{10: EncapLISPGPE, 20: EncapVXLAN, 30: EncapVXLAN}
	return v
}

func TestEncapClassifier(t *testing.T) {
	v := encapView()
	v.Ports = append(v.Ports, PortView{Name: "bogus", OFPort: plVXLAN, IID: 10})
	flows, _ := Compile(v)
	table0 := plTable(flows, TableClassifier)
	has := func(port uint32, iid uint64) bool {
		k := openflow.Match{openflow.InPort(port), openflow.TunnelID(iid)}.Key()
		return slices.ContainsFunc(table0, func(f openflow.Flow) bool { return f.Match.Key() == k })
	}
	for _, tc := range []struct {
		port uint32
		iid  uint64
		want bool
	}{
		{plTunnel, 10, true}, {plVXLAN, 10, false}, // LISP-GPE network: only from lisp0
		{plVXLAN, 20, true}, {plTunnel, 20, false}, // VXLAN networks: only from vxlan0
		{plVXLAN, 30, true}, {plTunnel, 30, false},
		{plVXLAN, 40, false}, {plTunnel, 40, false}, // unserved
	} {
		if got := has(tc.port, tc.iid); got != tc.want {
			t.Errorf("in_port=%d,tun_id=%d: flow present %v, want %v", tc.port, tc.iid, got, tc.want)
		}
	}
	if slices.ContainsFunc(table0, func(f openflow.Flow) bool {
		return f.Match.Key() == openflow.Match{openflow.InPort(plVXLAN)}.Key()
	}) {
		t.Error("the VXLAN tunnel port was classified as an access port")
	}
	// 3 access ports + one tunnel flow per served iid + table-miss.
	if len(table0) != 7 {
		t.Errorf("table 0 has %d flows, want 7: %v", len(table0), plStrings(table0))
	}
}

func TestEncapForwarding(t *testing.T) {
	vx := func(iid uint32, a netip.Addr) []openflow.Action { return tunnelEncap(iid, a, plVXLAN) }
	m2 := mapping.MAC{0x02, 0, 0, 0, 0, 0x0b}
	recs := []mapping.Record{
		plRec(10, plMAC, "", "", plLoc(plRlocB, 1, 100, true)),
		plRec(20, plMAC, "", "", plLoc(plRlocB, 1, 100, true)),
		plRec(20, m2, "", "", plLoc(plRlocB, 1, 60, true), plLoc(plRlocC, 1, 40, true)),
	}
	flows, groups := Compile(encapView(recs...))
	got := plStrings(plEthDst(flows, plMAC))
	want := plStrings(append(plRemote(10, plMAC, plEncap(10, plRlocB)...), plRemote(20, plMAC, vx(20, plRlocB)...)...))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("unicast:\n got  %s\n want %s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	// The select group of a VXLAN network encapsulates through vxlan0.
	sel := plEthDst(flows, m2)[0].Actions[0].(openflow.Group).ID
	g, ok := plGroup(groups, sel)
	if !ok || len(g.Buckets) != 2 || !reflect.DeepEqual(g.Buckets[0].Actions, vx(20, plRlocB)) ||
		!reflect.DeepEqual(g.Buckets[1].Actions, vx(20, plRlocC)) {
		t.Errorf("select group of iid 20: %v", g)
	}
	// Head-end replication follows each network's encapsulation.
	g10, _ := plGroup(groups, FloodGroupID(10, GroupKindFlood))
	g20, _ := plGroup(groups, FloodGroupID(20, GroupKindFlood))
	if !reflect.DeepEqual(g10.Buckets[2].Actions, plEncap(10, plRlocB)) ||
		!reflect.DeepEqual(g20.Buckets[1].Actions, vx(20, plRlocB)) {
		t.Errorf("flood groups: iid 10 %v, iid 20 %v", g10, g20)
	}
}

// Without the VXLAN port (not provisioned yet) a VXLAN network has no
// tunnel flows at all, never the LISP-GPE port instead; LISP-GPE networks
// are unaffected. An encapsulation this build does not know is the same.
func TestEncapWithoutItsPort(t *testing.T) {
	rec := []mapping.Record{
		plRec(10, plMAC, "", "", plLoc(plRlocB, 1, 100, true)),
		plRec(20, plMAC, "", "", plLoc(plRlocB, 1, 100, true)),
	}
	noPort := encapView(rec...)
	noPort.VXLANPort = 0
	unknown := encapView(rec...)
	unknown.Encaps[20] = Encap(7)
	for name, v := range map[string]SwitchView{"no vxlan port": noPort, "unknown encap": unknown} {
		t.Run(name, func(t *testing.T) {
			flows, groups := Compile(v)
			for _, f := range flows {
				if strings.Contains(f.String(), "tun_id=0000000000000014") {
					t.Errorf("flow for iid 20 uses a tunnel: %v", f)
				}
			}
			if g, _ := plGroup(groups, FloodGroupID(20, GroupKindFlood)); len(g.Buckets) != 1 {
				t.Errorf("iid 20 flood group %v: want its local port only", g)
			}
			if len(plEthDst(flows, plMAC)) != 2 { // iid 10: encap + split horizon
				t.Errorf("iid 10 lost its flows: %v", plStrings(plEthDst(flows, plMAC)))
			}
		})
	}
}

// iidOf says which instance-id a flow or group belongs to, from its
// metadata or tun_id match or its flood group id; ok false for the shared
// table-miss and pass-through flows.
func iidOf(f openflow.Flow) (uint32, bool) {
	for _, o := range f.Match {
		s := o.String()
		for _, p := range []string{"metadata=", "tun_id="} {
			if v, ok := strings.CutPrefix(s, p); ok {
				var n uint64
				if _, err := fmt.Sscanf(v, "%x", &n); err == nil {
					return uint32(n & MetaIIDMask), true
				}
			}
		}
	}
	return 0, false
}

// TestEncapChangeTouchesOnlyItsNetwork compiles a large view, switches one
// network to VXLAN and back, and checks that every flow and group that
// differs belongs to that network: the switch sync, which sends only
// differences, then never rewrites another network's flows.
func TestEncapChangeTouchesOnlyItsNetwork(t *testing.T) {
	before := plRandomView(11, 3000)
	for _, iid := range []uint32{3, 4} {
		after := before
		after.Encaps = map[uint32]Encap{}
		for k, e := range before.Encaps {
			after.Encaps[k] = e
		}
		after.Encaps[iid] = 1 - before.Encaps[iid]
		f1, g1 := Compile(before)
		f2, g2 := Compile(after)
		old := map[string]openflow.Flow{}
		for _, f := range f1 {
			old[f.Key()] = f
		}
		changed := 0
		for _, f := range f2 {
			if o, ok := old[f.Key()]; ok && reflect.DeepEqual(o, f) {
				delete(old, f.Key())
				continue
			}
			delete(old, f.Key())
			changed++
			if n, ok := iidOf(f); !ok || n != iid {
				t.Errorf("iid %d switched: flow %v changed", iid, f)
			}
		}
		for _, f := range old { // removed
			if n, ok := iidOf(f); !ok || n != iid {
				t.Errorf("iid %d switched: flow %v removed", iid, f)
			}
		}
		if changed == 0 {
			t.Errorf("iid %d switched but no flow changed", iid)
		}
		oldG := map[uint32]openflow.GroupEntry{}
		for _, g := range g1 {
			oldG[g.ID] = g
		}
		for _, g := range g2 {
			if reflect.DeepEqual(oldG[g.ID], g) {
				continue
			}
			for _, b := range g.Buckets {
				for _, a := range b.Actions {
					if s, ok := a.(openflow.SetField); ok && strings.HasPrefix(s.Field.String(), "tun_id=") &&
						s.Field.String() != openflow.TunnelID(uint64(iid)).String() {
						t.Errorf("iid %d switched: group %v of another network changed", iid, g)
					}
				}
			}
		}
	}
}

// A change of encapsulation or of the VXLAN port is a change of the base:
// kept incremental state no longer fits and the full path runs.
func TestEncapChangeIsABaseChange(t *testing.T) {
	v := encapView(plRec(20, plMAC, "", "", plLoc(plRlocB, 1, 100, true)))
	in, ok := NewIncremental(v)
	if !ok || !in.Fits(v) {
		t.Fatal("fresh state does not fit its own view")
	}
	switched := v
	switched.Encaps = map[uint32]Encap{10: EncapLISPGPE, 20: EncapLISPGPE, 30: EncapVXLAN}
	noPort := v
	noPort.VXLANPort = 0
	for name, w := range map[string]SwitchView{"encapsulation": switched, "vxlan port": noPort} {
		if in.Fits(w) {
			t.Errorf("state still fits after a change of %s", name)
		}
	}
}
