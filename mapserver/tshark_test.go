package mapserver

import (
	"bufio"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

var liveFields = []string{"udp.srcport", "udp.dstport", "lisp.type", "lisp.nonce", "lisp.records", "lisp.keyid",
	"lisp.lcaf.iid", "lisp.lcaf.iid.ipv4", "lisp.lcaf.iid.mac", "lisp.mapping.act", "lisp.loc.locator",
	"_ws.expert", "_ws.malformed"}

// liveWant is what one captured packet must show.
type liveWant struct {
	toServer bool
	fields   map[string]string
}

// TestTsharkLive captures what the real server exchanges with the lig and
// register clients on loopback and has tshark decode it independently.
func TestTsharkLive(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	ctl := newController(t)
	s := startServer(t, ctl, Config{})
	port := strconv.Itoa(int(s.Addr().Port()))
	file := filepath.Join(t.TempDir(), "live.pcap")
	cap := startCapture(t, port, file)
	ctx := testCtx(t)

	want := map[string][]liveWant{} // by nonce
	nonceKey := func(n uint64) string { return fmt.Sprintf("0x%016x", n) }
	for i, c := range []struct {
		alg   packet.AuthAlg
		key   string
		eid   string
		rlocs []netip.Addr
	}{{packet.AuthHMACSHA1, keyDC1, "10.1.0.0/24", []netip.Addr{rloc1, rloc2}},
		{packet.AuthHMACSHA256, keyDC2, "10.2.0.0/24", []netip.Addr{rloc9}}} {
		opt := regOpt(s, c.key, c.eid, c.rlocs...)
		opt.Alg, opt.Nonce = c.alg, 0x1000+uint64(i)
		if _, err := client.Register(ctx, opt); err != nil {
			t.Fatal(err)
		}
		var locs []string
		for _, a := range c.rlocs {
			locs = append(locs, a.String())
		}
		f := map[string]string{"lisp.records": "1", "lisp.keyid": fmt.Sprintf("0x%04x", int(c.alg)),
			"lisp.lcaf.iid": "1000", "lisp.lcaf.iid.ipv4": strings.TrimSuffix(c.eid, "/24"),
			"lisp.loc.locator": strings.Join(locs, ",")}
		reg, notify := clone(f), clone(f)
		reg["lisp.type"], notify["lisp.type"] = "3", "4"
		want[nonceKey(opt.Nonce)] = []liveWant{{true, reg}, {false, notify}}
	}
	for _, c := range []struct {
		eid, answer, act, locs string
		ecm                    bool
	}{
		{"10.1.0.7", "10.1.0.0", "0", "192.0.2.1,192.0.2.2", false},
		{"10.2.0.9", "10.2.0.0", "0", "198.51.100.9", true},
		{"10.9.9.9", "10.8.0.0", "1", "", false},
		{"02:00:00:00:00:0a", "", "1", "", true},
	} {
		res, err := client.Lig(ctx, client.LigOptions{MR: s.Addr().String(), IID: iidA, EID: c.eid, ECM: c.ecm})
		if err != nil {
			t.Fatal(err)
		}
		req := map[string]string{"lisp.type": "1", "lisp.records": "1", "lisp.lcaf.iid": "1000"}
		if c.ecm {
			req["lisp.type"] = "8,1"
		}
		reply := map[string]string{"lisp.type": "2", "lisp.records": "1", "lisp.lcaf.iid": "1000",
			"lisp.mapping.act": c.act, "lisp.loc.locator": c.locs}
		if c.answer != "" {
			req["lisp.lcaf.iid.ipv4"], reply["lisp.lcaf.iid.ipv4"] = c.eid, c.answer
		} else {
			req["lisp.lcaf.iid.mac"], reply["lisp.lcaf.iid.mac"] = c.eid, c.eid
		}
		want[nonceKey(res.Nonce)] = []liveWant{{true, req}, {false, reply}}
	}
	cap.stop(t, 2*len(want))
	checkLive(t, file, port, want)
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// capture is a running tshark writing a pcap file.
type capture struct {
	cmd   *exec.Cmd
	lines chan string
	probe func()
}

// startCapture starts tshark and returns once it has seen a probe
// datagram, so nothing sent afterwards can be missed.
func startCapture(t *testing.T, port, file string) *capture {
	t.Helper()
	cmd := exec.Command("tshark", "-i", "lo", "-f", "udp port "+port, "-w", file, "-P", "-l")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &capture{cmd: cmd, lines: make(chan string, 1024)}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	probe := listenUDPTest(t, "127.0.0.1:0")
	to := netip.MustParseAddrPort("127.0.0.1:" + port)
	// A Map-Reply is dropped by the server without an answer: a harmless
	// marker that tshark decodes cleanly.
	marker, _ := (&packet.MapReply{Nonce: 0xabad1dea}).Marshal()
	c.probe = func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			_, _ = probe.WriteToUDPAddrPort(marker, to)
			select {
			case _, ok := <-c.lines:
				if !ok {
					t.Fatal("tshark exited")
				}
				for len(c.lines) > 0 {
					<-c.lines
				}
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		t.Fatal("tshark never showed the probe")
	}
	c.probe()
	return c
}

// stop waits until tshark has printed n more packets (it prints a packet
// only once it has read it back from the file, so they are all on disk),
// then stops it.
func (c *capture) stop(t *testing.T, n int) {
	deadline := time.After(30 * time.Second)
	for seen := 0; seen < n; {
		select {
		case _, ok := <-c.lines:
			if !ok {
				t.Fatal("tshark exited early")
			}
			seen++
		case <-deadline:
			t.Fatalf("tshark showed %d of %d packets", seen, n)
		}
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	_ = c.cmd.Wait()
}

func checkLive(t *testing.T, file, port string, want map[string][]liveWant) {
	args := []string{"-r", file, "-d", "udp.port==" + port + ",lisp", "-T", "fields", "-E", "separator=;", "-E", "aggregator=,"}
	for _, f := range liveFields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	got := map[string][]map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		vals := strings.Split(line, ";")
		if len(vals) != len(liveFields) {
			t.Fatalf("tshark row %q", line)
		}
		row := map[string]string{}
		for i, f := range liveFields {
			row[f] = vals[i]
		}
		if row["_ws.expert"] != "" || row["_ws.malformed"] != "" {
			t.Errorf("tshark flags a packet: %v", row)
		}
		got[row["lisp.nonce"]] = append(got[row["lisp.nonce"]], row)
	}
	for nonce, ws := range want {
		rows := got[nonce]
		if len(rows) != len(ws) {
			t.Errorf("nonce %s: captured %d packets, want %d", nonce, len(rows), len(ws))
			continue
		}
		for i, w := range ws {
			dir := "udp.srcport"
			if w.toServer {
				dir = "udp.dstport"
			}
			// An ECM carries a second UDP header; the outer one comes first.
			if p, _, _ := strings.Cut(rows[i][dir], ","); p != port {
				t.Errorf("nonce %s packet %d: %s = %s, want %s", nonce, i, dir, rows[i][dir], port)
			}
			for f, v := range w.fields {
				if rows[i][f] != v {
					t.Errorf("nonce %s packet %d (%s): %s = %q, want %q", nonce, i, rows[i]["lisp.type"], f, rows[i][f], v)
				}
			}
		}
	}
	summary, err := exec.Command("tshark", "-r", file, "-d", "udp.port=="+port+",lisp", "-q", "-z", "expert,note").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, sev := range []string{"Errors", "Warnings", "Notes"} {
		if strings.Contains(string(summary), sev+" (") {
			t.Errorf("tshark expert info reports %s:\n%s", sev, summary)
		}
	}
}
