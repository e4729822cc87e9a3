package mapserver

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
)

// A forged-register flood against a server with 1,000 sites: forged
// Map-Registers for an EID one site holds, signed with a wrong key, from
// floodSources loopback addresses, while one xTR keeps registering and one
// ITR keeps resolving.

const (
	floodSources = 64
	floodEID     = "10.1.244.7/32"     // inside s0500's 10.1.244.0/24
	legitEID     = "10.1.244.0/25"     // what s0500 registers
	legitKey     = "key-of-site-0500"  // s0500's key
	forgedKey    = "not-any-sites-key" // what the flood signs with
)

// floodResult is what one flood measured.
type floodResult struct {
	sent, absorbed, hmacs float64
	elapsed               time.Duration
	procCPU, genCPU       time.Duration
	req, reg              legitStats
}

// legitStats are the answers one closed-loop legitimate client got.
type legitStats struct {
	lat  []time.Duration
	lost int
}

func (l *legitStats) quantile(q float64) time.Duration {
	if len(l.lat) == 0 {
		return 0
	}
	s := slices.Clone(l.lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// processCPU and threadCPU read getrusage for the process and for the
// calling OS thread.
func processCPU() time.Duration { return rusage(syscall.RUSAGE_SELF) }
func threadCPU() time.Duration  { return rusage(1) } // RUSAGE_THREAD

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// refusedTotal is every refusal and drop a forged register can end in.
func refusedTotal(t testing.TB) float64 {
	n := 0.0
	for _, o := range []int{regRefusedAuth, regRefusedBudget, regRefusedAmbiguous, regRefusedPrefix} {
		n += counterValue(t, outcomes[o])
	}
	return n + counterValue(t, dropped[dropMalformed])
}

// runFlood sends packets forged registers as fast as two goroutines can,
// with the legitimate clients running throughout (each try waiting at
// most wait, retries times again), and waits for the server to count what
// it received.
func runFlood(t testing.TB, s *Server, packets int, wait time.Duration, retries int) floodResult {
	forged, err := forgedRegister()
	if err != nil {
		t.Fatal(err)
	}
	var res floodResult
	absorbed0, hmacs0 := refusedTotal(t), verifications(t)
	stop := make(chan struct{})
	var legit sync.WaitGroup
	legit.Add(2)
	go func() { defer legit.Done(); res.req = legitRequests(t, s, stop, wait, retries) }()
	go func() { defer legit.Done(); res.reg = legitRegisters(t, s, stop, wait, retries) }()
	start, cpu0 := time.Now(), processCPU()
	var sent, gen atomic.Int64
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, cpu, err := floodFrom(s, forged, g, packets/2)
			if err != nil {
				t.Error(err)
			}
			sent.Add(int64(n))
			gen.Add(int64(cpu))
		}()
	}
	wg.Wait()
	// The server drains its socket buffers; whatever it has not counted
	// after that, the kernel dropped.
	last, steady := refusedTotal(t), 0
	for steady < 5 {
		time.Sleep(20 * time.Millisecond)
		if now := refusedTotal(t); now == last {
			steady++
		} else {
			last, steady = now, 0
		}
	}
	res.elapsed, res.procCPU, res.genCPU = time.Since(start), processCPU()-cpu0, time.Duration(gen.Load())
	close(stop)
	legit.Wait()
	res.sent, res.absorbed, res.hmacs = float64(sent.Load()), refusedTotal(t)-absorbed0, verifications(t)-hmacs0
	return res
}

// forgedRegister is a Map-Register for floodEID that s0500 would hold,
// signed with a key no site has.
func forgedRegister() ([]byte, error) {
	_, b, err := client.BuildRegister(client.RegisterOptions{Key: forgedKey, Alg: packet.AuthHMACSHA256, IID: iidA,
		EID: floodEID, RLOCs: []netip.Addr{rloc9}, Priority: 1, Weight: 100, TTL: 1440, Notify: true})
	return b, err
}

