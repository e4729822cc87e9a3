package mapserver

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapserver/client"
)

// newManySitesController is a real SQLite controller with n sites in
// iidA: site i (named s%04d, key key-of-site-%04d) holds 10.0.0.0/8 and
// its own 10.(i/256).(i%256).0/24, so every EID in 10/8 has n candidate
// sites by scope.
func newManySitesController(t testing.TB, n int) *controller.Controller {
	t.Helper()
	ctl := newController(t)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 32) // many writes share a commit
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			key, nets := fmt.Sprintf("key-of-site-%04d", i), []int64{iidA}
			pfx := []string{"10.0.0.0/8", fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)}
			if _, err := ctl.CreateSite(ctx, controller.SiteInput{Name: fmt.Sprintf("s%04d", i), AuthKey: &key,
				Networks: &nets, EIDPrefixes: &pfx}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ctl
}

// sendFrom sends one Map-Register built from opt from src and waits until
// outcome counts it; it returns the HMAC verifications it cost.
func sendFrom(t *testing.T, s *Server, src netip.Addr, opt client.RegisterOptions, outcome int) float64 {
	t.Helper()
	_, b, err := client.BuildRegister(opt)
	if err != nil {
		t.Fatal(err)
	}
	before, hmacs := counterValue(t, outcomes[outcome]), verifications(t)
	c := listenUDPTest(t, netip.AddrPortFrom(src, 0).String())
	if _, err := c.WriteToUDPAddrPort(b, s.Addr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, outcomeNames[outcome], 10*time.Second, func() bool { return counterValue(t, outcomes[outcome]) > before })
	return verifications(t) - hmacs
}

// TestOneHMACPerRegister: with 1,000 sites whose scopes all hold the EID,
// a Map-Register costs one HMAC, signed right or not, or none when the
// message cannot tell the sites apart; a source over its budget of failed
// authentications costs none.
func TestOneHMACPerRegister(t *testing.T) {
	ctl := newManySitesController(t, 1000)
	s := startServer(t, ctl, Config{AuthFailRate: 0.001, AuthFailBurst: 3})
	ctx := testCtx(t)
	legit := regOpt(s, "key-of-site-0500", "10.1.244.0/25", rloc1)
	forged := regOpt(s, "not-any-sites-key", "10.1.244.7/32", rloc1)
	ambiguous := regOpt(s, "key-of-site-0500", "10.200.0.0/24", rloc1)

	legit.Local = "127.0.0.20:0"
	// Sent once (a retry would cost a second HMAC later) and acknowledged.
	legit.Retries, legit.Timeout = 0, 30*time.Second
	v0 := verifications(t)
	if _, err := client.Register(ctx, legit); err != nil {
		t.Fatal(err)
	}
	// The reader adds its counts after its batch, which on a loaded machine
	// can be after the Map-Notify arrived: wait for this HMAC to be counted
	// so that it is not charged to the next register.
	waitFor(t, "the first register's HMAC counted", 10*time.Second, func() bool { return verifications(t) >= v0+1 })
	legit.Local = ""
	for _, c := range []struct {
		name    string
		src     string
		opt     client.RegisterOptions
		outcome int
		hmacs   float64
	}{
		{"legitimate refresh", "127.0.0.20", legit, regRefreshed, 1},
		{"forged", "127.0.0.21", forged, regRefusedAuth, 1},
		{"forged again", "127.0.0.21", forged, regRefusedAuth, 1},
		{"nothing tells 1000 sites apart", "127.0.0.21", ambiguous, regRefusedAmbiguous, 0},
		{"forged, last of the budget", "127.0.0.21", forged, regRefusedAuth, 1},
		{"over the budget", "127.0.0.21", forged, regRefusedBudget, 0},
		{"over the budget, even signed right", "127.0.0.21", legit, regRefusedBudget, 0},
		{"another source is not held back", "127.0.0.22", forged, regRefusedAuth, 1},
	} {
		if got := sendFrom(t, s, netip.MustParseAddr(c.src), c.opt, c.outcome); got != c.hmacs {
			t.Errorf("%s: %v HMAC verifications, want %v", c.name, got, c.hmacs)
		}
	}
	before, hmacs := counterValue(t, outcomes[regRefusedBudget]), verifications(t)
	for range 200 {
		_, b, _ := client.BuildRegister(forged)
		c := listenUDPTest(t, "127.0.0.21:0")
		if _, err := c.WriteToUDPAddrPort(b, s.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "200 drops", 10*time.Second, func() bool { return counterValue(t, outcomes[regRefusedBudget]) >= before+200 })
	if got := verifications(t) - hmacs; got != 0 {
		t.Errorf("200 registers over the budget cost %v HMACs", got)
	}
}

func TestFailureBudget(t *testing.T) {
	l := newRateLimiter(1, 2, 64)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if l.exhausted(a, 0) {
		t.Fatal("an unknown source is exhausted")
	}
	l.allow(a, 0)
	l.allow(a, 0)
	if !l.exhausted(a, 0) || l.exhausted(b, 0) {
		t.Fatal("two failures within a burst of two do not exhaust only their source")
	}
	if l.exhausted(a, int64(time.Second)) {
		t.Fatal("the budget does not refill")
	}
	if !l.exhausted(a, 0) {
		t.Fatal("looking refilled the bucket")
	}
	if newRateLimiter(-1, 1, 1).exhausted(a, 0) {
		t.Fatal("a disabled budget is exhausted")
	}
}
