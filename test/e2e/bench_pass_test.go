package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/test/sim"
)

// BenchmarkSwitchPass measures what the reconciler spends on one switch
// for one mapping change, against how many records the network holds: a
// pass recomputes the switch's whole flow set (Compile) and hands all of
// it to Sync, which prepares every flow and diffs it with the installed
// state before sending the one or two flow-mods that changed. The switch
// is a test/sim client over loopback TCP, in process; each iteration adds
// or removes one remote MAC, so every Sync sends real changes.
func BenchmarkSwitchPass(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) { benchSwitchPass(b, n) })
	}
}

func benchSwitchPass(b *testing.B, records int) {
	ctx, sw, s := passSwitch(b)
	v := passView(records)
	flows, groups := pipeline.Compile(v)
	if _, err := sw.Sync(ctx, flows, groups); err != nil {
		b.Fatal(err)
	}
	extra := remoteRecord(records, 99)
	base := v.Records
	var compile time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.Records = base
		if i%2 == 0 {
			v.Records = append(base[:len(base):len(base)], extra)
		}
		start := time.Now()
		flows, groups := pipeline.Compile(v)
		compile += time.Since(start)
		res, err := sw.Sync(ctx, flows, groups)
		if err != nil || res.Added+res.Deleted == 0 {
			b.Fatalf("sync %d: %+v %v", i, res, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/pass")
	b.ReportMetric(float64(compile.Microseconds())/1000/float64(b.N), "ms-compile/pass")
	b.ReportMetric(float64(s.FlowCount()), "flows")
}

// passSwitch connects one simulated switch to an in-process OpenFlow
// server over loopback; everything stops when the benchmark ends.
func passSwitch(b *testing.B) (context.Context, *openflow.Switch, *sim.Switch) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := openflow.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-done })
	s, err := sim.Dial(ctx, ln.Addr().String(), sim.Options{DPID: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var sw *openflow.Switch
	for sw == nil || !sw.Connected() {
		sw, _ = srv.Switch(1)
		time.Sleep(time.Millisecond)
	}
	return ctx, sw, s
}

// passView is the view of one xTR of a 100-site network whose iid holds
// records remote MACs spread over the 99 other sites.
func passView(records int) pipeline.SwitchView {
	const iid = 4100
	v := pipeline.SwitchView{XTR: "x0", Site: "s0", RLOC: netip.MustParseAddr("10.1.0.1"),
		TunnelPort: pipeline.TunnelOFPort, Networks: []uint32{iid}, Peers: map[uint32][]netip.Addr{},
		Ports: []pipeline.PortView{{Name: "p1", OFPort: pipeline.FirstAccessOFPort, IID: iid}}}
	for i := 1; i < simSites; i++ {
		v.Peers[iid] = append(v.Peers[iid], siteRLOC(i))
	}
	for i := 0; i < records; i++ {
		v.Records = append(v.Records, remoteRecord(i, 1+i%(simSites-1)))
	}
	return v
}

func siteRLOC(i int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("10.%d.%d.1", 1+i/250, i%250))
}

func remoteRecord(i, site int) mapping.Record {
	mac := mapping.MAC{0x02, 0xcc, 0, byte(i >> 16), byte(i >> 8), byte(i)}
	return mapping.Record{EID: mapping.MACEID(4100, mac), Site: simSiteName(site), Version: 1,
		Origin:   mapping.OriginStatic,
		Locators: []mapping.Locator{{Addr: siteRLOC(site), Priority: 1, Weight: 100, Up: true}}}
}

// BenchmarkSwitchPassDelta is BenchmarkSwitchPass on the reconciler's
// incremental path for a mapping change: only the changed EID's part is
// recompiled (Incremental.Update) and only its flows are handed to the
// switch (Apply), so the cost no longer follows the number of records.
func BenchmarkSwitchPassDelta(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) { benchSwitchPassDelta(b, n) })
	}
}

func benchSwitchPassDelta(b *testing.B, records int) {
	ctx, sw, s := passSwitch(b)
	in, ok := pipeline.NewIncremental(passView(records))
	if !ok {
		b.Fatal("select group collision")
	}
	flows, groups := in.Result()
	if _, err := sw.Sync(ctx, flows, groups); err != nil {
		b.Fatal(err)
	}
	extra := remoteRecord(records, 99)
	var compile time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		change := map[mapping.EID][]mapping.Record{extra.EID: nil}
		if i%2 == 0 {
			change[extra.EID] = []mapping.Record{extra}
		}
		start := time.Now()
		d, ok := in.Update(change)
		compile += time.Since(start)
		if !ok {
			b.Fatal("update refused")
		}
		res, err := sw.Apply(ctx, d)
		if err != nil || res.Added+res.Deleted == 0 {
			b.Fatalf("apply %d: %+v %v", i, res, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/pass")
	b.ReportMetric(float64(compile.Microseconds())/1000/float64(b.N), "ms-compile/pass")
	b.ReportMetric(float64(s.FlowCount()), "flows")
}
