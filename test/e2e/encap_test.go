package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/test/lab"
)

// TestEncapsulations runs blue on LISP-GPE and red on VXLAN in one lab:
// the bridges hold a tunnel port per encapsulation, the WAN carries each
// network in its own encapsulation byte for byte, every host pair answers
// over both families, TCP crosses, and switching one network's
// encapsulation at run time leaves the other forwarding and its flows
// untouched, after which the switched network forwards again.
func TestEncapsulations(t *testing.T) {
	nets, err := lab.WithEncapsulations(lab.DefaultNetworks, "blue=lisp-gpe,red=vxlan")
	if err != nil {
		t.Fatal(err)
	}
	// BFD at a relaxed 300 ms: re-creating a tunnel port stalls the
	// userspace datapath of a loaded 2-core machine long enough for 50 ms
	// sessions to flap, and the flap (a peer judged down, then up) would
	// re-add the other network's flows this test checks stay untouched.
	// The multihome tests exercise the 50 ms default.
	e := StartEnv(t, EnvOptions{StaticHosts: true, Networks: nets,
		ServeFlags: []string{"--bfd-min-rx", "300", "--bfd-min-tx", "300"}})
	warmUp(t, e)
	t.Run("a tunnel port per encapsulation", func(t *testing.T) { checkTunnelPorts(t, e, "lisp0", "vxlan0") })
	t.Run("every pair answers, each network in its encapsulation on the WAN", func(t *testing.T) {
		pingCheckWire(t, e, map[string]string{"blue": "lisp-gpe", "red": "vxlan"}, true)
	})
	t.Run("TCP across each encapsulation", func(t *testing.T) {
		for _, n := range []string{"blue", "red"} {
			bytes, bps := iperfTCP(t, e.Host(n, 1, 1), e.Host(n, 3, 2))
			t.Logf("%s (%s): iperf3 dc3 -> dc1 moved %d bytes in 2 s, %.0f Mbit/s", n, encapOf(e, n), bytes, bps/1e6)
		}
	})
	t.Run("red to LISP-GPE while blue forwards", func(t *testing.T) {
		switchEncap(t, e, "red", "lisp-gpe", "blue")
		checkTunnelPorts(t, e, "lisp0")
	})
	t.Run("blue to VXLAN while red forwards", func(t *testing.T) {
		switchEncap(t, e, "blue", "vxlan", "red")
		checkTunnelPorts(t, e, "lisp0", "vxlan0")
	})
	t.Run("the WAN follows the switch", func(t *testing.T) {
		pingCheckWire(t, e, map[string]string{"blue": "vxlan", "red": "lisp-gpe"}, false)
	})
}

func encapOf(e *Env, network string) string {
	for _, n := range e.Topo.Networks {
		if n.Name == network {
			return n.Encapsulation
		}
	}
	return ""
}

func iidOf(e *Env, network string) uint32 {
	for _, n := range e.Topo.Networks {
		if n.Name == network {
			return n.InstanceID
		}
	}
	e.t.Fatalf("no network %s", network)
	return 0
}

