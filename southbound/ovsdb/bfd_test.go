package ovsdb

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

func TestBFDSpecsAndValidation(t *testing.T) {
	d := validDesired()
	peer := netip.MustParseAddr("192.0.2.2")
	d.BFD = []BFDSession{{Peer: peer, OFPort: 60001}}
	d.BFDTimers = BFDTimers{MinRx: 50, MinTx: 50, Mult: 4}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	specs := bfdSpecs(d)
	if len(specs) != 1 {
		t.Fatalf("specs %+v", specs)
	}
	s := specs[0]
	want := map[string]string{"remote_ip": "192.0.2.2", "key": "16777215", "local_ip": "192.0.2.1",
		"dst_port": "4341"}
	for k, v := range want {
		if s.options[k] != v {
			t.Errorf("option %s = %q, want %q", k, s.options[k], v)
		}
	}
	if s.name != "l2bfd60001" || s.ofport != 60001 || s.ifType != tunnelType ||
		s.bfd["enable"] != "true" || s.bfd["min_rx"] != "50" || s.bfd["min_tx"] != "50" || s.bfd["mult"] != "4" {
		t.Errorf("spec %+v", s)
	}
	for name, mut := range map[string]func(*Desired){
		"own RLOC":       func(d *Desired) { d.BFD[0].Peer = d.LocalRLOC },
		"other family":   func(d *Desired) { d.BFD[0].Peer = netip.MustParseAddr("2001:db8::2") },
		"twice":          func(d *Desired) { d.BFD = append(d.BFD, BFDSession{Peer: peer, OFPort: 60002}) },
		"no port":        func(d *Desired) { d.BFD[0].OFPort = 0 },
		"port clash":     func(d *Desired) { d.BFD[0].OFPort = d.AccessPorts[0].OFPort },
		"mult too large": func(d *Desired) { d.BFDTimers.Mult = 256 },
	} {
		bad := validDesired()
		bad.BFD = []BFDSession{{Peer: peer, OFPort: 60001}}
		mut(&bad)
		if bad.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// bfdPair builds two switches in namespaces joined by a veth, each with its
// RLOC on a netdev br-phy, and returns them with their RLOCs.
func bfdPair(t *testing.T) (a, b *lab.OVS) {
	t.Helper()
	needOVS(t)
	names := []string{"l2db-bfd-a", "l2db-bfd-b"}
	for _, ns := range names {
		_ = exec.Command("ip", "netns", "del", ns).Run()
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "link", "add", "wan0", "netns", names[0], "type", "veth", "peer", "name", "wan0", "netns", names[1])
	var out [2]*lab.OVS
	for i, ns := range names {
		o, err := lab.StartOVS("/tmp/l2db-bfd-"+string(rune('a'+i)), ns)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(o.Stop)
		rloc := "192.0.2." + string(rune('1'+i))
		run(t, "ip", "netns", "exec", ns, "ethtool", "-K", "wan0", "tx", "off")
		vsctl(t, o, "add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev", "--", "add-port", "br-phy", "wan0")
		run(t, "ip", "-n", ns, "link", "set", "wan0", "up")
		run(t, "ip", "-n", ns, "addr", "add", rloc+"/24", "dev", "br-phy")
		run(t, "ip", "-n", ns, "link", "set", "br-phy", "up")
		out[i] = o
	}
	return out[0], out[1]
}

func needOVS(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ip", "ethtool", "ping"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// TestBFDOnRealOVS provisions two real switches with a BFD port towards
// each other: the session comes up, BFDStatus and OnBFDChange report it,
// the port is live for OpenFlow, a frame with another key still arrives
// on the LISP port, and killing one switch's ovs-vswitchd takes the
// other's session down.
func TestBFDOnRealOVS(t *testing.T) {
	a, b := bfdPair(t)
	ctx := testCtx(t)
	rlocA, rlocB := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	var mu sync.Mutex
	var changes int
	clients := map[*lab.OVS]*Client{}
	for _, sw := range []struct {
		o          *lab.OVS
		self, peer netip.Addr
	}{{a, rlocA, rlocB}, {b, rlocB, rlocA}} {
		c, err := Dial(ctx, sw.o.DBSock(), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.OnBFDChange(func() { mu.Lock(); changes++; mu.Unlock() })
		d := labDesired("br-int", "lisp0")
		d.LocalRLOC = sw.self
		d.BFD = []BFDSession{{Peer: sw.peer, OFPort: 60009}}
		d.BFDTimers = BFDTimers{MinRx: 100, MinTx: 100, Mult: 3}
		if _, err := c.Apply(ctx, d); err != nil {
			t.Fatal(err)
		}
		if ch, err := c.Apply(ctx, d); err != nil || len(ch) != 0 {
			t.Fatalf("second Apply: %v %v", ch, err)
		}
		clients[sw.o] = c
	}
	up := func(c *Client, peer netip.Addr, want bool) func() (bool, string) {
		return func() (bool, string) {
			st := c.BFDStatus()
			fwd, ok := st[peer]
			return ok && fwd == want, strings.TrimSpace(strings.ReplaceAll(fmtMap(st), "\n", " "))
		}
	}
	eventually(t, "A's session to B up", up(clients[a], rlocB, true))
	eventually(t, "B's session to A up", up(clients[b], rlocA, true))
	mu.Lock()
	if changes == 0 {
		t.Error("OnBFDChange never ran")
	}
	mu.Unlock()
	if got := vsctl(t, a, "get", "Interface", "l2bfd60009", "ofport"); got != "60009" {
		t.Errorf("BFD port ofport %s", got)
	}
	ports, err := a.Ofctl("dump-ports-desc", "br-int")
	if err != nil || !strings.Contains(ports[strings.Index(ports, "60009(l2bfd60009)"):], "LIVE") {
		t.Errorf("BFD port not live in OpenFlow: %v\n%s", err, ports)
	}
	dataOnLISPPort(t, a, b)
	b.StopVswitchd()
	start := time.Now()
	eventually(t, "A's session to B down", up(clients[a], rlocB, false))
	t.Logf("session down in OVSDB %v after ovs-vswitchd stopped", time.Since(start).Round(time.Millisecond))
	ports, _ = a.Ofctl("dump-ports-desc", "br-int")
	if i := strings.Index(ports, "60009(l2bfd60009)"); i < 0 || strings.Contains(strings.SplitN(ports[i:], "speed", 2)[0], "LIVE") {
		t.Errorf("BFD port still live with its peer gone:\n%s", ports)
	}
}

// dataOnLISPPort sends frames with key 4100 from A to B and checks that B
// receives them on the flow-based LISP port (10), not on the BFD port.
func dataOnLISPPort(t *testing.T, a, b *lab.OVS) {
	t.Helper()
	vsctl(t, a, "add-port", "br-int", "h0", "--", "set", "Interface", "h0", "type=internal", "ofport_request=100")
	run(t, "ip", "-n", "l2db-bfd-a", "addr", "add", "198.51.100.1/24", "dev", "h0")
	run(t, "ip", "-n", "l2db-bfd-a", "link", "set", "h0", "up")
	for _, f := range []struct {
		o    *lab.OVS
		flow string
	}{
		{a, "in_port=100,actions=set_field:4100->tun_id,set_field:192.0.2.2->tun_dst,output:10"},
		{b, "in_port=10,tun_id=4100,actions=drop"},
		{b, "in_port=60009,actions=drop"},
	} {
		if _, err := f.o.Ofctl("add-flow", "br-int", f.flow); err != nil {
			t.Fatal(err)
		}
	}
	_ = exec.Command("ip", "netns", "exec", "l2db-bfd-a", "ping", "-c", "3", "-i", "0.2", "-W", "1", "198.51.100.2").Run()
	eventually(t, "key-4100 frames counted on the LISP port", func() (bool, string) {
		out, _ := b.Ofctl("dump-flows", "br-int", "in_port=10")
		return strings.Contains(out, "n_packets=") && !strings.Contains(out, "n_packets=0,"), out
	})
}

func fmtMap(m map[netip.Addr]bool) string {
	var b strings.Builder
	for a, v := range m {
		b.WriteString(a.String())
		if v {
			b.WriteString("=up ")
		} else {
			b.WriteString("=down ")
		}
	}
	return b.String()
}
