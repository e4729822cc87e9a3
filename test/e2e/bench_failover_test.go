package e2e

import (
	"os"
	"testing"
	"time"
)

// BenchmarkLeaderFailover kills the leader of three replicas (SIGKILL)
// once per iteration while a host pings another datacenter every 10 ms,
// and reports: the time until a standby says it leads (GET /cluster,
// polled every 20 ms), the time until it holds every switch as MASTER with
// its flows read back and reconciled, and the pings lost. The killed
// replica is started again (as a standby) between iterations.
//
//	L2LISP_TEST_POSTGRES=postgres://... go test -run '^$' -bench LeaderFailover -benchtime 5x -timeout 30m ./test/e2e/
//
// L2LISP_BENCH_LEASE sets another --leader-lease (default 2s).
func BenchmarkLeaderFailover(b *testing.B) {
	lease := testLease
	if v := os.Getenv("L2LISP_BENCH_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("L2LISP_BENCH_LEASE: %v", err)
		}
		lease = d
	}
	c := startCluster(b, 3, true, lease)
	warmUpTopo(b, c.Topo)
	from, to := topoHost(b, c.Topo, "blue", 1, 1), topoHost(b, c.Topo, "blue", 2, 1)
	var elect, program []time.Duration
	sent, lost := 0, 0
	b.ResetTimer()
	for range b.N {
		old := c.leader(10 * time.Second)
		done := pingLoss(b, from, to.IPv4.Addr(), 6*time.Second)
		time.Sleep(time.Second)
		old.kill()
		killed := time.Now()
		next := c.leader(10 * time.Second)
		elect = append(elect, time.Since(killed))
		waitProgrammed(b, next, 30*time.Second)
		program = append(program, time.Since(killed))
		s, g := done()
		sent, lost = sent+s, lost+s-g
		old.start()
		c.waitSettled(next, time.Minute)
	}
	b.StopTimer()
	b.ReportMetric(ms(quantile(elect, 0.5)), "ms-elect-median")
	b.ReportMetric(ms(quantile(elect, 1)), "ms-elect-max")
	b.ReportMetric(ms(quantile(program, 0.5)), "ms-programmed-median")
	b.ReportMetric(float64(lost), "pings-lost")
	b.Logf("%d leader kills (lease %v): new leader after median %.0f ms (max %.0f ms); every switch MASTER and reconciled after median %.0f ms (max %.0f ms); pings every 10 ms: %d of %d lost",
		len(elect), lease, ms(quantile(elect, 0.5)), ms(quantile(elect, 1)), ms(quantile(program, 0.5)),
		ms(quantile(program, 1)), lost, sent)
}

// waitProgrammed waits until the leader holds every switch as MASTER and
// has synced each (its flows read back).
func waitProgrammed(tb testing.TB, leader *replica, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ok := true
		for _, x := range leader.xtrs() {
			ok = ok && x.Status.OpenFlow.Role == "master" && x.Status.Flows > 0
		}
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("%s did not program every switch in %v", leader.Name, within)
}