// checkTunnelPorts waits until every DC's br-int holds exactly the named
// tunnel ports, configured as their encapsulation wants.
func checkTunnelPorts(t *testing.T, e *Env, names ...string) {
	t.Helper()
	want := map[string]string{
		"lisp0":  fmt.Sprintf(`ofport=%d type=vxlan options={dst_port="4341", exts=gpe, key=flow, local_ip="%%s", packet_type=legacy_l2, remote_ip=flow} error=[]`, pipeline.TunnelOFPort),
		"vxlan0": fmt.Sprintf(`ofport=%d type=vxlan options={dst_port="4789", key=flow, local_ip="%%s", remote_ip=flow} error=[]`, pipeline.VXLANOFPort),
	}
	for _, d := range e.Topo.DCs {
		var last string
		deadline := time.Now().Add(30 * time.Second)
		for {
			last = tunnelState(d)
			exp := []string{`bfd dst_port="4341" exts=gpe key="16777215"`}
			for _, n := range names {
				exp = append(exp, n+" "+fmt.Sprintf(want[n], d.RLOC))
			}
			if last == strings.Join(exp, "\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s tunnel ports:\n%s\nwant:\n%s", d.Name, last, strings.Join(exp, "\n"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("%s: %s", d.Name, strings.ReplaceAll(last, "\n", "; "))
	}
}

// bfdRide is the part of a BFD port's options that says which tunnel it
// rides on.
func bfdRide(opts string) string {
	var keep []string
	for _, kv := range strings.Split(strings.Trim(opts, "{}"), ", ") {
		if k, _, _ := strings.Cut(kv, "="); k == "dst_port" || k == "exts" || k == "key" {
			keep = append(keep, kv)
		}
	}
	return strings.Join(keep, " ")
}

// tunnelState lists the tunnel ports of a DC's br-int with what matters.
func tunnelState(d lab.DC) string {
	ports, err := d.OVS.Vsctl("list-ports", "br-int")
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, p := range strings.Fields(ports) {
		typ, _ := d.OVS.Vsctl("get", "Interface", p, "type")
		if typ != "vxlan" {
			continue
		}
		if strings.HasPrefix(p, "l2bfd") {
			// BFD rides LISP-GPE whatever the networks use: one line
			// for them all, so the want does not depend on port numbers.
			opts, _ := d.OVS.Vsctl("get", "Interface", p, "options")
			if bfd := "bfd " + bfdRide(opts); !slices.Contains(out, bfd) {
				out = append(out, bfd)
			}
			continue
		}
		var cols []string
		for _, c := range []string{"ofport", "type", "options", "error"} {
			v, _ := d.OVS.Vsctl("get", "Interface", p, c)
			cols = append(cols, c+"="+v)
		}
		out = append(out, p+" "+strings.Join(cols, " "))
	}
	return strings.Join(out, "\n")
}

// pingCheckWire pings while capturing the WAN, then checks every captured
// packet's tunnel header and inner frame (checkWire) and what tshark makes
// of them. With all, every host pair pings over both families, each ping
// answered; otherwise one pair per DC pair and network.
func pingCheckWire(t *testing.T, e *Env, want map[string]string, all bool) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	capture := startWANCapture(t, ctx)
	if all {
		for _, n := range []string{"blue", "red"} {
			pingPairs(t, e, n, e.Topo.HostsIn(n, 0))
		}
	} else {
		for _, n := range []string{"blue", "red"} {
			pingPairs(t, e, n, []lab.Host{e.Host(n, 1, 1), e.Host(n, 2, 1), e.Host(n, 3, 1)})
		}
	}
	pcap := capture.stop()
	tally := checkWire(t, e.Topo, pcap, want)
	for name, encap := range want {
		port := udpLISPData
		if encap == "vxlan" {
			port = udpVXLAN
		}
		key := fmt.Sprintf("%d/%d", port, iidOf(e, name))
		if tally.packets[key] == 0 || tally.echo[key+"/v4"] == 0 || tally.echo[key+"/v6"] == 0 {
			t.Errorf("%s on %s: %d packets, %d v4 and %d v6 echoes checked end to end", name, encap,
				tally.packets[key], tally.echo[key+"/v4"], tally.echo[key+"/v6"])
		}
		t.Logf("%s (%s): %d packets on UDP %d checked byte by byte (%d v4, %d v6 echoes end to end); first: %s",
			name, encap, tally.packets[key], port, tally.echo[key+"/v4"], tally.echo[key+"/v6"], tally.first[key])
	}
	for stack, n := range tsharkSummary(t, pcap) {
		t.Logf("tshark %dx %s", n, stack)
	}
}

// pingPairs pings from every host to every other of the list, over IPv4
// and IPv6, and wants every echo answered.
func pingPairs(t *testing.T, e *Env, network string, hosts []lab.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sent, got := 0, 0
	for _, a := range hosts {
		for _, b := range hosts {
			if a.Name == b.Name {
				continue
			}
			for _, to := range []netip.Addr{b.IPv4.Addr(), b.IPv6.Addr()} {
				s, g, err := pingAnswered(ctx, a, to, 2)
				sent, got = sent+s, got+g
				if err != nil || g != s {
					t.Errorf("%s: %s -> %s (%s): %d of %d answered, %v", network, a.Name, b.Name, to, g, s, err)
				}
			}
		}
	}
	t.Logf("%s (%s): %d of %d echoes answered between %d hosts", network, encapOf(e, network), got, sent, len(hosts))
	if got != sent {
		for _, d := range e.Topo.DCs {
			neigh, _ := d.OVS.Appctl("tnl/neigh/show")
			t.Logf("%s tnl/neigh/show:\n%s", d.Name, neigh)
			log, _ := d.OVS.Run("tail", "-n", "30", d.OVS.Dir+"/ovs-vswitchd.log")
			t.Logf("%s ovs-vswitchd.log:\n%s", d.Name, log)
		}
		t.Logf("controller log:\n%s", tail(e.Log(), 60))
	}
}

// pingAnswered sends count echoes, one ping run each, and counts the
// answers that came within 5 s. One echo per run because ping, once an
// answer came, waits for the last one only twice the largest round trip
// seen (a late answer, after an upcall on a busy machine, would count as
// lost), and with -w it sends more echoes than asked until it has count
// answers (which hides a loss).
func pingAnswered(ctx context.Context, from lab.Host, to netip.Addr, count int) (sent, got int, err error) {
	fam := "-4"
	if to.Is6() {
		fam = "-6"
	}
	for range count {
		out, _ := from.Exec(ctx, "ping", "-n", fam, "-c", "1", "-W", "5", to.String())
		m := lossRE.FindStringSubmatch(string(out))
		if m == nil {
			return sent, got, fmt.Errorf("no ping summary: %s", out)
		}
		s, _ := strconv.Atoi(m[1])
		g, _ := strconv.Atoi(m[2])
		sent, got = sent+s, got+g
	}
	return sent, got, nil
}

// switchEncap changes network's encapsulation through the API while other
// is pinged every 10 ms over both families: other loses nothing and its
// flows and groups stay exactly as they were (never re-added), and network
// forwards again soon after.
func switchEncap(t *testing.T, e *Env, network, encap, other string) {
	before := netFlows(t, e, iidOf(e, other))
	v4 := pingLoss(t, e.Host(other, 1, 1), e.Host(other, 2, 1).IPv4.Addr(), 8*time.Second)
	v6 := pingLoss(t, e.Host(other, 3, 1), e.Host(other, 1, 2).IPv6.Addr(), 8*time.Second)
	// The switched network is pinged too: what it loses, at one echo per
	// 10 ms, is its outage.
	own := pingLoss(t, e.Host(network, 2, 2), e.Host(network, 3, 2).IPv4.Addr(), 8*time.Second)
	time.Sleep(time.Second)
	start := time.Now()
	status, body := e.Do("PATCH", fmt.Sprintf("/api/v1/networks/%d", iidOf(e, network)), map[string]string{"encapsulation": encap})
	var n struct {
		Encapsulation string `json:"encapsulation"`
	}
	if status != 200 || json.Unmarshal(body, &n) != nil || n.Encapsulation != encap {
		t.Fatalf("PATCH %s to %s: %d %s", network, encap, status, body)
	}
	for i := range e.Topo.Networks {
		if e.Topo.Networks[i].Name == network {
			e.Topo.Networks[i].Encapsulation = encap
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	from, to := e.Host(network, 1, 1), e.Host(network, 2, 1)
	for {
		if _, got, _ := lab.Ping(ctx, from, to.IPv4.Addr(), 1, 0); got == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%s does not forward after switching to %s:\n%s", network, encap, tail(e.Log(), 40))
		}
	}
	t.Logf("%s forwards again %v after the PATCH to %s", network, time.Since(start).Round(time.Millisecond), encap)
	for fam, done := range map[string]func() (int, int){"IPv4": v4, "IPv6": v6} {
		sent, got := done()
		t.Logf("%s %s pinged every 10 ms across the switch: %d sent, %d received", other, fam, sent, got)
		if got != sent || sent == 0 {
			t.Errorf("%s lost %d of %d %s pings while %s switched", other, sent-got, sent, fam, network)
		}
	}
	sent, got := own()
	t.Logf("%s itself, pinged every 10 ms across its switch to %s: %d sent, %d received (outage about %d ms)",
		network, encap, sent, got, (sent-got)*10)
	after := netFlows(t, e, iidOf(e, other))
	compareFlows(t, other, before, after)
	pingPairs(t, e, network, e.Topo.HostsIn(network, 0))
}

// flowEntry is one flow of a dump: its text without counters, and age.
type flowEntry struct {
	text     string
	duration float64
}

var (
	counterRE  = regexp.MustCompile(`(duration=[0-9.]+s|n_packets=\d+|n_bytes=\d+|idle_age=\d+|hard_age=\d+), `)
	durationRE = regexp.MustCompile(`duration=([0-9.]+)s`)
	metaRE     = regexp.MustCompile(`metadata=0x([0-9a-f]+)`)
	tunIDRE    = regexp.MustCompile(`tun_id=0x([0-9a-f]+)`)
)

// netFlows dumps, per DC, the flows whose match names iid (metadata or
// tun_id) and the flood groups of iid.
func netFlows(t *testing.T, e *Env, iid uint32) map[string][]flowEntry {
	t.Helper()
	out := map[string][]flowEntry{}
	for _, d := range e.Topo.DCs {
		dump, err := d.OVS.Ofctl("dump-flows", "br-int")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(dump, "\n") {
			match, _, _ := strings.Cut(line, " actions=")
			if !namesIID(match, iid) {
				continue
			}
			var f flowEntry
			if m := durationRE.FindStringSubmatch(line); m != nil {
				f.duration, _ = strconv.ParseFloat(m[1], 64)
			}
			f.text = counterRE.ReplaceAllString(strings.TrimSpace(line), "")
			out[d.Name] = append(out[d.Name], f)
		}
		groups, err := d.OVS.Ofctl("dump-groups", "br-int")
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []uint32{pipeline.GroupKindFlood, pipeline.GroupKindFloodLocal} {
			id := fmt.Sprintf("group_id=%d,", pipeline.FloodGroupID(iid, kind))
			for _, line := range strings.Split(groups, "\n") {
				if strings.Contains(line, id) {
					out[d.Name] = append(out[d.Name], flowEntry{text: strings.TrimSpace(line), duration: -1})
				}
			}
		}
	}
	return out
}

func namesIID(match string, iid uint32) bool {
	for _, re := range []*regexp.Regexp{metaRE, tunIDRE} {
		if m := re.FindStringSubmatch(match); m != nil {
			v, _ := strconv.ParseUint(m[1], 16, 64)
			if uint32(v&pipeline.MetaIIDMask) == iid {
				return true
			}
		}
	}
	return false
}

// compareFlows wants the same flows and groups before and after, none of
// them younger than before (a re-added flow starts its duration again).
func compareFlows(t *testing.T, network string, before, after map[string][]flowEntry) {
	t.Helper()
	for dc, fs := range before {
		byText := map[string]flowEntry{}
		for _, f := range after[dc] {
			byText[f.text] = f
		}
		if len(fs) == 0 || len(after[dc]) != len(fs) {
			t.Errorf("%s: %s had %d flows and groups, now %d", dc, network, len(fs), len(after[dc]))
		}
		for _, f := range fs {
			a, ok := byText[f.text]
			switch {
			case !ok:
				t.Errorf("%s: %s's %q changed or went", dc, network, f.text)
			case a.duration < f.duration:
				t.Errorf("%s: %s's flow was re-added (duration %.3fs, was %.3fs): %s", dc, network, a.duration, f.duration, f.text)
			}
		}
		t.Logf("%s: %d flows and groups of %s unchanged, none re-added", dc, len(fs), network)
	}
}
