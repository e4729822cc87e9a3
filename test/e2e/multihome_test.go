package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// The multihoming tests run the real binary against a lab of three sites
// with two edges each on one shared host LAN per site, real OVS with BFD
// between all six RLOCs.

const mhIID = 4100 // network blue

// broadcastOnce sends ARP and ICMP broadcasts from each sender and checks
// that every other blue host got exactly one copy of each, the sender
// none of its own (no loop), and no red host any.
func broadcastOnce(t *testing.T, e *Env, senders []lab.Host, round int) {
	t.Helper()
	c := startCounters(t, e.Topo.Hosts)
	want := map[string][]string{} // sender -> keys
	for i, s := range senders {
		first := fmt.Sprintf("198.51.100.%d", 150+20*i)
		Exec(t, s, hostctl(t), "arpsweep", "-ip", s.IPv4.Addr().String(), "-first", first, "-count", "10")
		// Nobody answers a broadcast echo (icmp_echo_ignore_broadcasts): ping fails.
		_ = hostCmd(context.Background(), s, "ping", "-b", "-c", "5", "-i", "0.05", "-W", "1", "198.51.100.255").Run()
		for k := range 10 {
			want[s.Name] = append(want[s.Name], fmt.Sprintf("arp %s 198.51.100.%d", s.MAC, 150+20*i+k))
		}
		for seq := 1; seq <= 5; seq++ {
			want[s.Name] = append(want[s.Name], fmt.Sprintf("icmp %s", s.IPv4.Addr())) // id and seq checked below
		}
	}
	time.Sleep(500 * time.Millisecond)
	got := c.stop()
	for _, h := range e.Topo.Hosts {
		for _, s := range senders {
			copies := map[string]int{}
			icmp := map[int]int{} // seq -> copies
			for k, n := range got[h.Name] {
				if strings.HasPrefix(k, fmt.Sprintf("icmp %s ", s.IPv4.Addr())) {
					var id, seq int
					fmt.Sscanf(strings.TrimPrefix(k, fmt.Sprintf("icmp %s ", s.IPv4.Addr())), "%d %d", &id, &seq)
					icmp[seq] += n
					continue
				}
				copies[k] = n
			}
			self, blue := h.Name == s.Name, h.Network == s.Network
			for _, k := range want[s.Name] {
				if strings.HasPrefix(k, "icmp") {
					continue
				}
				switch n := copies[k]; {
				case self && n != 0:
					t.Errorf("round %d: %s got %d copies of its own %q: a loop", round, h.Name, n, k)
				case !self && blue && n != 1:
					t.Errorf("round %d: %s got %d copies of %s's %q, want 1", round, h.Name, n, s.Name, k)
				case !blue && n != 0:
					t.Errorf("round %d: %s (%s) got %s's %q", round, h.Name, h.Network, s.Name, k)
				}
			}
			for seq := 1; seq <= 5; seq++ {
				n := icmp[seq]
				if (self || !blue) && n != 0 || !self && blue && n != 1 {
					t.Errorf("round %d: %s got %d copies of %s's ICMP broadcast seq %d", round, h.Name, n, s.Name, seq)
				}
			}
		}
	}
}

// TestMultihomeBroadcast: every host gets exactly one copy of each
// broadcast, whether it comes from a multihomed site's LAN or from the
// WAN, and no broadcast loops back to its sender.
func TestMultihomeBroadcast(t *testing.T) {
	e := startMultihomed(t)
	for _, site := range []string{"dc1", "dc2", "dc3"} {
		t.Logf("%s: designated forwarder of %d is %s", site, mhIID, e.designatedForwarder(site, mhIID))
	}
	senders := []lab.Host{e.Host("blue", 1, 1), e.Host("blue", 2, 2)}
	broadcastOnce(t, e, senders, 1)
	// The LAN has learned the hosts by now: again, with learned state.
	broadcastOnce(t, e, senders, 2)
}

// lanEdge is the edge of site n whose uplink the site LAN reaches mac
// through: the one that delivered mac's frames last.
func (e *Env) lanEdge(n int, network, mac string) lab.DC {
	e.t.Helper()
	l := e.Topo.LANOf(fmt.Sprintf("dc%d", n))
	out, err := exec.Command("bridge", "-n", l.Netns, "fdb", "show", "br", "br-"+network).CombinedOutput()
	if err != nil {
		e.t.Fatalf("bridge fdb: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == mac && f[1] == "dev" {
			for _, u := range l.Uplinks {
				if u.Port == f[2] {
					return e.edge(u.XTR)
				}
			}
		}
	}
	e.t.Fatalf("the LAN of dc%d has not learned %s:\n%s", n, mac, out)
	return lab.DC{}
}

// warm pings both ways so the hosts and the LANs know each other.
func warm(t testing.TB, a, b lab.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range [][2]lab.Host{{a, b}, {b, a}} {
		if _, got, err := lab.Ping(ctx, p[0], p[1].IPv4.Addr(), 20, 20*time.Millisecond); err != nil || got < 15 {
			t.Fatalf("warm-up ping %s -> %s: %d replies, %v", p[0].Name, p[1].Name, got, err)
		}
	}
}

