package ovsdb

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
)

func TestParseEndpoint(t *testing.T) {
	good := map[string]Endpoint{
		"unix:/run/openvswitch/db.sock": {"unix", "/run/openvswitch/db.sock"},
		"tcp:192.0.2.1:6640":            {"tcp", "192.0.2.1:6640"},
		"ssl:[2001:db8::1]:6640":        {"ssl", "[2001:db8::1]:6640"},
		"tcp:xtr1.example:6640":         {"tcp", "xtr1.example:6640"},
	}
	for in, want := range good {
		got, err := ParseEndpoint(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                   "want unix:PATH",
		"/run/db.sock":       "want unix:PATH",
		"unix:":              "empty socket path",
		"tcp:192.0.2.1":      "want HOST:PORT",
		"tcp::6640":          "empty host",
		"tcp:192.0.2.1:0":    "1..65535",
		"ssl:host:https":     "1..65535",
		"ptcp:6640":          "passive",
		"http://x:80":        "unknown method",
		"tcp:2001:db8::1:66": "want HOST:PORT",
	}
	for in, frag := range bad {
		_, err := ParseEndpoint(in)
		if !errors.Is(err, ErrBadEndpoint) || !strings.Contains(err.Error(), frag) {
			t.Errorf("ParseEndpoint(%q) error = %v, want ErrBadEndpoint mentioning %q", in, err, frag)
		}
	}
}

func validDesired() Desired {
	return Desired{
		Bridge: "br-int", DatapathType: "netdev", DatapathID: 1,
		Controllers: []string{"tcp:203.0.113.254:6653"},
		Tunnels: []Tunnel{{Name: "lisp0", OFPort: 10, DstPort: LISPDataPort, GPE: true},
			{Name: "vxlan0", OFPort: 11, DstPort: VXLANDataPort}},
		LocalRLOC:   netip.MustParseAddr("192.0.2.1"),
		AccessPorts: []AccessPort{{Name: "veth1", OFPort: 20}},
	}
}

func TestDesiredValidate(t *testing.T) {
	if err := validDesired().Validate(); err != nil {
		t.Fatalf("valid desired: %v", err)
	}
	cases := map[string]func(*Desired){
		"bridge name is empty":       func(d *Desired) { d.Bridge = "" },
		"longer than 15":             func(d *Desired) { d.Bridge = "a-very-long-bridge" },
		"datapath type":              func(d *Desired) { d.DatapathType = "dpdk" },
		"datapath id":                func(d *Desired) { d.DatapathID = 0 },
		"want a tcp, ssl or unix":    func(d *Desired) { d.Controllers = []string{"203.0.113.1:6653"} },
		"listed twice":               func(d *Desired) { d.Controllers = append(d.Controllers, d.Controllers[0]) },
		"local RLOC":                 func(d *Desired) { d.LocalRLOC = netip.Addr{} },
		"already used":               func(d *Desired) { d.AccessPorts[0].Name = "lisp0" },
		"already requested":          func(d *Desired) { d.AccessPorts[0].OFPort = 10 },
		"out of range 0..":           func(d *Desired) { d.Tunnels[0].OFPort = 70000 },
		"out of range 1..65535":      func(d *Desired) { d.Tunnels[1].DstPort = 0 },
		"already used by":            func(d *Desired) { d.Tunnels[1].DstPort = LISPDataPort },
		"tunnel port name is empty":  func(d *Desired) { d.Tunnels[1].Name = "" },
		"contains '/', ':' or white": func(d *Desired) { d.AccessPorts[0].Name = "a b" },
	}
	for frag, mutate := range cases {
		d := validDesired()
		mutate(&d)
		err := d.Validate()
		if !errors.Is(err, ErrInvalidDesired) || !strings.Contains(err.Error(), frag) {
			t.Errorf("%s: err = %v", frag, err)
		}
	}
}

// appliedSnapshot is what the database holds right after Apply(d).
func appliedSnapshot(d Desired) *snapshot {
	s := newSnapshot()
	s.root = &vswitchd.OpenvSwitch{UUID: uuid(0), Bridges: []string{uuid(1)}}
	ours := map[string]string{OwnerKey: DefaultOwner}
	br := &vswitchd.Bridge{
		UUID: uuid(1), Name: d.Bridge, DatapathType: d.DatapathType,
		FailMode: ptr(failMode), Protocols: []string{protocol},
		OtherConfig: map[string]string{dpidKey: datapathIDString(d.DatapathID), "x": "y"},
		ExternalIDs: ours,
	}
	s.bridges[br.UUID] = br
	n := 10
	for _, spec := range portSpecs(d) {
		n += 2
		var req *int
		if spec.ofport != 0 {
			req = ptr(spec.ofport)
		}
		s.ifaces[uuid(n)] = &vswitchd.Interface{UUID: uuid(n), Name: spec.name, Type: spec.ifType,
			Options: spec.options, OfportRequest: req, ExternalIDs: ours}
		s.ports[uuid(n+1)] = &vswitchd.Port{UUID: uuid(n + 1), Name: spec.name,
			Interfaces: []string{uuid(n)}, ExternalIDs: ours}
		br.Ports = append(br.Ports, uuid(n+1))
	}
	for i, target := range d.Controllers {
		u := uuid(100 + i)
		s.controllers[u] = &vswitchd.Controller{UUID: u, Target: target, ExternalIDs: ours}
		br.Controller = append(br.Controller, u)
	}
	return s
}

func uuid(n int) string { return "00000000-0000-4000-8000-" + strings.Repeat("0", 8) + padHex(n) }

func padHex(n int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[n>>12&15], digits[n>>8&15], digits[n>>4&15], digits[n&15]})
}

