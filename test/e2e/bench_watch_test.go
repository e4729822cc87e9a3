package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
	"github.com/l2lisp/l2lisp/test/lab"
	"github.com/l2lisp/l2lisp/test/sim"
)

// switchWatchers see flows arrive on the lab's switches, either through
// `ovs-ofctl monitor br-int watch:` (event lines timestamped when read) or,
// when the monitor does not report the controller's flows, by polling
// table 30 with flow-stats requests over an OpenFlow connection of our own
// to the bridge (timestamped when a reply is read).
type switchWatchers struct {
	mode string // "ovs-ofctl monitor" or "polling"
	mons []*lineTail

	mu     sync.Mutex
	polls  int
	pollNs int64
	errs   []error
	note   string // why polling replaced the monitor
}

// lineTail keeps the last lines of a process's output for diagnostics.
type lineTail struct {
	mu    sync.Mutex
	lines []string
}

func (t *lineTail) keep(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) >= 20 {
		t.lines = t.lines[1:]
	}
	t.lines = append(t.lines, line)
}

func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

func (w *switchWatchers) diag() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "watching by %s\n", w.mode)
	w.mu.Lock()
	for _, err := range w.errs {
		fmt.Fprintf(&sb, "poller error: %v\n", err)
	}
	w.mu.Unlock()
	for i, m := range w.mons {
		fmt.Fprintf(&sb, "monitor of switch %d, last lines:\n%s\n", i, m)
	}
	return sb.String()
}

// pollPeriod is the mean time one dump-flows poll took, in milliseconds:
// the resolution of arrival times in polling mode.
func (w *switchWatchers) pollPeriod() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.polls == 0 {
		return 0
	}
	return float64(w.pollNs) / float64(w.polls) / 1e6
}

// watchSwitches starts a monitor per switch and checks with one unmeasured
// probe mapping that it reports the controller's flows; if it does not,
// the monitors are stopped and polling takes over.
func watchSwitches(ctx context.Context, b *testing.B, ctl *benchCtl, topo *lab.Topology, arr *arrivals) *switchWatchers {
	b.Helper()
	w := &switchWatchers{mode: "ovs-ofctl monitor"}
	mctx, stopMonitors := context.WithCancel(ctx)
	b.Cleanup(stopMonitors)
	for i := range topo.DCs {
		w.mons = append(w.mons, startFlowMonitor(mctx, b, topo.DCs[i].OVS, i, arr))
	}
	mac := benchMAC(nextRunID(), 0)
	p := arr.expect(mac, needOneLocal(len(topo.DCs), 0))
	ctl.do("POST", "/api/v1/mappings", map[string]any{"instance_id": topo.Networks[0].InstanceID,
		"eid": macString(mac), "site": topo.DCs[0].Name}, 201)
	select {
	case <-p.done:
		return w
	case <-time.After(5 * time.Second):
	}
	w.note = fmt.Sprintf("ovs-ofctl monitor did not report the probe mapping's flows within 5 s (%s), "+
		"so flow-stats polling replaced it", arr.missing(p))
	b.Log(w.note + "\n" + w.diag())
	stopMonitors()
	w.mode = "polling"
	for i := range topo.DCs {
		go w.poll(ctx, topo.DCs[i].OVS, i, arr)
	}
	return w
}

// startFlowMonitor runs ovs-ofctl monitor on one switch's br-int and feeds
// every ADDED flow with a dl_dst into arr as switch index sw. It returns
// once the monitor printed its initial reply, i.e. is registered with OVS.
func startFlowMonitor(ctx context.Context, b *testing.B, ovs *lab.OVS, sw int, arr *arrivals) *lineTail {
	b.Helper()
	cmd := ovs.Command(ctx, "ovs-ofctl", "-O", "OpenFlow13", "monitor", "br-int", "watch:")
	// ovs-ofctl prints the initial reply on stdout but the asynchronous
	// updates on stderr: read both as one stream.
	out, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	mon := &lineTail{}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		out.Close()
		b.Fatalf("ovs-ofctl monitor: %v", err)
	}
	ready, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		first := true
		for sc.Scan() {
			at := time.Now()
			if first {
				close(ready)
				first = false
			}
			line := sc.Text()
			mon.keep(line)
			if strings.Contains(line, "event=ADDED") {
				if m, ok := dlDst(line); ok {
					arr.arrive(sw, m, at)
				}
			}
		}
		_ = cmd.Wait()
		out.Close()
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case <-ready:
		return mon
	case <-exited:
		b.Fatalf("ovs-ofctl monitor on switch %d ended: %s", sw, mon)
	case <-time.After(10 * time.Second):
		b.Fatalf("ovs-ofctl monitor on switch %d printed nothing", sw)
	}
	return nil
}

