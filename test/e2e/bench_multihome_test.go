package e2e

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// BenchmarkMultihomeOutage measures the outage a 10 ms ping sees when one
// edge of a multihomed site fails or is taken down, on the lab of three
// sites with two edges each (real OVS, userspace datapath, BFD between
// all RLOCs):
//
//	kill     SIGKILL to the ovs-vswitchd of the dc1 edge that carries the ping
//	wan-cut  that edge's WAN link set down (its controller connection stays up:
//	         only BFD can tell)
//	drain    l2lisp xtr drain --wait on that edge, then SIGKILL to it
//
// Each iteration pings between dc1-blue-h1 and dc2-blue-h1 in both
// directions every 10 ms, injects the failure after 1 s and reports the
// longest gap between two replies less one interval (outage-ms, worst of
// both directions) and the echoes lost; then it repairs the edge and waits
// until every BFD session is up again. Metrics are the median and maximum
// over the iterations (-benchtime Nx). L2LISP_BENCH_SERVE_FLAGS adds serve
// flags (e.g. "--bfd-min-rx 100 --bfd-min-tx 100").
//
//	go test -run '^$' -bench MultihomeOutage -benchtime 5x -timeout 60m ./test/e2e/
func BenchmarkMultihomeOutage(b *testing.B) {
	e := startMultihomed(b, strings.Fields(os.Getenv("L2LISP_BENCH_SERVE_FLAGS"))...)
	local, remote := e.Host("blue", 1, 1), e.Host("blue", 2, 1)
	peers := len(e.Topo.DCs) - 1
	for _, sc := range []struct {
		name           string
		inject, repair func(d lab.DC)
	}{
		{"kill", func(d lab.DC) { killVswitchd(b, d) }, func(d lab.DC) { restartVswitchd(b, d) }},
		{"wan-cut", func(d lab.DC) { setWAN(b, e, d, false) }, func(d lab.DC) { setWAN(b, e, d, true) }},
		{"drain", func(d lab.DC) {
			if out := e.cli("xtr", "drain", d.XTR, "--wait", "30s"); strings.Contains(out, "NOT converged") {
				b.Fatalf("drain:\n%s", out)
			}
			killVswitchd(b, d)
		}, func(d lab.DC) { restartVswitchd(b, d); e.cli("xtr", "undrain", d.XTR, "--wait", "30s") }},
	} {
		b.Run(sc.name, func(b *testing.B) {
			var outages []float64
			var lost []float64
			for range b.N {
				warm(b, local, remote)
				victim := e.lanEdge(1, "blue", remote.MAC)
				out := startPing(b, local, remote.IPv4.Addr(), 400, 10*time.Millisecond)
				in := startPing(b, remote, local.IPv4.Addr(), 400, 10*time.Millisecond)
				time.Sleep(time.Second)
				sc.inject(victim)
				ro, ri := out.wait(), in.wait()
				b.Logf("%s %s: out %v; in %v", sc.name, victim.XTR, ro, ri)
				outages = append(outages, float64(max(ro.Outage, ri.Outage))/float64(time.Millisecond))
				lost = append(lost, float64(max(ro.Lost, ri.Lost)))
				sc.repair(victim)
				e.waitBFD(peers)
			}
			b.ReportMetric(median(outages), "median-outage-ms")
			b.ReportMetric(slices.Max(outages), "max-outage-ms")
			b.ReportMetric(median(lost), "median-lost")
			b.ReportMetric(slices.Max(lost), "max-lost")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// restartVswitchd starts a killed edge's ovs-vswitchd again; the bridge
// comes back from its database and the controller syncs its flows.
func restartVswitchd(tb testing.TB, d lab.DC) {
	tb.Helper()
	if err := d.OVS.StartVswitchd(); err != nil {
		tb.Fatal(err)
	}
}

// setWAN cuts (or restores) an edge's WAN link at the WAN bridge.
func setWAN(tb testing.TB, e *Env, d lab.DC, up bool) {
	tb.Helper()
	state := map[bool]string{true: "up", false: "down"}[up]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wan := lab.Host{Name: "wan", Netns: e.Topo.WANNetns}
	if out, err := wan.Exec(ctx, "ip", "link", "set", d.Name, state); err != nil {
		tb.Fatalf("WAN link of %s %s: %v: %s", d.Name, state, err, out)
	}
}