// floodFrom sends n copies of b in batches from floodSources/2 sources
// and returns how many went out and the CPU time its thread spent.
func floodFrom(s *Server, b []byte, g, n int) (int, time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var conns []*udpio.BatchConn
	for i := range floodSources / 2 {
		src := netip.AddrFrom4([4]byte{127, 0, 2, byte(1 + g*floodSources/2 + i)})
		c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(s.Addr()))
		if err != nil {
			return 0, 0, err
		}
		defer c.Close()
		bc, err := udpio.NewBatchConn(c, 64)
		if err != nil {
			return 0, 0, err
		}
		conns = append(conns, bc)
	}
	out := udpio.NewDatagrams(64, len(b))
	for i := range out {
		out[i].N = copy(out[i].Buf, b)
	}
	cpu0 := threadCPU()
	sent := 0
	for i := 0; sent < n; i++ {
		k, err := conns[i%len(conns)].WriteBatch(out[:min(len(out), n-sent)])
		if err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			return sent, threadCPU() - cpu0, err
		}
		sent += k
	}
	return sent, threadCPU() - cpu0, nil
}

// legitRequests resolves an EID of s0500 in a closed loop until stop.
func legitRequests(t testing.TB, s *Server, stop <-chan struct{}, wait time.Duration, retries int) legitStats {
	return legitLoop(t, stop, func() error {
		_, err := client.Lig(testCtx(t), client.LigOptions{MR: s.Addr().String(), IID: iidA, EID: "10.1.244.5",
			Local: "127.0.0.40:0", Timeout: wait, Retries: retries})
		return err
	})
}

// legitRegisters registers s0500's EID in a closed loop until stop,
// waiting each time for the Map-Notify.
func legitRegisters(t testing.TB, s *Server, stop <-chan struct{}, wait time.Duration, retries int) legitStats {
	opt := regOpt(s, legitKey, legitEID, rloc1)
	opt.Local, opt.Timeout, opt.Retries = "127.0.0.41:0", wait, retries
	return legitLoop(t, stop, func() error {
		_, err := client.Register(testCtx(t), opt)
		return err
	})
}

func legitLoop(t testing.TB, stop <-chan struct{}, do func() error) legitStats {
	var st legitStats
	for {
		select {
		case <-stop:
			return st
		default:
		}
		start := time.Now()
		if err := do(); err != nil {
			if !errors.Is(err, client.ErrNoAnswer) {
				t.Error(err)
				return st
			}
			st.lost++
			continue
		}
		st.lat = append(st.lat, time.Since(start))
	}
}