// dlDst finds the dl_dst=MAC of an ovs-ofctl flow line.
func dlDst(line string) ([6]byte, bool) {
	i := strings.Index(line, "dl_dst=")
	if i < 0 || len(line) < i+7+17 {
		return [6]byte{}, false
	}
	m, err := net.ParseMAC(line[i+7 : i+7+17])
	if err != nil || len(m) != 6 {
		return [6]byte{}, false
	}
	return [6]byte(m), true
}

// poll reads table 30 of one switch in a loop until ctx ends, over its own
// OpenFlow 1.3 connection to the bridge's management socket (flow-stats
// requests, one every millisecond), reporting each dl_dst flow as arrived
// when the reply that shows it was read.
func (w *switchWatchers) poll(ctx context.Context, ovs *lab.OVS, sw int, arr *arrivals) {
	nc, err := net.Dial("unix", filepath.Join(ovs.Dir, "br-int.mgmt"))
	if err != nil {
		w.fail(fmt.Errorf("switch %d: %w", sw, err))
		return
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	defer stop()
	defer nc.Close()
	br := bufio.NewReader(nc)
	if err := ofWrite(nc, 1, &ofp13.Hello{Bitmap: 1 << ofp13.Version}); err != nil {
		w.fail(err)
		return
	}
	for xid := uint32(2); ctx.Err() == nil; xid++ {
		start := time.Now()
		stats, err := ofFlowStats(nc, br, xid)
		at := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				w.fail(fmt.Errorf("switch %d: %w", sw, err))
			}
			return
		}
		w.mu.Lock()
		w.polls++
		w.pollNs += int64(at.Sub(start))
		w.mu.Unlock()
		counts := map[[6]byte]int{}
		for _, st := range stats {
			if m := sim.EthDst(st.Match); m != ([6]byte{}) {
				counts[m]++
			}
		}
		for m, n := range counts {
			arr.observe(sw, m, n, at)
		}
		time.Sleep(time.Millisecond)
	}
}

func (w *switchWatchers) fail(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
}

func ofWrite(nc net.Conn, xid uint32, m ofp13.Message) error {
	b, err := ofp13.Marshal(xid, m)
	if err != nil {
		return err
	}
	if _, err := nc.Write(b); err != nil {
		return fmt.Errorf("write to switch: %w", err)
	}
	return nil
}

// ofFlowStats asks for table 30 and gathers every part of the reply,
// answering echo requests met on the way.
func ofFlowStats(nc net.Conn, br *bufio.Reader, xid uint32) ([]ofp13.FlowStats, error) {
	req := &ofp13.FlowStatsRequest{Table: 30, OutPort: ofp13.PortAny, OutGroup: ofp13.GroupAny}
	if err := ofWrite(nc, xid, req); err != nil {
		return nil, err
	}
	var out []ofp13.FlowStats
	for {
		b, err := ofp13.ReadMessage(br)
		if err != nil {
			return nil, fmt.Errorf("read from switch: %w", err)
		}
		h, m, err := ofp13.Unmarshal(b)
		if err != nil {
			return nil, fmt.Errorf("decode from switch: %w", err)
		}
		switch m := m.(type) {
		case *ofp13.EchoRequest:
			if err := ofWrite(nc, h.XID, &ofp13.EchoReply{Data: m.Data}); err != nil {
				return nil, err
			}
		case *ofp13.Error:
			return nil, m
		case *ofp13.FlowStatsReply:
			if h.XID != xid {
				continue
			}
			out = append(out, m.Stats...)
			if !m.More() {
				return out, nil
			}
		}
	}
}