func ptr[T any](v T) *T { return &v }

func TestPlanCreateAndIdempotent(t *testing.T) {
	d := validDesired()
	empty := newSnapshot()
	empty.root = &vswitchd.OpenvSwitch{UUID: uuid(0)}
	ops, changes, err := planApply(empty, d, DefaultOwner)
	if err != nil {
		t.Fatal(err)
	}
	// 3 interfaces, 3 ports, 1 controller, the bridge, the root mutation.
	if len(ops) != 9 || len(changes) != 8 {
		t.Errorf("create: %d ops, changes %v", len(ops), changes)
	}
	last := ops[len(ops)-1]
	if last.Op != ovsdb.OperationMutate || last.Table != vswitchd.OpenvSwitchTable {
		t.Errorf("last op = %s %s, want the Open_vSwitch bridges mutation", last.Op, last.Table)
	}
	ops, changes, err = planApply(appliedSnapshot(d), d, DefaultOwner)
	if err != nil || len(ops) != 0 || len(changes) != 0 {
		t.Errorf("re-plan of applied state: %v ops, %v, %v", len(ops), changes, err)
	}
	if _, _, err := planApply(newSnapshot(), d, DefaultOwner); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("no root row: err = %v", err)
	}
}

func TestPlanRepairsDrift(t *testing.T) {
	d := validDesired()
	s := appliedSnapshot(d)
	br := s.bridgeByName(d.Bridge)
	br.FailMode = ptr("standalone")
	br.OtherConfig = map[string]string{"x": "y"}
	s.ifaceByName("lisp0").Options = map[string]string{"remote_ip": "192.0.2.9"}
	// A foreign port on our bridge, and a stale port of ours.
	s.ports[uuid(900)] = &vswitchd.Port{UUID: uuid(900), Name: "hand"}
	s.ports[uuid(901)] = &vswitchd.Port{UUID: uuid(901), Name: "old",
		ExternalIDs: map[string]string{OwnerKey: DefaultOwner}}
	br.Ports = append(br.Ports, uuid(900), uuid(901))

	ops, changes, err := planApply(s, d, DefaultOwner)
	if err != nil {
		t.Fatal(err)
	}
	got := changes.String()
	for _, want := range []string{
		"update Bridge br-int (fail_mode)",
		"update Interface lisp0 (options)",
		"delete Port old",
		"update Bridge br-int (other_config:datapath-id,ports-)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("changes %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "hand") {
		t.Errorf("foreign port touched: %q", got)
	}
	if len(ops) != 3 {
		t.Errorf("got %d ops, want 3 (bridge update, interface update, bridge mutate)", len(ops))
	}
}

func TestPlanOwnership(t *testing.T) {
	d := validDesired()
	s := appliedSnapshot(d)
	s.bridgeByName(d.Bridge).ExternalIDs = nil
	if _, _, err := planApply(s, d, DefaultOwner); !errors.Is(err, ErrNotOwned) {
		t.Errorf("foreign bridge: err = %v", err)
	}
	if _, _, err := planRemove(s, d, DefaultOwner); !errors.Is(err, ErrNotOwned) {
		t.Errorf("remove foreign bridge: err = %v", err)
	}
	if _, _, err := planApply(appliedSnapshot(d), d, "other-controller"); !errors.Is(err, ErrNotOwned) {
		t.Errorf("bridge of another owner: err = %v", err)
	}
	// A desired port name used on another bridge.
	s = appliedSnapshot(d)
	d2 := d
	d2.Bridge = "br-two"
	if _, _, err := planApply(s, d2, DefaultOwner); !errors.Is(err, ErrNotOwned) ||
		!strings.Contains(err.Error(), "bridge br-int") {
		t.Errorf("port on another bridge: err = %v", err)
	}
	ops, _, err := planRemove(appliedSnapshot(d), d, DefaultOwner)
	if err != nil || len(ops) != 1 {
		t.Errorf("remove: %d ops, %v", len(ops), err)
	}
	ops, _, err = planRemove(appliedSnapshot(d), d2, DefaultOwner)
	if err != nil || len(ops) != 0 {
		t.Errorf("remove of an absent bridge: %d ops, %v", len(ops), err)
	}
}

func TestPlanAdoptsPortReaddedByHand(t *testing.T) {
	d := validDesired()
	s := appliedSnapshot(d)
	p := s.portByName("veth1")
	p.ExternalIDs = nil
	s.ifaceByName("veth1").ExternalIDs = map[string]string{"iface-id": "x"}
	_, changes, err := planApply(s, d, DefaultOwner)
	if err != nil {
		t.Fatal(err)
	}
	want := "update Port veth1 (external_ids:l2lisp-owner); update Interface veth1 (external_ids:l2lisp-owner)"
	if changes.String() != want {
		t.Errorf("changes = %q, want %q", changes, want)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	var prevCap time.Duration
	for i := 0; i < 10; i++ {
		d := b.next()
		if d < b.cur/2 || d > b.cur || b.cur > b.max || b.cur < prevCap {
			t.Fatalf("step %d: delay %v with cap %v", i, d, b.cur)
		}
		prevCap = b.cur
	}
	if b.cur != time.Second {
		t.Errorf("cap = %v, want 1s", b.cur)
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
}
