package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/test/lab"
)

// onDemandIdle is the map-cache idle timeout of the on-demand lab: long
// enough that a subtest's pauses keep its entries, short enough to watch
// them go.
const onDemandIdle = 20 * time.Second

// TestOnDemandLab runs the checks a push network passes (TestDataPlane,
// TestLearnMobility) on a lab whose two networks forward on demand, hosts
// learned from their traffic, and then checks that a switch holds the
// remote hosts its local hosts talk to and nothing else: an entry appears
// on traffic and goes after its idle timeout.
func TestOnDemandLab(t *testing.T) {
	nets := []lab.Network{
		{Name: "blue", InstanceID: 4100, ForwardingMode: "on-demand"},
		{Name: "red", InstanceID: 4200, ForwardingMode: "on-demand"},
	}
	e := StartEnv(t, EnvOptions{Networks: nets, ServeFlags: []string{"--map-cache-idle", onDemandIdle.String()}})
	if n := mapCacheMACs(t, e.Topo.DC(1)); len(n) != 0 {
		t.Errorf("dc1 holds remote hosts before any traffic: %v", n)
	}
	t.Run("Learn hosts from traffic", func(t *testing.T) { learnHosts(t, e) })
	t.Run("every pair pings over IPv4 and IPv6", func(t *testing.T) { pingAllPairs(t, e) })
	t.Run("TCP transfer across", func(t *testing.T) { tcpTransfer(t, e) })
	t.Run("networks stay apart", func(t *testing.T) { isolation(t, e) })
	t.Run("ARP answered at the edge", func(t *testing.T) {
		// The answer for a remote host is installed with its entry: a
		// ping first makes the requester's switch hold the target.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _, _ = lab.Ping(ctx, e.Host("blue", 3, 1), e.Host("blue", 1, 1).IPv4.Addr(), 2, 50*time.Millisecond)
		arpSuppression(t, e)
	})
	t.Run("Mobility keeps TCP", func(t *testing.T) { moveWithTCP(t, e) })
	t.Run("flows follow the working set", func(t *testing.T) { workingSet(t, e) })
}

// workingSet waits until every switch's map-cache is empty, makes one pair
// of hosts talk, and expects exactly the pair's two switches to install
// the other host, each with idle timeout and flow-removed flag, and then
// to drop it once the pair is silent.
func workingSet(t *testing.T, e *Env) {
	for i := range e.Topo.DCs {
		waitMapCache(t, e, &e.Topo.DCs[i], onDemandIdle+time.Minute, func(m []string) bool { return len(m) == 0 })
	}
	pushLike := 0 // what a push network would install: every remote host
	for _, h := range e.Topo.Hosts {
		if h.DC != 1 {
			pushLike++
		}
	}
	flowsIdle := switchFlows(t, e.Topo.DC(1))
	a, b := e.Host("red", 1, 2), e.Host("red", 2, 2) // hosts no earlier subtest moved
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if sent, got, err := lab.Ping(ctx, a, b.IPv4.Addr(), 5, 20*time.Millisecond); err != nil || got == 0 {
		t.Fatalf("%s -> %s: %d/%d %v", a.Name, b.Name, got, sent, err)
	}
	d1, d2, d3 := e.Topo.DC(1), e.Topo.DC(2), e.Topo.DC(3)
	waitMapCache(t, e, d1, 10*time.Second, func(m []string) bool { return slices.Equal(m, []string{b.MAC}) })
	waitMapCache(t, e, d2, 10*time.Second, func(m []string) bool { return slices.Equal(m, []string{a.MAC}) })
	if m := mapCacheMACs(t, d3); len(m) != 0 {
		t.Errorf("dc3 installed %v although none of its hosts took part", m)
	}
	dump, _ := d1.OVS.Ofctl("dump-flows", "br-int", cookieFilter())
	if !strings.Contains(dump, "idle_timeout="+fmt.Sprint(int(onDemandIdle.Seconds()))) || !strings.Contains(dump, "send_flow_rem") {
		t.Errorf("entry without idle timeout or flow-removed flag:\n%s", dump)
	}
	flowsBusy := switchFlows(t, d1)
	t.Logf("dc1 flows: %d idle, %d with one remote host in use (a push network would hold all %d remote hosts)",
		flowsIdle, flowsBusy, pushLike)
	t.Logf("dc1 entry: %s", strings.TrimSpace(lastLine(dump)))
	silent := time.Now()
	waitMapCache(t, e, d1, onDemandIdle+30*time.Second, func(m []string) bool { return len(m) == 0 })
	waitMapCache(t, e, d2, 10*time.Second, func(m []string) bool { return len(m) == 0 })
	t.Logf("dc1 and dc2 dropped the entries %v after the last ping (idle timeout %v); dc1 back to %d flows",
		time.Since(silent).Round(100*time.Millisecond), onDemandIdle, switchFlows(t, d1))
}

// cookieFilter selects the map-cache entries in ovs-ofctl dump-flows.
func cookieFilter() string {
	return fmt.Sprintf("cookie=%#x/%#x", openflow.StageCookie(pipeline.StageMapCache), openflow.CookieOwnerMask|0xff<<40)
}

var dlDstRE = regexp.MustCompile(`dl_dst=([0-9a-f:]{17})`)

// mapCacheMACs lists the remote MACs a DC's switch holds as map-cache
// entries, sorted and without repeats.
func mapCacheMACs(t *testing.T, d *lab.DC) []string {
	t.Helper()
	out, err := d.OVS.Ofctl("dump-flows", "br-int", cookieFilter())
	if err != nil {
		t.Fatalf("%s dump-flows: %v: %s", d.Name, err, out)
	}
	var macs []string
	for _, m := range dlDstRE.FindAllStringSubmatch(out, -1) {
		macs = append(macs, m[1])
	}
	slices.Sort(macs)
	return slices.Compact(macs)
}

// switchFlows counts every flow on a DC's switch.
func switchFlows(t *testing.T, d *lab.DC) int {
	t.Helper()
	out, err := d.OVS.Ofctl("dump-flows", "br-int")
	if err != nil {
		t.Fatalf("%s dump-flows: %v: %s", d.Name, err, out)
	}
	return strings.Count(out, "cookie=")
}

// waitMapCache waits until the switch's entries satisfy ok and then checks
// the controller reports as many for its xTR.
func waitMapCache(t *testing.T, e *Env, d *lab.DC, limit time.Duration, ok func([]string) bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var m []string
	for m = mapCacheMACs(t, d); !ok(m); m = mapCacheMACs(t, d) {
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %v after %v", d.Name, m, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for deadline = time.Now().Add(10 * time.Second); ; {
		n := -1
		for _, x := range e.XTRs() {
			if x.Name == d.XTR {
				n = x.Status.MapCache
			}
		}
		if n == len(m) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s holds %d entries, the controller reports %d", d.Name, len(m), n)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
