package ovsdb

import (
	"errors"
	"strings"
	"testing"
)

func TestClientApplyRemove(t *testing.T) {
	o := startOVS(t, "apply", "l2dbbr", "l2dbfor", "l2dbhand")
	veth(t, "l2dbA0", "l2dbA0p")
	veth(t, "l2dbA1", "l2dbA1p")
	veth(t, "l2dbF0", "l2dbF0p")
	// A bridge and port someone else made by hand.
	vsctl(t, o, "add-br", "l2dbfor", "--", "set", "bridge", "l2dbfor", "datapath_type=netdev",
		"--", "add-port", "l2dbfor", "l2dbF0")

	ctx := testCtx(t)
	c, err := Dial(ctx, o.DBSock(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Connected() {
		t.Fatal("Connected() = false after Dial")
	}

	d := labDesired("l2dbbr", "l2dblisp",
		AccessPort{Name: "l2dbA0", OFPort: 20}, AccessPort{Name: "l2dbA1", OFPort: 21})
	changes, err := c.Apply(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first apply: %v", changes)
	if len(changes) == 0 {
		t.Fatal("first Apply reported no changes")
	}
	checkBridge(t, o, "l2dbbr")
	checkTunnel(t, o, "l2dblisp", `{dst_port="4341", exts=gpe, key=flow, local_ip="192.0.2.1", packet_type=legacy_l2, remote_ip=flow}`, "10")
	for port, want := range map[string]string{"l2dbA0": "20", "l2dbA1": "21"} {
		if got := vsctl(t, o, "get", "Interface", port, "ofport_request"); got != want {
			t.Errorf("%s ofport_request = %s, want %s", port, got, want)
		}
		if got := vsctl(t, o, "port-to-br", port); got != "l2dbbr" {
			t.Errorf("%s on bridge %q", port, got)
		}
	}
	eventually(t, "vswitchd assigns the tunnel ofport", func() (bool, string) {
		got, _ := o.Vsctl("get", "Interface", "l2dblisp", "ofport")
		return got == "10", got
	})

	if changes, err := c.Apply(ctx, d); err != nil || len(changes) != 0 {
		t.Fatalf("second Apply = %v, %v; want no changes", changes, err)
	}

	// A second encapsulation in use: a plain VXLAN port beside LISP-GPE,
	// which ovs-vswitchd takes (both get their ofport, neither an error).
	d.Tunnels = append(d.Tunnels, Tunnel{Name: "l2dbvx", OFPort: 11, DstPort: VXLANDataPort})
	if _, err := c.Apply(ctx, d); err != nil {
		t.Fatal(err)
	}
	checkTunnel(t, o, "l2dbvx", `{dst_port="4789", key=flow, local_ip="192.0.2.1", remote_ip=flow}`, "11")
	for port, want := range map[string]string{"l2dblisp": "10", "l2dbvx": "11"} {
		eventually(t, "vswitchd takes "+port, func() (bool, string) {
			got, _ := o.Vsctl("get", "Interface", port, "ofport")
			e, _ := o.Vsctl("get", "Interface", port, "error")
			return got == want && e == "[]", got + " " + e
		})
	}
	// No network on VXLAN any more: its port goes.
	d.Tunnels = d.Tunnels[:1]
	if _, err := c.Apply(ctx, d); err != nil {
		t.Fatal(err)
	}

	// A port added by hand to our bridge is not ours: it stays.
	vsctl(t, o, "add-port", "l2dbbr", "l2dbhand", "--", "set", "Interface", "l2dbhand", "type=internal")
	// Dropping an access port from the desired state removes only that port.
	d.AccessPorts = d.AccessPorts[:1]
	changes, err = c.Apply(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shrink apply: %v", changes)
	ports := strings.Fields(vsctl(t, o, "list-ports", "l2dbbr"))
	if strings.Join(ports, " ") != "l2dbA0 l2dbhand l2dblisp" {
		t.Errorf("ports after shrink = %v", ports)
	}

	if err := c.Remove(ctx, d); err != nil {
		t.Fatal(err)
	}
	brs := vsctl(t, o, "list-br")
	if brs != "l2dbfor" {
		t.Errorf("bridges after Remove = %q, want only the foreign l2dbfor", brs)
	}
	if got := vsctl(t, o, "list-ports", "l2dbfor"); got != "l2dbF0" {
		t.Errorf("foreign bridge ports = %q", got)
	}
	if err := c.Remove(ctx, d); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestClientRefusesForeignRows(t *testing.T) {
	o := startOVS(t, "foreign", "l2dbbr", "l2dblisp", "l2dbmine")
	vsctl(t, o, "add-br", "l2dbbr", "--", "set", "bridge", "l2dbbr", "datapath_type=netdev")
	ctx := testCtx(t)
	c, err := Dial(ctx, o.DBSock(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if _, err := c.Apply(ctx, labDesired("l2dbbr", "l2dblisp")); !errors.Is(err, ErrNotOwned) {
		t.Errorf("Apply on a foreign bridge: err = %v, want ErrNotOwned", err)
	}
	if err := c.Remove(ctx, labDesired("l2dbbr", "l2dblisp")); !errors.Is(err, ErrNotOwned) {
		t.Errorf("Remove of a foreign bridge: err = %v, want ErrNotOwned", err)
	}
	// The tunnel port name is taken on the foreign bridge.
	vsctl(t, o, "add-port", "l2dbbr", "l2dblisp", "--", "set", "Interface", "l2dblisp", "type=internal")
	if _, err := c.Apply(ctx, labDesired("l2dbmine", "l2dblisp")); !errors.Is(err, ErrNotOwned) {
		t.Errorf("Apply with a port name used elsewhere: err = %v, want ErrNotOwned", err)
	}
	if got := vsctl(t, o, "list-br"); got != "l2dbbr" {
		t.Errorf("bridges = %q, want the foreign one untouched and nothing else", got)
	}
}

func checkBridge(t *testing.T, o interface {
	Vsctl(...string) (string, error)
}, br string) {
	t.Helper()
	want := map[string]string{
		"datapath_type":             `netdev`,
		"fail_mode":                 `secure`,
		"protocols":                 `[OpenFlow13]`,
		"other_config:datapath-id":  `"0000000000000abc"`,
		"external_ids:l2lisp-owner": `l2lisp`,
	}
	for col, w := range want {
		got, err := o.Vsctl("get", "Bridge", br, col)
		if err != nil || got != w {
			t.Errorf("bridge %s %s = %q (%v), want %q", br, col, got, err, w)
		}
	}
	got, err := o.Vsctl("get-controller", br)
	if err != nil || got != "tcp:127.0.0.1:16653" {
		t.Errorf("controller = %q (%v)", got, err)
	}
}

func checkTunnel(t *testing.T, o interface {
	Vsctl(...string) (string, error)
}, port, options, ofport string) {
	t.Helper()
	want := map[string]string{
		"type":                      `vxlan`,
		"options":                   options,
		"ofport_request":            ofport,
		"external_ids:l2lisp-owner": `l2lisp`,
	}
	for col, w := range want {
		got, err := o.Vsctl("get", "Interface", port, col)
		if err != nil || got != w {
			t.Errorf("interface %s %s = %q (%v), want %q", port, col, got, err, w)
		}
	}
	if got, err := o.Vsctl("get", "Port", port, "external_ids:l2lisp-owner"); err != nil || got != "l2lisp" {
		t.Errorf("port %s owner = %q (%v)", port, got, err)
	}
}
