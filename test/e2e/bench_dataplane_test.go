package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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
	watchers := watchSwitches(ctx, b, ctl, topo, arr)
	diag := func() string {
		out, _ := topo.DCs[0].OVS.Ofctl("dump-flows", "br-int", "table=30")
		return fmt.Sprintf("%s\nswitch 0 table 30:\n%s\ncontroller log:\n%s", watchers.diag(), out, tail(ctl.Log(), 20))
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
		reportLatency(b, fmt.Sprintf("3 OVS switches, seen by %s (burst=%v)", watchers.mode, burst), rs)
		if watchers.mode == "polling" {
			b.ReportMetric(watchers.pollPeriod(), "ms-poll")
			b.Log(watchers.note)
		}
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
	for try := 0; try < 40; try++ {
		out, err = from.Exec(ctx, "iperf3", "-c", to.IPv4.Addr().String(), "-p", "5201", "-t", strconv.Itoa(secs), "-J")
		var res struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
			Error string `json:"error"`
		}
		if jerr := json.Unmarshal(out, &res); jerr == nil && res.Error == "" && res.End.SumReceived.BitsPerSecond > 0 {
			return res.End.SumReceived.BitsPerSecond / 1e9
		}
		time.Sleep(250 * time.Millisecond)
	}
	b.Fatalf("iperf3 %s -> %s: no result (%v): %s", from.Name, to.Name, err, out)
	return 0
}
