package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// TestMoveConvergenceLab measures (it asserts no times) how long a move
// takes in the 3-datacenter lab: from the packet-in of the host's first
// frame at the new site (detected_at of the mapping.moved event) to the
// first packet from a remote host (pinging every 1 ms) that reaches it, as
// seen by a watcher in the host started before the move. Set
// L2LISP_BENCH_MOVES=50 to run it.
func TestMoveConvergenceLab(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("L2LISP_BENCH_MOVES"))
	if n <= 0 {
		t.Skip("set L2LISP_BENCH_MOVES to the number of moves to measure")
	}
	e := StartEnv(t, EnvOptions{ServeFlags: []string{"--duplicate-moves", "0"}})
	h, peer := e.Topo.Host("dc1-blue-h1"), e.Host("blue", 3, 1)
	bin := hostctl(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pinger := hostCmd(ctx, peer, "ping", "-q", "-i", "0.001", h.IPv4.Addr().String())
	if err := pinger.Start(); err != nil {
		t.Fatal(err)
	}
	mobWait(t, e, h.InstanceID, h.MAC, "learned", func(r *mobRecord) bool { return r != nil && r.Site == "dc1" })
	var fromPacketIn, fromGARP []time.Duration
	for i := range n {
		to := 2
		if h.DC == 2 {
			to = 1
		}
		w := startWatch(t, ctx, *h, bin, peer.IPv4.Addr().String())
		mobMove(t, e, h, to)
		out, err := hostCmd(ctx, *h, bin, "garpwait", "-ip", h.IPv4.Addr().String(),
			"-from", peer.IPv4.Addr().String()).CombinedOutput()
		if err != nil {
			t.Fatalf("move %d: %v: %s", i, err, out)
		}
		f := strings.Fields(string(out))
		sent, _ := strconv.ParseInt(f[0], 10, 64)
		got, _ := strconv.ParseInt(f[1], 10, 64)
		site := e.Topo.DC(to).Name
		r := mobWait(t, e, h.InstanceID, h.MAC, "at "+site, func(r *mobRecord) bool { return r != nil && r.Site == site })
		var detected time.Time
		for _, ev := range mobHistory(t, e, h.InstanceID, h.MAC) {
			var d struct {
				Version  uint64    `json:"version"`
				Detected time.Time `json:"detected_at"`
			}
			if ev.Type == "mapping.moved" && json.Unmarshal(ev.Data, &d) == nil && d.Version == r.Version {
				detected = d.Detected
			}
		}
		fromGARP = append(fromGARP, time.Duration(got-sent))
		for _, at := range w.stop() {
			if at.After(detected) {
				fromPacketIn = append(fromPacketIn, at.Sub(detected))
				break
			}
		}
	}
	var synced []time.Duration
	for _, ev := range mobHistory(t, e, h.InstanceID, h.MAC) {
		var d struct {
			Seconds float64 `json:"seconds"`
		}
		if ev.Type == "mapping.converged" && json.Unmarshal(ev.Data, &d) == nil {
			synced = append(synced, time.Duration(d.Seconds*float64(time.Second)))
		}
	}
	if f := os.Getenv("L2LISP_BENCH_LOG"); f != "" {
		_ = os.WriteFile(f, []byte(e.Log()), 0o644) // the controller's debug log, for a breakdown
	}
	logQuantiles(t, "packet-in -> all 3 switches synced (mapping.converged)", synced)
	logQuantiles(t, "packet-in -> first remote packet delivered", fromPacketIn)
	logQuantiles(t, "GARP sent -> first remote packet delivered", fromGARP)
}

func logQuantiles(t *testing.T, what string, d []time.Duration) {
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[int(p*float64(len(d)-1))] }
	t.Logf("%s over %d moves: min %v p50 %v p99 %v max %v", what, len(d), d[0], q(0.5), q(0.99), d[len(d)-1])
}

// watch is a hostctl watcher: arrival times of a peer's packets at a host.
type watch struct {
	stdin io.WriteCloser
	cmd   *exec.Cmd
	times chan []time.Time
}

func startWatch(t *testing.T, ctx context.Context, h lab.Host, bin, from string) *watch {
	t.Helper()
	w := &watch{cmd: hostCmd(ctx, h, bin, "watch", "-from", from), times: make(chan []time.Time, 1)}
	var err error
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("watcher did not start: %q", sc.Text())
	}
	go func() {
		var ts []time.Time
		for sc.Scan() {
			if ns, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				ts = append(ts, time.Unix(0, ns))
			}
		}
		w.times <- ts
	}()
	return w
}

// stop ends the watcher and returns what it saw, oldest first.
func (w *watch) stop() []time.Time {
	_ = w.stdin.Close()
	ts := <-w.times
	_ = w.cmd.Wait()
	return ts
}
