package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// Benchmarks against the real lab. Run them with
//
//	go test -run xxx -bench 'MappingToFlows|Tunnel' -benchtime 1x ./test/e2e/
//
// Each builds its own lab (taking the lab lock), so they are slow to set
// up; the timed part is what the custom metrics describe.

// benchMappings is the number of mappings per benchmark iteration; the
// environment variable L2LISP_BENCH_MAPPINGS overrides 100 for quick runs.
func benchMappings() int {
	if n, err := strconv.Atoi(os.Getenv("L2LISP_BENCH_MAPPINGS")); err == nil && n > 0 {
		return n
	}
	return 100
}

// BenchmarkMappingToFlows3Switches measures the time from a POST of a new
// remote MAC mapping to its flows being in all three lab switches: the two
// encapsulation/split-horizon flows on each remote switch and the local
// delivery flow on the site's own switch. Arrivals are seen through
// `ovs-ofctl monitor br-int watch:` on each switch, timestamped when the
// benchmark reads the event line.
func BenchmarkMappingToFlows3Switches(b *testing.B) {
	ctl, topo := benchLab(b, true)
	arr := newArrivals()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mons := make([]*flowMonitor, len(topo.DCs))
	for i := range topo.DCs {
		mons[i] = startFlowMonitor(ctx, b, topo.DCs[i].OVS, i, arr)
	}
	diag := func() string {
		var sb strings.Builder
		for i, m := range mons {
			fmt.Fprintf(&sb, "monitor of switch %d, last lines:\n%s\n", i, m.tail())
		}
		out, _ := topo.DCs[0].OVS.Ofctl("dump-flows", "br-int", "table=30")
		fmt.Fprintf(&sb, "switch 0 table 30:\n%s\ncontroller log:\n%s", out, tail(ctl.Log(), 20))
		return sb.String()
	}
	iid := topo.Networks[0].InstanceID
	run := func(b *testing.B, burst bool) {
		var rs []runResult
		b.ResetTimer()
		for it := 0; it < b.N; it++ {
			r := mappingRun{arr: arr, n: benchMappings(), burst: burst, timeout: 30 * time.Second,
				post: func(i int, mac [6]byte) {
					site := topo.DCs[i%len(topo.DCs)].Name
					ctl.do("POST", "/api/v1/mappings", map[string]any{"instance_id": iid, "eid": macString(mac), "site": site}, 201)
				},
				need: func(i int) []int { return needOneLocal(len(topo.DCs), i%len(topo.DCs)) },
				diag: diag,
			}
			rs = append(rs, r.do(b, nextRunID()))
		}
		b.StopTimer()
		reportLatency(b, fmt.Sprintf("3 OVS switches (burst=%v)", burst), rs)
	}
	b.Run("sequential", func(b *testing.B) { run(b, false) })
	b.Run("burst", func(b *testing.B) { run(b, true) })
}

// needOneLocal is the flow count per switch for a MAC at switch local: one
// delivery flow there, an encap and a split-horizon flow everywhere else.
func needOneLocal(n, local int) []int {
	need := make([]int, n)
	for i := range need {
		need[i] = 2
	}
	need[local] = 1
	return need
}

// flowMonitor keeps the last lines of one ovs-ofctl monitor for diagnostics.
type flowMonitor struct {
	mu    sync.Mutex
	lines []string
}

func (m *flowMonitor) keep(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.lines) >= 20 {
		m.lines = m.lines[1:]
	}
	m.lines = append(m.lines, line)
}

func (m *flowMonitor) tail() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.lines, "\n")
}

