package e2e

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// TestDataPlane runs the data-plane checks of the multi-datacenter lab in
// one environment, since building it takes a while: hosts in different
// datacenters reach each other through LISP tunnels programmed by l2lisp.
func TestDataPlane(t *testing.T) {
	e := StartEnv(t, EnvOptions{StaticHosts: true})
	warmUp(t, e)
	t.Run("every pair pings over IPv4 and IPv6", func(t *testing.T) { pingAllPairs(t, e) })
	t.Run("TCP transfer across", func(t *testing.T) { tcpTransfer(t, e) })
	t.Run("networks stay apart", func(t *testing.T) { isolation(t, e) })
	t.Run("WAN carries LISP data", func(t *testing.T) { lispOnWAN(t, e) })
	t.Run("controller restart loses nothing", func(t *testing.T) { controllerRestart(t, e) })
	t.Run("vswitchd restart recovers", func(t *testing.T) { vswitchdRestart(t, e) })
}

// warmUp sends one ping per remote RLOC pair: the first packet towards a new
// RLOC can be dropped while OVS resolves the tunnel neighbour.
func warmUp(t testing.TB, e *Env) { warmUpTopo(t, e.Topo) }

func warmUpTopo(t testing.TB, topo *lab.Topology) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, net := range []string{"blue", "red"} {
		for dc := 1; dc <= 3; dc++ {
			for to := 1; to <= 3; to++ {
				if dc != to {
					_, _, _ = lab.Ping(ctx, topoHost(t, topo, net, dc, 1), topoHost(t, topo, net, to, 1).IPv4.Addr(), 2, 200*time.Millisecond)
				}
			}
		}
	}
}

func pingAllPairs(t *testing.T, e *Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pairs := 0
	for _, a := range e.Topo.Hosts {
		for _, b := range e.Topo.Hosts {
			if a.Name == b.Name || a.Network != b.Network {
				continue
			}
			for _, to := range []netip.Addr{b.IPv4.Addr(), b.IPv6.Addr()} {
				sent, got, err := lab.Ping(ctx, a, to, 3, 100*time.Millisecond)
				if err != nil || got == 0 {
					t.Errorf("%s -> %s (%s): %d/%d replies, %v", a.Name, b.Name, to, got, sent, err)
				}
				pairs++
			}
		}
	}
	t.Logf("%d host pairs x families pinged", pairs)
}

func tcpTransfer(t *testing.T, e *Env) {
	bytes, bps := iperfTCP(t, e.Host("blue", 1, 1), e.Host("blue", 3, 2))
	t.Logf("iperf3 moved %d bytes from dc3 to dc1 in 2 s (%.0f Mbit/s)", bytes, bps/1e6)
}

