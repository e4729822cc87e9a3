package reconcile

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/cluster"
	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/test/sim"
)

// givenLeadership is a Leadership the test decides; the election itself
// is tested in package cluster and, with real replicas, in test/e2e.
type givenLeadership struct {
	mu   sync.Mutex
	st   cluster.State
	subs []chan cluster.State
}

func (g *givenLeadership) State() cluster.State {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st
}

func (g *givenLeadership) Watch() (<-chan cluster.State, func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := make(chan cluster.State, 8)
	ch <- g.st
	g.subs = append(g.subs, ch)
	return ch, func() {}
}

func (g *givenLeadership) set(st cluster.State) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.st = st
	for _, ch := range g.subs {
		ch <- st
	}
}

// TestStandbyProgramsNothing: a standby holds SLAVE and sends no
// flow-mod; elected, it asks for MASTER with the term's generation-id and
// programs every switch; stepping down, it stops at once.
func TestStandbyProgramsNothing(t *testing.T) {
	c := benchSites(t, 2, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lc := controller.DefaultLearnConfig()
	lc.Enabled = false
	lead := &givenLeadership{st: cluster.State{Elected: true, Generation: 5}}
	sb, err := Start(ctx, c, Config{OpenFlowListen: "127.0.0.1:0", Cluster: lead, Learn: lc, Log: slog.New(slog.DiscardHandler)})
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
	waitFor(t, 10*time.Second, "both switches connected", func() bool {
		return sb.Status("x000").OpenFlow.Connected && sb.Status("x001").OpenFlow.Connected
	})
	mac := mapping.MAC{0x02, 0xee, 0, 0, 0, 1}
	if _, _, err := c.CreateMapping(ctx, controller.MappingInput{InstanceID: 4100, EID: mac.String(), Site: "site000"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	for i, s := range sims {
		if n := s.FlowCount(); n != 0 {
			t.Errorf("switch %d got %d flows from a standby", i, n)
		}
	}
	if r := sb.Status("x000").OpenFlow.Role; r != "slave" {
		t.Errorf("a standby holds role %q, want slave", r)
	}

	lead.set(cluster.State{Elected: true, Leader: true, Generation: 6})
	waitFor(t, 10*time.Second, "the leader programs both switches", func() bool {
		return sims[1].HasEthDst(mac) > 0 && sims[0].FlowCount() > 0
	})
	if r := sb.Status("x001").OpenFlow.Role; r != "master" {
		t.Errorf("the leader holds role %q, want master", r)
	}

	lead.set(cluster.State{Elected: true, Generation: 7})
	waitFor(t, 10*time.Second, "back to slave", func() bool { return sb.Status("x000").OpenFlow.Role == "slave" })
	before := sims[1].FlowCount()
	other := mapping.MAC{0x02, 0xee, 0, 0, 0, 2}
	if _, _, err := c.CreateMapping(ctx, controller.MappingInput{InstanceID: 4100, EID: other.String(), Site: "site000"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if sims[1].HasEthDst(other) > 0 || sims[1].FlowCount() != before {
		t.Errorf("a replica that stepped down still programs the switch")
	}
}