// TestMultihomeEdgeFailure kills the ovs-vswitchd of the edge of dc1 that
// carries a 10 ms ping between dc1 and dc2 (and is, or is made, the DF of
// blue): the ping comes back within a generous bound in both directions,
// the other edge becomes DF, the dead RLOC is marked down, and broadcasts
// still arrive exactly once.
func TestMultihomeEdgeFailure(t *testing.T) {
	e := startMultihomed(t)
	local, remote := e.Host("blue", 1, 1), e.Host("blue", 2, 1)
	warm(t, local, remote)
	victim := e.lanEdge(1, "blue", remote.MAC)
	df := e.designatedForwarder("dc1", mhIID)
	t.Logf("dc1's LAN reaches %s through %s; DF of %d is %s", remote.Name, victim.XTR, mhIID, df)
	out := startPing(t, local, remote.IPv4.Addr(), 500, 10*time.Millisecond)
	in := startPing(t, remote, local.IPv4.Addr(), 500, 10*time.Millisecond)
	time.Sleep(1500 * time.Millisecond)
	killVswitchd(t, victim)
	ro, ri := out.wait(), in.wait()
	t.Logf("%s -> %s: %v", local.Name, remote.Name, ro)
	t.Logf("%s -> %s: %v", remote.Name, local.Name, ri)
	for _, r := range []pingResult{ro, ri} {
		// Generous: BFD detects in 150 ms; anything under 3 s means the
		// data plane and controller failed over, not a slow recovery.
		if r.Outage > 3*time.Second || r.Lost > 300 {
			t.Errorf("outage %v, %d lost: want well under 3 s", r.Outage, r.Lost)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var dead mhXTR
		for _, x := range e.mhXTRs() {
			if x.Name == victim.XTR {
				dead = x
			}
		}
		now := e.designatedForwarder("dc1", mhIID)
		if now != victim.XTR && !dead.Locator.Up {
			t.Logf("DF of %d is now %s; %s is down", mhIID, now, victim.XTR)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DF %s, %s up=%v: want the DF moved off the dead edge and its locator down", now, victim.XTR, dead.Locator.Up)
		}
		time.Sleep(100 * time.Millisecond)
	}
	broadcastOnce(t, e, []lab.Host{remote, e.Host("blue", 1, 2)}, 1)
}

// TestMultihomeDrain drains the edge of dc1 carrying a 10 ms ping with the
// CLI (which waits for every switch), then stops it: not one echo is lost
// in either direction, and the drained edge is no DF.
func TestMultihomeDrain(t *testing.T) {
	e := startMultihomed(t)
	local, remote := e.Host("blue", 1, 1), e.Host("blue", 2, 1)
	warm(t, local, remote)
	victim := e.lanEdge(1, "blue", remote.MAC)
	out := startPing(t, local, remote.IPv4.Addr(), 600, 10*time.Millisecond)
	in := startPing(t, remote, local.IPv4.Addr(), 600, 10*time.Millisecond)
	time.Sleep(1500 * time.Millisecond)
	res := e.cli("xtr", "drain", victim.XTR, "--wait", "30s")
	t.Logf("l2lisp xtr drain %s:\n%s", victim.XTR, res)
	if !strings.Contains(res, "converged") || strings.Contains(res, "NOT converged") {
		t.Fatalf("drain did not converge:\n%s", res)
	}
	time.Sleep(500 * time.Millisecond)
	killVswitchd(t, victim)
	ro, ri := out.wait(), in.wait()
	t.Logf("%s -> %s: %v", local.Name, remote.Name, ro)
	t.Logf("%s -> %s: %v", remote.Name, local.Name, ri)
	if ro.Lost != 0 || ri.Lost != 0 {
		t.Errorf("lost %d and %d echoes across a drain; want none", ro.Lost, ri.Lost)
	}
	if df := e.designatedForwarder("dc1", mhIID); df == victim.XTR {
		t.Errorf("the drained %s is still DF", df)
	}
}

// cli runs the l2lisp CLI against the env's controller.
func (e *Env) cli(args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.Bin, args...)
	cmd.Env = append(cmd.Environ(), "L2LISP_SERVER="+e.API, "L2LISP_TOKEN="+token, "L2LISP_CA="+e.PKI.CAFile())
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("l2lisp %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestMultihomeDataPlaneFailover freezes the controller (SIGSTOP) and cuts
// the WAN link of the dc1 edge that carries a 10 ms ping from dc2: the
// remote edges' select groups skip the dead RLOC as soon as their BFD
// sessions to it go down, and the ping recovers with no controller at
// all.
func TestMultihomeDataPlaneFailover(t *testing.T) {
	e := startMultihomed(t)
	local, remote := e.Host("blue", 1, 1), e.Host("blue", 2, 1)
	warm(t, local, remote)
	victim := e.lanEdge(1, "blue", remote.MAC)
	if err := e.ctl.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = e.ctl.Process.Signal(syscall.SIGCONT)
		}
	}
	defer resume()
	in := startPing(t, remote, local.IPv4.Addr(), 300, 10*time.Millisecond)
	time.Sleep(time.Second)
	setWAN(t, e, victim, false)
	r := in.wait()
	resume()
	t.Logf("%s -> %s, controller frozen, WAN of %s cut: %v", remote.Name, local.Name, victim.XTR, r)
	if r.Lost > 100 || r.Outage > time.Second {
		t.Errorf("outage %v (%d lost) with the controller frozen: the data plane did not skip the dead RLOC", r.Outage, r.Lost)
	}
	setWAN(t, e, victim, true)
}
