package e2e

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// arrivals tracks, per expected MAC, how many of its flows each switch has
// reported and when the last one needed arrived.
type arrivals struct {
	mu   sync.Mutex
	pend map[[6]byte]*pending
}

type pending struct {
	need, got []int // flows with this eth_dst expected / seen, by switch index
	left      int   // switches still short of their count
	last      time.Time
	done      chan struct{}
}

func newArrivals() *arrivals { return &arrivals{pend: map[[6]byte]*pending{}} }

// expect registers a MAC before its mapping is posted, so no event is
// missed; need[i] is the number of flows with that eth_dst switch i must get.
func (a *arrivals) expect(mac [6]byte, need []int) *pending {
	p := &pending{need: need, got: make([]int, len(need)), done: make(chan struct{})}
	for _, n := range need {
		if n > 0 {
			p.left++
		}
	}
	a.mu.Lock()
	a.pend[mac] = p
	a.mu.Unlock()
	return p
}

// arrive records one flow with eth_dst mac added on switch sw at time at.
// MACs nobody expects (the lab's own hosts, earlier runs) are ignored.
func (a *arrivals) arrive(sw int, mac [6]byte, at time.Time) { a.update(sw, mac, at, -1) }

// observe records that switch sw held n flows with eth_dst mac at time at
// (a snapshot, as a dump-flows poll gives).
func (a *arrivals) observe(sw int, mac [6]byte, n int, at time.Time) { a.update(sw, mac, at, n) }

// update adds one flow (n < 0) or sets the count seen to n.
func (a *arrivals) update(sw int, mac [6]byte, at time.Time, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pend[mac]
	if p == nil || sw < 0 || sw >= len(p.need) || p.got[sw] >= p.need[sw] {
		return
	}
	if n < 0 {
		p.got[sw]++
	} else {
		p.got[sw] = min(n, p.need[sw])
	}
	if p.got[sw] < p.need[sw] {
		return
	}
	if at.After(p.last) {
		p.last = at
	}
	p.left--
	if p.left == 0 {
		close(p.done)
	}
}

// missing describes the switches still short, for a timeout message.
func (a *arrivals) missing(p *pending) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for i := range p.need {
		if p.got[i] < p.need[i] {
			out = append(out, fmt.Sprintf("switch %d: %d/%d", i, p.got[i], p.need[i]))
		}
	}
	return strings.Join(out, ", ")
}

var runSeq atomic.Int32

// nextRunID numbers mapping runs so that no two runs of one process post
// the same MAC (a repeated MAC would be an update with no new flows).
func nextRunID() int { return int(runSeq.Add(1)) }

// benchMAC is the i-th MAC of a benchmark run: locally administered, and
// outside the lab's 02:II:II:II:DC:K host range by its second byte 0xbe.
func benchMAC(run, i int) [6]byte {
	return [6]byte{0x02, 0xbe, byte(run >> 8), byte(run), byte(i >> 8), byte(i)}
}

func macString(m [6]byte) string { return net.HardwareAddr(m[:]).String() }

// mappingRun posts n mappings and measures, for each, the time from just
// before its POST was sent to the arrival of the last flow it needs on the
// last switch. Sequential waits for each mapping's flows before posting the
// next (unloaded latency); burst posts them back to back, one request in
// flight, and then waits for all.
type mappingRun struct {
	arr     *arrivals
	n       int
	burst   bool
	timeout time.Duration
	// post creates mapping i with MAC mac; need says which switches get how
	// many flows for it.
	post func(i int, mac [6]byte)
	need func(i int) []int
	// diag, when set, adds what the switches show to a timeout message.
	diag func() string
}

type runResult struct {
	latency, post []time.Duration
	wall          time.Duration
}

func (r mappingRun) do(b *testing.B, runID int) runResult {
	b.Helper()
	res := runResult{}
	pends := make([]*pending, r.n)
	starts := make([]time.Time, r.n)
	wallStart := time.Now()
	wait := func(i int) {
		select {
		case <-pends[i].done:
		case <-time.After(r.timeout):
			var extra string
			if r.diag != nil {
				extra = r.diag()
			}
			b.Fatalf("mapping %d (%s): flows missing after %v: %s\n%s", i, macString(benchMAC(runID, i)),
				r.timeout, r.arr.missing(pends[i]), extra)
		}
		res.latency = append(res.latency, pends[i].last.Sub(starts[i]))
	}
	for i := 0; i < r.n; i++ {
		mac := benchMAC(runID, i)
		pends[i] = r.arr.expect(mac, r.need(i))
		starts[i] = time.Now()
		r.post(i, mac)
		res.post = append(res.post, time.Since(starts[i]))
		if !r.burst {
			wait(i)
		}
	}
	if r.burst {
		for i := 0; i < r.n; i++ {
			wait(i)
		}
	}
	res.wall = time.Since(wallStart)
	return res
}

// quantile is the nearest-rank quantile q (0..1] of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(q*float64(len(s))-1e-9)) - 1
	return s[max(0, min(k, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// reportLatency reports the distribution as custom metrics and logs a
// one-line summary.
func reportLatency(b *testing.B, what string, rs []runResult) {
	var lat, post []time.Duration
	var wall time.Duration
	for _, r := range rs {
		lat, post, wall = append(lat, r.latency...), append(post, r.post...), wall+r.wall
	}
	b.ReportMetric(ms(quantile(lat, 0.5)), "ms-median")
	b.ReportMetric(ms(quantile(lat, 0.99)), "ms-p99")
	b.ReportMetric(ms(quantile(lat, 1)), "ms-max")
	b.ReportMetric(ms(quantile(post, 0.5)), "ms-post-median")
	b.ReportMetric(float64(len(lat))/wall.Seconds(), "mappings/s")
	b.Logf("%s: %d mappings, POST->flows in every switch: median %.2f ms, p99 %.2f ms, min %.2f ms, max %.2f ms; "+
		"POST answer median %.2f ms; %.1f mappings/s over %v",
		what, len(lat), ms(quantile(lat, 0.5)), ms(quantile(lat, 0.99)), ms(slices.Min(lat)), ms(slices.Max(lat)),
		ms(quantile(post, 0.5)), float64(len(lat))/wall.Seconds(), wall.Round(time.Millisecond))
	// Latency against how many mappings the database already holds.
	if k := len(rs[0].latency) / 10; k > 0 {
		first, last := rs[0].latency[:k], rs[0].latency[len(rs[0].latency)-k:]
		b.Logf("%s: median of the first %d mappings %.2f ms, of the last %d %.2f ms", what, k,
			ms(quantile(first, 0.5)), k, ms(quantile(last, 0.5)))
	}
}
