package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// TestNeighbourResponder: an IPv6 neighbour solicitation for a known host
// is answered by the solicitor's edge switch with a neighbour advertisement
// built by flows (tables 20 and 21), the host accepts it (so its ICMPv6
// checksum is right), and no NS or NA of the pair crosses the WAN.
func TestNeighbourResponder(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	e := StartEnv(t, EnvOptions{StaticHosts: false})
	req, target := e.Host("blue", 1, 1), e.Host("blue", 2, 1)
	reqIP, targetIP := req.IPv6.Addr().String(), target.IPv6.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Teach both IPv6 bindings from ND: the target's NS for the requester
	// is punted at dc2, the requester's NA at dc1. This ND crosses the WAN
	// (nothing is known yet); the capture starts later.
	for _, p := range [][2]lab.Host{{target, req}, {req, target}} {
		_, _, _ = lab.Ping(ctx, p[0], p[1].IPv6.Addr(), 2, 50*time.Millisecond)
	}
	mobWait(t, e, target.InstanceID, targetIP+"/128", "bound to "+target.MAC, func(r *mobRecord) bool {
		return r != nil && r.MAC == target.MAC && r.Site == "dc2"
	})
	mobWait(t, e, req.InstanceID, reqIP+"/128", "bound to "+req.MAC, func(r *mobRecord) bool {
		return r != nil && r.MAC == req.MAC && r.Site == "dc1"
	})
	d1 := e.Topo.DC(1)
	ns0 := ndFlowPackets(t, mobWaitFlow(t, d1, "table=20", "nd_target="+targetIP), "icmp_type=135", targetIP)
	na0 := ndFlowPackets(t, mobWaitFlow(t, d1, "table=21", "nd_target="+targetIP), "icmp_type=136", targetIP)
	mobWaitFlow(t, e.Topo.DC(2), "table=21", "nd_target="+reqIP)

	const rounds = 3
	wan, host := ndSolicit(t, ctx, req, target, rounds)
	echo, nd := ndCheckWAN(t, wan, reqIP, targetIP)
	nas, sample := ndCheckAdverts(t, host, req, target, rounds)

	ns1 := ndFlowPackets(t, mobWaitFlow(t, d1, "table=20", "nd_target="+targetIP), "icmp_type=135", targetIP)
	flows := mobWaitFlow(t, d1, "table=21", "nd_target="+targetIP)
	na1 := ndFlowPackets(t, flows, "icmp_type=136", targetIP)
	if ns1-ns0 < rounds || na1-na0 < rounds {
		t.Errorf("responder flows at dc1 hit NS %d->%d, NA %d->%d; want +%d each", ns0, ns1, na0, na1, rounds)
	}
	t.Logf("WAN: %d encapsulated ICMPv6 echo, %d ND for the pair; %d NA at %s, e.g. %q", echo, nd, nas, req.Name, sample)
	t.Logf("responder flows at %s: NS n_packets %d->%d, NA n_packets %d->%d", d1.Name, ns0, ns1, na0, na1)
	for _, table := range []string{"table=20", "table=21"} {
		out, _ := d1.OVS.Ofctl("dump-flows", "br-int", table)
		t.Logf("%s %s:\n%s", d1.Name, table, out)
	}
}

// checksumGood is Wireshark's PROTO_CHECKSUM_E_GOOD as -T fields prints it.
const checksumGood = "1"

// tsharkBool reads a boolean field: "True"/"False" or "1"/"0" by version.
func tsharkBool(s string) bool { return s == "True" || s == "1" }

var nPackets = regexp.MustCompile(`n_packets=(\d+),`)

