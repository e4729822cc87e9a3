package ovsdb

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestTunnelOptions(t *testing.T) {
	local := netip.MustParseAddr("::ffff:192.0.2.1") // unmapped on the way
	gpe := tunnelOptions(local, Tunnel{Name: "lisp0", DstPort: LISPDataPort, GPE: true})
	want := map[string]string{"dst_port": "4341", "remote_ip": "flow", "key": "flow", "local_ip": "192.0.2.1",
		"exts": "gpe", "packet_type": "legacy_l2"}
	if !reflect.DeepEqual(gpe, want) {
		t.Errorf("LISP-GPE options = %v, want %v", gpe, want)
	}
	plain := tunnelOptions(local, Tunnel{Name: "vxlan0", DstPort: VXLANDataPort})
	want = map[string]string{"dst_port": "4789", "remote_ip": "flow", "key": "flow", "local_ip": "192.0.2.1"}
	if !reflect.DeepEqual(plain, want) {
		t.Errorf("VXLAN options = %v, want %v", plain, want)
	}
}

// TestPlanTunnelSet: the tunnel ports follow the encapsulations in use.
// One no longer wanted is removed, a new one inserted, and the pre-GPE
// LISP port (plain VXLAN on 4341) is turned into LISP-GPE in place.
func TestPlanTunnelSet(t *testing.T) {
	both := validDesired()
	gpeOnly := validDesired()
	gpeOnly.Tunnels = gpeOnly.Tunnels[:1]
	old := validDesired()
	old.Tunnels = []Tunnel{{Name: "lisp0", OFPort: 10, DstPort: LISPDataPort}}
	none := validDesired()
	none.Tunnels = nil
	for _, tc := range []struct {
		name     string
		from, to Desired
		want     []string
	}{
		{"drop vxlan0", both, gpeOnly, []string{"delete Port vxlan0", "update Bridge br-int (ports-)"}},
		{"add vxlan0", gpeOnly, both, []string{"insert Interface vxlan0", "insert Port vxlan0", "update Bridge br-int (ports+)"}},
		{"upgrade lisp0 to GPE", old, gpeOnly, []string{"update Interface lisp0 (options)"}},
		{"no networks, no tunnels", both, none, []string{"delete Port lisp0", "delete Port vxlan0", "update Bridge br-int (ports-)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.to.Validate(); err != nil {
				t.Fatal(err)
			}
			_, changes, err := planApply(appliedSnapshot(tc.from), tc.to, DefaultOwner)
			if err != nil {
				t.Fatal(err)
			}
			got := changes.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("changes %q lack %q", got, w)
				}
			}
			if len(changes) != len(tc.want) {
				t.Errorf("changes %q, want only %q", got, tc.want)
			}
		})
	}
}
