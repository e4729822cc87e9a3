package reconcile

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/test/sim"
)

// TestHungSwitchDelaysNoOther runs the southbound against simulated
// OpenFlow switches over real TCP. One switch hangs (it keeps its
// connection but answers nothing) and one xTR's OVSDB server accepts and
// never answers while that xTR is deleted; mapping changes must still
// reach every other switch at once.
func TestHungSwitchDelaysNoOther(t *testing.T) {
	c := benchSites(t, 3, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lc := controller.DefaultLearnConfig()
	lc.Enabled = false
	sb, err := Start(ctx, c, Config{OpenFlowListen: "127.0.0.1:0", Learn: lc, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	var sims []*sim.Switch
	for _, x := range c.XTRs() {
		s, err := sim.Dial(ctx, sb.OpenFlowAddr().String(), sim.Options{DPID: x.DatapathID})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sims = append(sims, s)
	}
	waitFor(t, 10*time.Second, "initial flows", func() bool {
		return sims[0].FlowCount() > 0 && sims[1].FlowCount() > 0 && sims[2].FlowCount() > 0
	})
	resume := sims[0].Stall()
	defer resume()

	// An xTR whose OVSDB server never answers, then deleted: its removal
	// waits for the provisioning deadline, on its own.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	go func() {
		for {
			conn, err := dead.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	if _, err := c.CreateXTR(ctx, controller.XTRInput{Site: "site002", Name: "stuck", RLOC: "10.9.9.9",
		OVSDB: "tcp:" + dead.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteXTR(ctx, "stuck"); err != nil {
		t.Fatal(err)
	}
	for i, site := range []string{"site001", "site002", "site001"} {
		mac := mapping.MAC{0x02, 0xdd, 0, 0, 0, byte(i)}
		start := time.Now()
		if _, _, err := c.CreateMapping(ctx, controller.MappingInput{InstanceID: 4100, EID: mac.String(), Site: site}); err != nil {
			t.Fatal(err)
		}
		// Generous: without isolation each change waits out the hung
		// switch's 20 s sync deadline or the 10 s OVSDB deadline.
		waitFor(t, 5*time.Second, "flows of "+mac.String(), func() bool {
			return sims[1].HasEthDst(mac) > 0 && sims[2].HasEthDst(mac) > 0
		})
		t.Logf("mapping %d reached the live switches in %v", i, time.Since(start))
		if sims[0].HasEthDst(mac) > 0 {
			t.Errorf("the hung switch took a flow-mod")
		}
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