// ndFlowPackets is n_packets of the one dumped flow with both strings.
func ndFlowPackets(t *testing.T, dump, a, b string) int {
	t.Helper()
	for _, line := range strings.Split(dump, "\n") {
		if strings.Contains(line, a) && (strings.Contains(line, "nd_target="+b+" ") || strings.Contains(line, "nd_target="+b+",")) {
			m := nPackets.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("no n_packets in %q", line)
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	t.Fatalf("no flow with %s and nd_target=%s in:\n%s", a, b, dump)
	return 0
}

// tsharkFields reads a capture as tab-separated fields.
func tsharkFields(t *testing.T, pcap, decodeAs string, fields ...string) string {
	t.Helper()
	args := []string{"-r", pcap, "-T", "fields"}
	if decodeAs != "" {
		args = append(args, "-d", decodeAs)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tshark %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// ndSolicit makes req solicit target rounds times from an empty neighbour
// cache, capturing the WAN and req's port; it returns the two pcaps.
func ndSolicit(t *testing.T, ctx context.Context, req, target lab.Host, rounds int) (wan, host string) {
	targetIP := target.IPv6.Addr().String()
	dir := t.TempDir()
	wan, host = filepath.Join(dir, "wan.pcap"), filepath.Join(dir, "host.pcap")
	wanCap := exec.CommandContext(ctx, "ip", "netns", "exec", lab.WANNetns,
		"tshark", "-i", "br-wan", "-f", "udp port 4341", "-w", wan)
	hostCap := exec.CommandContext(ctx, "ip", "netns", "exec", req.Netns,
		"tshark", "-i", "eth0", "-f", "icmp6", "-w", host)
	for _, c := range []*exec.Cmd{wanCap, hostCap} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	waitFile(wan, 10*time.Second)
	waitFile(host, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // tshark writes the header before the capture is live
	for i := range rounds {
		Exec(t, req, "ip", "-6", "neigh", "flush", "dev", "eth0")
		sent, got, err := lab.Ping(ctx, req, target.IPv6.Addr(), 2, 20*time.Millisecond)
		if err != nil || got == 0 {
			t.Errorf("round %d: ping -6 after neighbour flush: %d/%d %v", i, got, sent, err)
		}
		neigh := Exec(t, req, "ip", "-6", "neigh", "show", targetIP)
		if !strings.Contains(neigh, target.MAC) {
			t.Errorf("round %d: neighbour entry %q, want %s", i, neigh, target.MAC)
		}
	}
	time.Sleep(300 * time.Millisecond) // let the last frames reach the captures
	for _, c := range []*exec.Cmd{wanCap, hostCap} {
		_ = c.Process.Signal(syscall.SIGINT)
		_ = c.Wait()
	}

	return wan, host
}

// ndCheckWAN: the WAN carried the pair's encapsulated echo but no ND about
// either address.
func ndCheckWAN(t *testing.T, wan, reqIP, targetIP string) (echo, nd int) {
	out := tsharkFields(t, wan, "udp.port==4341,vxlan_gpe", "frame.protocols", "icmpv6.type",
		"ipv6.src", "ipv6.dst", "icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 6 || !strings.Contains(f[0], ":icmpv6") {
			continue
		}
		switch f[1] {
		case "128", "129":
			echo++
		case "135", "136":
			if strings.Contains(line, targetIP) || strings.Contains(line, reqIP) {
				nd++
				t.Errorf("ND crossed the WAN: %s", line)
			}
		}
	}
	if echo == 0 {
		t.Fatalf("the WAN capture saw no encapsulated ICMPv6 echo, so it proves nothing:\n%s", out)
	}

	return echo, nd
}

// ndCheckAdverts: every NA for the target at the requester's port is the
// switch's answer, with a checksum the host (and tshark) accept, sent to
// the source of an NS for the target. That source is the requester's
// global address for a solicitation the ping caused, its link-local one
// for a reachability probe of a stale entry (the kernel sends those when
// the learning pings are over five seconds old).
func ndCheckAdverts(t *testing.T, host string, req, target lab.Host, rounds int) (nas int, sample string) {
	targetIP := target.IPv6.Addr().String()
	out := tsharkFields(t, host, "", "icmpv6.type", "ipv6.src", "ipv6.dst", "icmpv6.nd.na.target_address",
		"icmpv6.nd.na.flag.r", "icmpv6.nd.na.flag.s", "icmpv6.nd.na.flag.o", "icmpv6.opt.linkaddr",
		"icmpv6.checksum.status", "eth.src", "icmpv6.nd.ns.target_address")
	var lines [][]string
	solicitors := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 10 { // the output's last line lost its empty last field to TrimSpace
			f = append(f, "")
		}
		if len(f) < 11 {
			continue
		}
		lines = append(lines, f)
		if f[0] == "135" && f[10] == targetIP {
			solicitors[f[1]] = true
		}
	}
	for _, f := range lines {
		if f[0] != "136" || f[3] != targetIP {
			continue
		}
		nas++
		sample = strings.Join(f, "\t")
		if f[1] != targetIP || !solicitors[f[2]] || tsharkBool(f[4]) || !tsharkBool(f[5]) || !tsharkBool(f[6]) ||
			f[7] != target.MAC || f[8] != checksumGood || f[9] != target.MAC {
			t.Errorf("NA at the requester: %q; want from %s to a solicitor of it (%v), flags S|O, TLL %s, checksum good (1)",
				sample, targetIP, solicitors, target.MAC)
		}
	}
	if !solicitors[req.IPv6.Addr().String()] {
		t.Errorf("no NS for %s from %s at the requester's port:\n%s", targetIP, req.IPv6.Addr(), out)
	}
	if nas < rounds {
		t.Errorf("%d NA for %s at the requester, want >= %d:\n%s", nas, targetIP, rounds, out)
	}

	return nas, sample
}
