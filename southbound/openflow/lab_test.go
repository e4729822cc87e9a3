package openflow

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// waitBound caps every wait in the OVS tests so a broken run fails instead
// of hanging; it is not a performance assertion.
const waitBound = 60 * time.Second

// ovsBridge is one private OVS instance with one secure OpenFlow 1.3
// netdev bridge; names start with l2of so parallel test runs of other
// packages never collide with ours.
type ovsBridge struct {
	ovs  *lab.OVS
	name string
	dpid uint64
}

func startBridge(t *testing.T, tag string, dpid uint64) *ovsBridge {
	t.Helper()
	if _, err := exec.LookPath("ovs-vswitchd"); err != nil {
		t.Skip("Open vSwitch not installed")
	}
	dir := "/tmp/l2of-" + tag
	name := "l2of" + tag
	if len(name) > 15 {
		t.Fatalf("bridge name %q too long for a tap device", name)
	}
	// A killed run can leave the bridge's tap device behind.
	_ = exec.Command("ip", "link", "del", name).Run()
	o, err := lab.StartOVS(dir, "")
	if err != nil {
		t.Fatalf("start OVS: %v", err)
	}
	t.Cleanup(func() {
		o.Stop()
		_ = exec.Command("ip", "link", "del", name).Run()
		_ = os.RemoveAll(dir)
	})
	b := &ovsBridge{ovs: o, name: name, dpid: dpid}
	t.Cleanup(func() { _, _ = o.Vsctl("--if-exists", "del-br", name) })
	b.vsctl(t, "--may-exist", "add-br", b.name, "--", "set", "bridge", b.name,
		"datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
		fmt.Sprintf("other_config:datapath-id=%016x", dpid))
	b.vsctl(t, "add-port", b.name, "lisp0", "--", "set", "interface", "lisp0", "type=vxlan",
		"options:remote_ip=flow", "options:key=flow", "options:dst_port=4341", "ofport_request=10")
	return b
}

func (b *ovsBridge) vsctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := b.ovs.Vsctl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (b *ovsBridge) ofctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := b.ovs.Ofctl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// controller points the bridge at addr and makes OVS retry quickly.
func (b *ovsBridge) controller(t *testing.T, addr string) {
	t.Helper()
	b.vsctl(t, "set-controller", b.name, "tcp:"+addr, "--", "set", "controller", b.name,
		"max_backoff=1000", "inactivity_probe=30000")
}

// testServer runs a Server on a loopback listener until the test ends.
type testServer struct {
	srv       *Server
	addr      string
	connected chan *Switch
	packetIns chan PacketIn
	removed   chan FlowRemoved
	stop      func()
}

func startServer(t *testing.T, addr string, configure ...func(*Server)) *testServer {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ { // the previous server's port may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, configure...)
}

// serveOn runs a Server on ln until the test ends.
func serveOn(t *testing.T, ln net.Listener, configure ...func(*Server)) *testServer {
	t.Helper()
	ts := &testServer{srv: NewServer(nil), addr: ln.Addr().String(), connected: make(chan *Switch, 8),
		packetIns: make(chan PacketIn, 64), removed: make(chan FlowRemoved, 64)}
	ts.srv.OnConnect = func(sw *Switch) { ts.connected <- sw }
	ts.srv.OnPacketIn = func(_ *Switch, p PacketIn) {
		select {
		case ts.packetIns <- p:
		default:
		}
	}
	ts.srv.OnFlowRemoved = func(_ *Switch, f FlowRemoved) { ts.removed <- f }
	for _, fn := range configure {
		fn(ts.srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()
	var once bool
	ts.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) waitSwitch(t *testing.T) *Switch {
	t.Helper()
	select {
	case sw := <-ts.connected:
		return sw
	case <-time.After(waitBound):
		t.Fatal("switch did not connect")
		return nil
	}
}

func mac(s string) [6]byte {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return [6]byte(hw)
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	t.Cleanup(cancel)
	return ctx
}

func mustContain(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
}