// iperfTCP runs a 2-second iperf3 TCP transfer from cli to srv and returns
// the bytes and bits per second the server received; under 1 MiB fails.
func iperfTCP(t *testing.T, srv, cli lab.Host) (int64, float64) {
	t.Helper()
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("iperf3 not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server := exec.CommandContext(ctx, "ip", "netns", "exec", srv.Netns, "iperf3", "-s", "-1", "-p", "5201")
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = server.Wait() }()
	var out string
	for i := 0; i < 20; i++ {
		o, err := cli.Exec(ctx, "iperf3", "-c", srv.IPv4.Addr().String(), "-p", "5201", "-t", "2", "-J")
		// With -J, iperf3 3.12 exits 0 even when it could not connect
		// (the server not listening yet): the error is in the JSON.
		if err == nil && !strings.Contains(string(o), `"error"`) {
			out = string(o)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	m := regexp.MustCompile(`"sum_received":\s*\{[^}]*"bytes":\s*(\d+),\s*"bits_per_second":\s*([0-9.e+]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("iperf3 gave no result: %s", out)
	}
	bytes, _ := strconv.ParseInt(m[1], 10, 64)
	bps, _ := strconv.ParseFloat(m[2], 64)
	if bytes < 1<<20 {
		t.Fatalf("only %d bytes crossed the tunnel from %s to %s", bytes, cli.Name, srv.Name)
	}
	return bytes, bps
}

// isolation gives one red host an address no blue host has: a blue host
// must not reach it, a red host must, and the blue hosts' neighbour tables
// must hold only blue MACs although both networks reuse the same IPs.
func isolation(t *testing.T, e *Env) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	red := e.Host("red", 2, 1)
	Exec(t, red, "ip", "addr", "add", "198.51.100.99/24", "dev", "eth0")
	defer func() { _, _ = red.Exec(ctx, "ip", "addr", "del", "198.51.100.99/24", "dev", "eth0") }()
	only := netip.MustParseAddr("198.51.100.99")
	if _, got, _ := lab.Ping(ctx, e.Host("red", 1, 1), only, 3, 100*time.Millisecond); got == 0 {
		t.Errorf("red host cannot reach the red-only address")
	}
	if _, got, _ := lab.Ping(ctx, e.Host("blue", 1, 1), only, 3, 100*time.Millisecond); got != 0 {
		t.Errorf("a blue host reached a red host: the networks leak")
	}
	blue := e.Host("blue", 1, 1)
	neigh := Exec(t, blue, "ip", "neigh", "show", "dev", "eth0")
	for _, h := range e.Topo.Hosts {
		if h.Network == "red" && strings.Contains(neigh, h.MAC) {
			t.Errorf("blue host learned red MAC %s:\n%s", h.MAC, neigh)
		}
	}
}

// lispOnWAN captures on the WAN segment while hosts of both networks ping,
// and checks tshark decodes LISP data with the I bit and each network's
// instance-id.
func lispOnWAN(t *testing.T, e *Env) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	pcap := filepath.Join(t.TempDir(), "wan.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	capture := exec.CommandContext(ctx, "ip", "netns", "exec", lab.WANNetns,
		// Not the BFD sessions between RLOCs: they run on the LISP port
		// with instance-id 2^24-1 (pipeline.BFDKey).
		"tshark", "-i", "br-wan", "-f", "udp port 4341 and not udp[12:4] & 0xffffff00 = 0xffffff00", "-c", "40",
		"-a", "duration:20", "-w", pcap)
	capture.Stderr = os.Stderr
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile(pcap, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // tshark writes the header before the capture is live
	for _, net := range []string{"blue", "red"} {
		_, _, _ = lab.Ping(ctx, e.Host(net, 1, 1), e.Host(net, 2, 1).IPv4.Addr(), 10, 50*time.Millisecond)
	}
	_ = capture.Wait()
	out, err := exec.Command("tshark", "-r", pcap, "-T", "fields", "-e", "udp.dstport",
		"-e", "lisp-data.flags.iid", "-e", "lisp-data.iid", "-e", "eth.src", "-e", "_ws.malformed").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, out)
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			continue
		}
		if f[0] != "4341" || (f[1] != "1" && f[1] != "True") || f[4] != "" {
			t.Errorf("not clean LISP data with the I bit: %q", line)
		}
		seen[f[2]]++
	}
	if seen["4100"] == 0 || seen["4200"] == 0 {
		t.Fatalf("want LISP data for instance-ids 4100 and 4200, got %v from:\n%s", seen, out)
	}
	t.Logf("LISP data packets per instance-id on the WAN: %v", seen)
}

func waitFile(path string, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var lossRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// pingLoss runs ping every 10 ms in the background; the returned function
// stops it and reports sent and received.
func pingLoss(t testing.TB, from lab.Host, to netip.Addr, d time.Duration) func() (int, int) {
	// A count, not a deadline (-w): with -w the last request can be cut
	// off before its reply and show as lost.
	cmd := exec.Command("ip", "netns", "exec", from.Netns, "ping", "-i", "0.01", "-W", "1",
		"-c", strconv.Itoa(int(d/(10*time.Millisecond))), to.String())
	var buf strings.Builder
	cmd.Stdout = &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() (int, int) {
		_ = cmd.Wait()
		m := lossRE.FindStringSubmatch(buf.String())
		if m == nil {
			t.Fatalf("no ping summary: %s", buf.String())
		}
		s, _ := strconv.Atoi(m[1])
		r, _ := strconv.Atoi(m[2])
		return s, r
	}
}

// controllerRestart kills the controller while a host pings another site
// every 10 ms: the switches keep forwarding (fail_mode=secure keeps flows),
// and the restarted controller finds nothing to change.
func controllerRestart(t *testing.T, e *Env) {
	from, to := e.Host("blue", 1, 1), e.Host("blue", 2, 1)
	done := pingLoss(t, from, to.IPv4.Addr(), 6*time.Second)
	time.Sleep(time.Second)
	e.StopController(true)
	time.Sleep(500 * time.Millisecond)
	e.StartController()
	e.WaitConnected(len(e.Topo.DCs))
	sent, got := done()
	t.Logf("ping every 10 ms across a controller kill -9 and restart: %d sent, %d received", sent, got)
	if got != sent {
		t.Errorf("lost %d of %d pings across the controller restart", sent-got, sent)
	}
	// Let a reconcile pass run over every switch, then check it sent nothing.
	time.Sleep(3 * time.Second)
	if n := e.Metric("l2lisp_flow_mods_sent_total"); n != 0 {
		t.Errorf("the restarted controller sent %v flow-mods although nothing changed", n)
	}
}

// vswitchdRestart restarts one site's ovs-vswitchd, which loses every flow;
// the controller reprograms it on reconnection.
func vswitchdRestart(t *testing.T, e *Env) {
	dc := e.Topo.DCs[1]
	from := e.Host("blue", 1, 1)
	to := e.Host("blue", 2, 1)
	before := e.Metric("l2lisp_flow_mods_sent_total")
	if err := dc.OVS.RestartVswitchd(); err != nil {
		t.Fatal(err)
	}
	// Wait for the reconnection as the controller sees it, then for pings.
	deadline := time.Now().Add(30 * time.Second)
	var reconnected time.Time
	for time.Now().Before(deadline) && reconnected.IsZero() {
		if e.Metric("l2lisp_flow_mods_sent_total") > before {
			reconnected = time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	if reconnected.IsZero() {
		t.Fatalf("%s never got its flows back:\n%s", dc.Name, tail(e.Log(), 40))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if _, got, _ := lab.Ping(ctx, from, to.IPv4.Addr(), 1, 10*time.Millisecond); got == 1 {
			break
		}
	}
	took := time.Since(reconnected)
	t.Logf("%s forwards again %v after its flows were pushed", dc.Name, took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("%s took %v to forward after reconnecting (want within 2 s)", dc.Name, took)
	}
}