// TestForgedRegisterFlood floods a server with 1,000 sites with forged
// registers and checks that legitimate registers and Map-Requests keep
// being answered, that no forged one costs more than one HMAC, and that
// the sources over their failure budget cost none.
func TestForgedRegisterFlood(t *testing.T) {
	packets := 200_000
	if testing.Short() {
		packets = 20_000
	}
	ctl := newManySitesController(t, 1000)
	s := startServer(t, ctl, Config{})
	if _, err := client.Register(testCtx(t), regOpt(s, legitKey, legitEID, rloc1)); err != nil {
		t.Fatal(err)
	}
	// A flood beyond what the server reads overflows its socket buffers,
	// and the kernel drops legitimate datagrams with forged ones: each
	// client retries, as xTRs and ITRs do, and every operation must get
	// its answer.
	r := runFlood(t, s, packets, 250*time.Millisecond, 7)
	t.Logf("sent %.0f forged in %s, server counted %.0f, HMACs %.0f; requests answered %d (lost %d, p99 %s), registers %d (lost %d, p99 %s)",
		r.sent, r.elapsed.Round(time.Millisecond), r.absorbed, r.hmacs, len(r.req.lat), r.req.lost, r.req.quantile(0.99),
		len(r.reg.lat), r.reg.lost, r.reg.quantile(0.99))
	for name, st := range map[string]legitStats{"requests": r.req, "registers": r.reg} {
		if len(st.lat) == 0 || st.lost > 0 {
			t.Errorf("%s during the flood: %d answered, %d unanswered after 8 tries", name, len(st.lat), st.lost)
		}
	}
	if r.absorbed < r.sent/4 {
		t.Errorf("the server counted %.0f of %.0f forged registers", r.absorbed, r.sent)
	}
	// Budget: DefaultAuthFailBurst failures per source, then one a second;
	// and one HMAC for every legitimate register sent (8 tries at most).
	if limit := float64(floodSources*DefaultAuthFailBurst) + float64(floodSources)*(r.elapsed.Seconds()+1) +
		8*float64(len(r.reg.lat)+r.reg.lost); r.hmacs > limit {
		t.Errorf("%.0f HMACs for %.0f forged registers from %d sources, want at most %.0f", r.hmacs, r.absorbed, floodSources, limit)
	}
	// Afterwards, a plain lig and a register still work.
	if _, err := client.Lig(testCtx(t), client.LigOptions{MR: s.Addr().String(), IID: iidA, EID: "10.1.244.5"}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkForgedRegisterFlood measures a forged-register flood against
// a server with 1,000 sites on a real SQLite controller: b.N forged
// packets, with and without the failure budget (without it every forged
// packet costs its one HMAC, as from spoofed sources), and as a baseline
// the legitimate clients alone. Run it with, e.g.,
//
//	go test -run xxx -bench ForgedRegisterFlood -benchtime 400000x ./mapserver/
func BenchmarkForgedRegisterFlood(b *testing.B) {
	ctl := newManySitesController(b, 1000)
	for _, c := range []struct {
		name   string
		budget float64
		flood  bool
	}{{"no-flood", 0, false}, {"budget", 0, true}, {"no-budget", -1, true}} {
		b.Run(c.name, func(b *testing.B) {
			s := startServer(b, ctl, Config{AuthFailRate: c.budget})
			if _, err := client.Register(testCtx(b), regOpt(s, legitKey, legitEID, rloc1)); err != nil {
				b.Fatal(err)
			}
			n := b.N
			if !c.flood {
				n = 0
			}
			b.ResetTimer()
			var r floodResult
			if c.flood {
				r = runFlood(b, s, n, time.Second, -1)
			} else {
				r = runIdle(b, s)
			}
			b.StopTimer()
			reportFlood(b, r)
		})
	}
}

// runIdle runs the legitimate clients alone for a second.
func runIdle(b *testing.B, s *Server) floodResult {
	var r floodResult
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.req = legitRequests(b, s, stop, time.Second, -1) }()
	go func() { defer wg.Done(); r.reg = legitRegisters(b, s, stop, time.Second, -1) }()
	start, cpu0 := time.Now(), processCPU()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	r.elapsed, r.procCPU = time.Since(start), processCPU()-cpu0
	return r
}

func reportFlood(b *testing.B, r floodResult) {
	if b.N == 1 {
		return // the framework's first probe
	}
	secs := r.elapsed.Seconds()
	if r.absorbed > 0 {
		b.ReportMetric(r.absorbed/secs, "forged/s")
		b.ReportMetric(float64(r.procCPU-r.genCPU)/r.absorbed/1e3, "server-cpu-µs/forged")
		b.ReportMetric(r.hmacs/r.absorbed, "hmac/forged")
		b.ReportMetric(1-r.absorbed/r.sent, "kernel-drop")
	}
	b.ReportMetric(float64(len(r.req.lat))/secs, "req/s")
	b.ReportMetric(float64(r.req.quantile(0.5))/1e6, "req-p50-ms")
	b.ReportMetric(float64(r.req.quantile(0.99))/1e6, "req-p99-ms")
	b.ReportMetric(float64(len(r.reg.lat))/secs, "reg/s")
	b.ReportMetric(float64(r.reg.quantile(0.5))/1e6, "reg-p50-ms")
	b.ReportMetric(float64(r.reg.quantile(0.99))/1e6, "reg-p99-ms")
	b.ReportMetric(float64(r.req.lost+r.reg.lost), "legit-lost")
	b.ReportMetric(0, "ns/op")
	b.Logf("forged sent %.0f, counted %.0f in %s, HMACs %.0f, process CPU %s of which the flood generator %s",
		r.sent, r.absorbed, r.elapsed.Round(time.Millisecond), r.hmacs, r.procCPU.Round(time.Millisecond),
		r.genCPU.Round(time.Millisecond))
}
