package ovsdb

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// startOVS starts a private Open vSwitch in /tmp/l2db-<name>, skipping the
// test where OVS or root is missing. Leftovers of a killed run are cleaned
// by lab.StartOVS itself, except the tap devices ovs-vswitchd makes for
// netdev bridges and internal ports: the test names them in taps (all
// "l2db..."), and they are deleted before and after.
func startOVS(t *testing.T, name string, taps ...string) *lab.OVS {
	t.Helper()
	for _, bin := range []string{"ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for veth pairs")
	}
	dir := "/tmp/l2db-" + name
	deleteLinks(taps)
	o, err := lab.StartOVS(dir, "")
	if err != nil {
		t.Fatalf("start OVS: %v", err)
	}
	t.Cleanup(func() {
		// Deleting bridges while ovs-vswitchd runs lets it remove its taps.
		if brs, err := o.Vsctl("list-br"); err == nil {
			for _, br := range strings.Fields(brs) {
				_, _ = o.Vsctl("--if-exists", "del-br", br)
			}
		}
		o.Stop()
		deleteLinks(taps)
		_ = os.RemoveAll(dir)
	})
	return o
}

func deleteLinks(names []string) {
	for _, n := range names {
		if strings.HasPrefix(n, "l2db") {
			_ = exec.Command("ip", "link", "del", n).Run()
		}
	}
}

// veth creates a veth pair (removing a leftover first) and deletes it at
// cleanup. Names must start with "l2db".
func veth(t *testing.T, a, b string) {
	t.Helper()
	_ = exec.Command("ip", "link", "del", a).Run()
	out, err := exec.Command("ip", "link", "add", a, "type", "veth", "peer", "name", b).CombinedOutput()
	if err != nil {
		t.Fatalf("create veth %s: %v: %s", a, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", a).Run() })
}

func vsctl(t *testing.T, o *lab.OVS, args ...string) string {
	t.Helper()
	out, err := o.Vsctl(args...)
	if err != nil {
		t.Fatalf("ovs-vsctl %v: %v", args, err)
	}
	return out
}

// eventually polls cond until it holds or a generous deadline passes; the
// deadline only bounds a hang, it asserts nothing about speed.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened; last: %s", what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func labDesired(bridge, tunnel string, access ...AccessPort) Desired {
	return Desired{
		Bridge:       bridge,
		DatapathType: "netdev",
		DatapathID:   0xabc,
		Controllers:  []string{"tcp:127.0.0.1:16653"},
		Tunnels:      []Tunnel{{Name: tunnel, OFPort: 10, DstPort: LISPDataPort, GPE: true}},
		LocalRLOC:    netip.MustParseAddr("192.0.2.1"),
		AccessPorts:  access,
	}
}
