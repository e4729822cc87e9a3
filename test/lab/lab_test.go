package lab

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needLab skips unless the test can make namespaces and run OVS, and holds
// the lab lock so another package's lab test cannot tear ours down.
func needLab(t *testing.T) context.Context {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab tests need root")
	}
	for _, bin := range []string{"ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ethtool", "ping"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("lab tests need %s", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	release, err := Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return ctx
}

func TestLabLifecycle(t *testing.T) {
	ctx := needLab(t)
	cfg := Config{}
	t.Cleanup(func() {
		if err := Down(context.Background(), cfg); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	topo, err := Up(ctx, cfg)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	if len(topo.DCs) != 3 || len(topo.Hosts) != 3*2*2 {
		t.Fatalf("built %d DCs and %d hosts, want 3 and 12", len(topo.DCs), len(topo.Hosts))
	}
	t.Run("rlocs reach each other over the WAN", func(t *testing.T) { checkWAN(t, ctx, topo) })
	t.Run("mgmt reachable from root", func(t *testing.T) { checkMgmt(t, ctx, topo) })
	t.Run("hosts configured", func(t *testing.T) { checkHosts(t, ctx, topo) })
	t.Run("status all up", func(t *testing.T) {
		r, err := Status(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Checks {
			if !c.Up {
				t.Errorf("%s down (%s)", c.What, c.Detail)
			}
		}
		if !r.AllUp() {
			t.Error("AllUp false")
		}
	})
	t.Run("move host", func(t *testing.T) { checkMove(t, ctx, cfg, topo) })
	t.Run("up again after a killed run", func(t *testing.T) {
		// A killed run leaves daemons, namespaces and links, and maybe no
		// pid files or topology: Up must clean by name and build anew.
		for _, d := range topo.DCs {
			for _, p := range []string{"ovs-vswitchd.pid", "ovsdb-server.pid"} {
				_ = os.Remove(filepath.Join(d.OVS.Dir, p))
			}
		}
		_ = os.Remove(TopologyPath(topo.RunDir))
		again, err := Up(ctx, cfg)
		if err != nil {
			t.Fatalf("second Up: %v", err)
		}
		checkWAN(t, ctx, again)
		r, err := Status(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !r.AllUp() {
			t.Errorf("status after second Up: %+v", r.Checks)
		}
	})
	t.Run("down removes everything, twice", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			if err := Down(ctx, cfg); err != nil {
				t.Fatalf("Down #%d: %v", i+1, err)
			}
			checkGone(t, ctx)
		}
		if _, err := Status(ctx, cfg); err == nil {
			t.Error("Status after Down found a topology")
		}
	})
}

func checkWAN(t *testing.T, ctx context.Context, topo *Topology) {
	t.Helper()
	for _, from := range topo.DCs {
		for _, to := range topo.DCs {
			if from.Index == to.Index {
				continue
			}
			out, err := from.Exec(ctx, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", to.RLOC.String())
			sent, recv, perr := parsePing(out, err)
			if perr != nil || recv == 0 {
				t.Errorf("%s -> %s: sent %d received %d: %v\n%s", from.Name, to.RLOC, sent, recv, perr, out)
			}
		}
	}
}

func checkMgmt(t *testing.T, ctx context.Context, topo *Topology) {
	t.Helper()
	for _, d := range topo.DCs {
		out, err := exec.CommandContext(ctx, "ping", "-n", "-c", "2", "-W", "1", d.MgmtAddr.String()).CombinedOutput()
		if _, recv, perr := parsePing(out, err); perr != nil || recv == 0 {
			t.Errorf("root -> %s mgmt %s: %v\n%s", d.Name, d.MgmtAddr, perr, out)
		}
		// The switch side must reach the controller address too.
		out, err = d.Exec(ctx, "ping", "-n", "-c", "1", "-W", "1", MgmtAddr)
		if _, recv, perr := parsePing(out, err); perr != nil || recv == 0 {
			t.Errorf("%s -> %s: %v\n%s", d.Name, MgmtAddr, perr, out)
		}
	}
}

func checkHosts(t *testing.T, ctx context.Context, topo *Topology) {
	t.Helper()
	for _, h := range topo.Hosts {
		out, err := h.Exec(ctx, "ip", "-o", "addr", "show", "dev", "eth0")
		if err != nil {
			t.Fatalf("%s: %v\n%s", h.Name, err, out)
		}
		for _, want := range []string{h.IPv4.String(), h.IPv6.String()} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: eth0 lacks %s:\n%s", h.Name, want, out)
			}
		}
		if strings.Contains(string(out), "tentative") {
			t.Errorf("%s: IPv6 address still tentative (DAD on):\n%s", h.Name, out)
		}
		link, err := h.Exec(ctx, "ip", "-o", "link", "show", "dev", "eth0")
		if err != nil || !strings.Contains(string(link), h.MAC) || !strings.Contains(string(link), "mtu 1450") {
			t.Errorf("%s: eth0 want MAC %s mtu 1450: %v\n%s", h.Name, h.MAC, err, link)
		}
		if !linkExists(ctx, dcNetns(h.DC), h.Port) {
			t.Errorf("%s: port %s missing in %s", h.Name, h.Port, dcNetns(h.DC))
		}
		// The lab must leave br-int and the binding to the controller.
		if br, _ := topo.DC(h.DC).OVS.Vsctl("port-to-br", h.Port); br != "" && !strings.Contains(br, "no port") {
			t.Errorf("%s: port already on bridge %q", h.Name, br)
		}
	}
}

func checkMove(t *testing.T, ctx context.Context, cfg Config, topo *Topology) {
	t.Helper()
	h := *topo.Host("dc1-blue-h1")
	if err := MoveHost(ctx, &h, *topo.DC(2)); err != nil {
		t.Fatal(err)
	}
	if h.DC != 2 || linkExists(ctx, dcNetns(1), h.Port) || !linkExists(ctx, dcNetns(2), h.Port) {
		t.Fatalf("after move: DC %d, port in dc1 %v, in dc2 %v", h.DC,
			linkExists(ctx, dcNetns(1), h.Port), linkExists(ctx, dcNetns(2), h.Port))
	}
	out, err := h.Exec(ctx, "ip", "-o", "addr", "show", "dev", "eth0")
	if err != nil || !strings.Contains(string(out), h.IPv4.String()) {
		t.Errorf("host lost its address in the move: %v\n%s", err, out)
	}
	r, err := Status(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Checks {
		if c.What == "port "+h.Port && (!c.Up || c.Detail != "in dc2") {
			t.Errorf("status of moved port: %+v", c)
		}
	}
	if err := MoveHost(ctx, &h, *topo.DC(1)); err != nil {
		t.Fatalf("move back: %v", err)
	}
}

func checkGone(t *testing.T, ctx context.Context) {
	t.Helper()
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, Prefix) {
			t.Errorf("namespace left: %s", l)
		}
	}
	links, err := linkList(ctx, "", Prefix)
	if err != nil || len(links) > 0 {
		t.Errorf("links left: %v %v", links, err)
	}
	if pids := strayOVS(DefaultRunDir); len(pids) > 0 {
		t.Errorf("OVS daemons left: %v", pids)
	}
	if _, err := os.Stat(DefaultRunDir); !os.IsNotExist(err) {
		t.Errorf("run dir left: %v", err)
	}
}

func TestPingParse(t *testing.T) {
	out := []byte("--- 192.0.2.2 ping statistics ---\n3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms\n")
	if s, r, err := parsePing(out, nil); err != nil || s != 3 || r != 2 {
		t.Errorf("got %d %d %v", s, r, err)
	}
	out = []byte("2 packets transmitted, 0 received, 100% packet loss, time 1000ms\n")
	if s, r, err := parsePing(out, &exec.ExitError{}); err != nil || s != 2 || r != 0 {
		t.Errorf("all lost: got %d %d %v", s, r, err)
	}
	if _, _, err := parsePing([]byte("ping: connect: Network is unreachable"), &exec.ExitError{}); err == nil {
		t.Error("no summary: want error")
	}
}

func TestPlan(t *testing.T) {
	c := Config{DCs: 20, HostsPerNetwork: 9}.withDefaults()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	topo := plan(c)
	macs, names := map[string]bool{}, map[string]bool{}
	ips := map[string]map[netip.Addr]bool{}
	for _, h := range topo.Hosts {
		if len(h.Port) > 15 {
			t.Errorf("port name %q longer than 15", h.Port)
		}
		if macs[h.MAC] || names[h.Port] {
			t.Errorf("duplicate MAC or port: %s %s", h.MAC, h.Port)
		}
		macs[h.MAC], names[h.Port] = true, true
		if ips[h.Network] == nil {
			ips[h.Network] = map[netip.Addr]bool{}
		}
		if ips[h.Network][h.IPv4.Addr()] || ips[h.Network][h.IPv6.Addr()] {
			t.Errorf("duplicate address in %s: %s", h.Network, h.IPv4)
		}
		ips[h.Network][h.IPv4.Addr()], ips[h.Network][h.IPv6.Addr()] = true, true
	}
	for _, d := range topo.DCs {
		if len(d.MgmtLink) > 15 {
			t.Errorf("mgmt link %q longer than 15", d.MgmtLink)
		}
	}
	h := planHost(2, 1, DefaultNetworks[0])
	if h.MAC != "02:00:10:04:02:01" || h.IPv4.String() != "198.51.100.21/24" ||
		h.IPv6.String() != "2001:db8:100::21/64" || h.Netns != "l2lab-dc2-blue-h1" || h.Port != "dc2-blue-h1" {
		t.Errorf("planHost: %+v", h)
	}
	if err := (Config{DCs: 21}).withDefaults().validate(); err == nil {
		t.Error("21 DCs: want error")
	}
	if err := (Config{RunDir: "/run/other"}).withDefaults().validate(); err == nil {
		t.Error("foreign run dir: want error")
	}
}
