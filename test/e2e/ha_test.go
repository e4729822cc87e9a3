package e2e

import (
	"testing"
	"time"
)

// TestLeaderFailover runs three replicas on one PostgreSQL database with
// the three-datacenter lab, and kills the leader with SIGKILL while a host
// pings another datacenter every 10 ms: no ping may be lost, a standby must
// lead within 1.25 x the lease plus a round trip (3 s with the default 2 s
// lease), reconcile without a single flow-mod, program a mapping created
// right after the failover into every switch, and the old leader, started
// again, must come back as a standby.
func TestLeaderFailover(t *testing.T) {
	c := startCluster(t, 3, true, testLease)
	warmUpTopo(t, c.Topo)
	old := c.leader(10 * time.Second)
	for _, r := range c.Replicas {
		if r != old && r.metric("l2lisp_flow_mods_sent_total") != 0 {
			t.Errorf("standby %s sent flow-mods", r.Name)
		}
	}
	from, to := topoHost(t, c.Topo, "blue", 1, 1), topoHost(t, c.Topo, "blue", 2, 1)
	done := pingLoss(t, from, to.IPv4.Addr(), 10*time.Second)
	time.Sleep(time.Second)

	old.kill()
	killed := time.Now()
	next := c.leader(10 * time.Second)
	elected := time.Since(killed)
	t.Logf("%s killed; %s leads %v later (lease %v)", old.Name, next.Name, elected.Round(time.Millisecond), testLease)
	if bound := testLease*5/4 + 500*time.Millisecond; elected > bound {
		t.Errorf("a new leader took %v, want within %v", elected, bound)
	}
	c.waitSettled(next, 30*time.Second)
	if n := next.metric("l2lisp_flow_mods_sent_total"); n != 0 {
		t.Errorf("the new leader sent %v flow-mods although nothing had changed", n)
	}

	// A mapping created through a standby right after the failover.
	var standby *replica
	for _, r := range c.Replicas {
		if r != old && r != next {
			standby = r
		}
	}
	mac := "02:00:5e:10:00:99"
	created := time.Now()
	standby.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": mac, "site": "dc3"}, 201)
	deadline := time.Now().Add(10 * time.Second)
	for _, dc := range c.Topo.DCs {
		for !hasFlowsFor(dc, mac) {
			if time.Now().After(deadline) {
				t.Fatalf("the new mapping never reached %s; leader log:\n%s", dc.Name, tail(next.Log(), 40))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("a mapping created through standby %s was in all %d switches %v later (as seen by polling ovs-ofctl dump-flows)",
		standby.Name, len(c.Topo.DCs), time.Since(created).Round(time.Millisecond))

	sent, got := done()
	t.Logf("ping every 10 ms across the leader's kill -9: %d sent, %d received", sent, got)
	if got != sent {
		t.Errorf("lost %d of %d pings across the failover", sent-got, sent)
	}

	// The old leader comes back as a standby and catches up.
	old.start()
	c.waitSettled(next, time.Minute)
	if l := c.leader(5 * time.Second); l != next {
		t.Errorf("the restarted %s took the lead from %s", old.Name, next.Name)
	}
	waitCaughtUp(t, c, old, next)
	if n := old.metric("l2lisp_flow_mods_sent_total"); n != 0 {
		t.Errorf("the restarted standby %s sent %v flow-mods", old.Name, n)
	}
	v, _ := next.cluster()
	roles := map[string]string{}
	for _, r := range v.Replicas {
		roles[r.ID] = r.Role
	}
	if len(roles) != 3 || roles[next.Name] != "leader" || roles[old.Name] != "standby" || roles[standby.Name] != "standby" {
		t.Errorf("GET /cluster lists the roles %v", roles)
	}
}

// waitCaughtUp waits until r reports, in GET /cluster, the leader's feed
// position.
func waitCaughtUp(t *testing.T, c *clusterEnv, r, leader *replica) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		v, ok := leader.cluster()
		var mine, theirs int64 = -1, -2
		for _, rep := range v.Replicas {
			if rep.ID == r.Name {
				mine = rep.AppliedEventID
			}
			if rep.ID == leader.Name {
				theirs = rep.AppliedEventID
			}
		}
		if ok && mine == theirs {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("%s did not catch up with the feed", r.Name)
}