// startFlowMonitor runs ovs-ofctl monitor on one switch's br-int and feeds
// every ADDED flow with a dl_dst into arr as switch index sw. It returns
// once the monitor printed its initial reply, i.e. is registered with OVS.
func startFlowMonitor(ctx context.Context, b *testing.B, ovs *lab.OVS, sw int, arr *arrivals) *flowMonitor {
	b.Helper()
	cmd := ovs.Command(ctx, "ovs-ofctl", "-O", "OpenFlow13", "monitor", "br-int", "watch:")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("ovs-ofctl monitor: %v", err)
	}
	mon := &flowMonitor{}
	ready := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		first := true
		for sc.Scan() {
			at := time.Now()
			if first {
				close(ready)
				first = false
			}
			line := sc.Text()
			mon.keep(line)
			if !strings.Contains(line, "event=ADDED") {
				continue
			}
			if i := strings.Index(line, "dl_dst="); i >= 0 && len(line) >= i+7+17 {
				if m, err := net.ParseMAC(line[i+7 : i+7+17]); err == nil && len(m) == 6 {
					arr.arrive(sw, [6]byte(m), at)
				}
			}
		}
		_ = cmd.Wait()
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case <-ready:
		return mon
	case <-exited:
		b.Fatalf("ovs-ofctl monitor on switch %d ended: %s", sw, stderr.String())
	case <-time.After(10 * time.Second):
		b.Fatalf("ovs-ofctl monitor on switch %d printed nothing", sw)
	}
	return nil
}

// BenchmarkTunnelThroughput compares iperf3 TCP throughput between two
// hosts in different datacenters (through the LISP tunnel over the WAN)
// with two hosts on the same br-int, in the same lab run.
func BenchmarkTunnelThroughput(b *testing.B) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Skip("iperf3 not installed")
	}
	_, topo := benchLab(b, true)
	srv, local, remote := labHost(b, topo, "dc1-blue-h1"), labHost(b, topo, "dc1-blue-h2"), labHost(b, topo, "dc2-blue-h1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, h := range []lab.Host{local, remote} {
		_, _, _ = lab.Ping(ctx, h, srv.IPv4.Addr(), 3, 200*time.Millisecond)
	}
	server := exec.CommandContext(ctx, "ip", "netns", "exec", srv.Netns, "iperf3", "-s", "-p", "5201")
	if err := server.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); _ = server.Wait() }()
	const secs = 5
	var sumLocal, sumTunnel float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := iperfGbps(ctx, b, local, srv, secs)
		r := iperfGbps(ctx, b, remote, srv, secs)
		b.Logf("run %d: same br-int %.3f Gbit/s, across the tunnel %.3f Gbit/s", i, l, r)
		sumLocal, sumTunnel = sumLocal+l, sumTunnel+r
	}
	b.StopTimer()
	l, r := sumLocal/float64(b.N), sumTunnel/float64(b.N)
	b.ReportMetric(r, "Gbit/s-tunnel")
	b.ReportMetric(l, "Gbit/s-local")
	b.ReportMetric(r/l, "ratio")
	b.Logf("iperf3 TCP %d s, receiver rate: %s->%s over the LISP tunnel %.3f Gbit/s, %s->%s on one br-int %.3f Gbit/s, ratio %.3f",
		secs, remote.Name, srv.Name, r, local.Name, srv.Name, l, r/l)
}

func labHost(b *testing.B, topo *lab.Topology, name string) lab.Host {
	b.Helper()
	h := topo.Host(name)
	if h == nil {
		b.Fatalf("no host %s", name)
	}
	return *h
}

// iperfGbps runs one iperf3 client for secs seconds and returns the
// receiver's rate in Gbit/s; it retries while the server is starting.
func iperfGbps(ctx context.Context, b *testing.B, from, to lab.Host, secs int) float64 {
	b.Helper()
	var out []byte
	var err error
	for try := 0; try < 20; try++ {
		out, err = from.Exec(ctx, "iperf3", "-c", to.IPv4.Addr().String(), "-p", "5201", "-t", strconv.Itoa(secs), "-J")
		if err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		b.Fatalf("iperf3 %s -> %s: %v: %s", from.Name, to.Name, err, out)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.End.SumReceived.BitsPerSecond == 0 {
		b.Fatalf("iperf3 %s -> %s: no result (%v): %s", from.Name, to.Name, err, out)
	}
	return res.End.SumReceived.BitsPerSecond / 1e9
}
