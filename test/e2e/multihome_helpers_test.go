package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// Helpers of the multihoming tests: a lab of three sites with two edges
// each (one LAN per site), BFD between all six RLOCs.

// mhXTR is an xTR as GET /xtrs shows it, with the controller's locator view.
type mhXTR struct {
	Name    string `json:"name"`
	Site    string `json:"site"`
	RLOC    string `json:"rloc"`
	Drained bool   `json:"drained"`
	Locator struct {
		Up  bool              `json:"up"`
		DF  []uint32          `json:"designated_forwarder"`
		BFD map[string]string `json:"bfd"`
	} `json:"locator"`
	Status struct {
		OpenFlow struct {
			Connected bool `json:"connected"`
		} `json:"openflow"`
	} `json:"status"`
}

// startMultihomed starts the controller and a lab of three two-edge sites
// and waits until every BFD session is up.
func startMultihomed(t testing.TB, serveFlags ...string) *Env {
	t.Helper()
	e := StartEnv(t, EnvOptions{Edges: 2, ServeFlags: serveFlags})
	e.waitBFD(len(e.Topo.DCs) - 1)
	return e
}

func (e *Env) mhXTRs() []mhXTR {
	e.t.Helper()
	status, body := e.Do("GET", "/api/v1/xtrs", nil)
	if status != 200 {
		e.t.Fatalf("GET /xtrs: %d %s", status, body)
	}
	var xs []mhXTR
	if err := json.Unmarshal(body, &xs); err != nil {
		e.t.Fatal(err)
	}
	return xs
}

// waitBFD waits until every connected xTR reports want sessions, all up.
func (e *Env) waitBFD(want int) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, last := true, ""
		for _, x := range e.mhXTRs() {
			if !x.Status.OpenFlow.Connected {
				continue
			}
			up := 0
			for _, st := range x.Locator.BFD {
				if st == "up" {
					up++
				}
			}
			if up != want || len(x.Locator.BFD) != want {
				ok, last = false, fmt.Sprintf("%s: %v", x.Name, x.Locator.BFD)
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("BFD sessions not all up: %s\n%s", last, tail(e.Log(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// designatedForwarder is the xTR of site that floods iid, per the API.
func (e *Env) designatedForwarder(site string, iid uint32) string {
	e.t.Helper()
	var dfs []string
	for _, x := range e.mhXTRs() {
		if x.Site == site && slices.Contains(x.Locator.DF, iid) {
			dfs = append(dfs, x.Name)
		}
	}
	if len(dfs) != 1 {
		e.t.Fatalf("site %s has designated forwarders %v for %d", site, dfs, iid)
	}
	return dfs[0]
}

// edge returns the lab entry of an xTR.
func (e *Env) edge(xtr string) lab.DC {
	e.t.Helper()
	for _, d := range e.Topo.DCs {
		if d.XTR == xtr {
			return d
		}
	}
	e.t.Fatalf("no edge %s", xtr)
	return lab.DC{}
}

// killVswitchd kills an edge's ovs-vswitchd with SIGKILL, as a crash would.
func killVswitchd(t testing.TB, d lab.DC) time.Time {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.OVS.Dir, "ovs-vswitchd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return at
}

// counters run hostctl bcount in hosts and collect what each received.
type counters struct {
	t     *testing.T
	procs map[string]*bcountProc
}

type bcountProc struct {
	stdin io.WriteCloser
	out   *bufio.Reader
	done  chan error
}

func startCounters(t *testing.T, hosts []lab.Host) *counters {
	t.Helper()
	bin := hostctl(t)
	c := &counters{t: t, procs: map[string]*bcountProc{}}
	for _, h := range hosts {
		cmd := hostCmd(context.Background(), h, bin, "bcount")
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &bcountProc{stdin: in, out: bufio.NewReader(out), done: make(chan error, 1)}
		if line, err := p.out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
			t.Fatalf("bcount in %s: %q %v", h.Name, line, err)
		}
		go func() { p.done <- cmd.Wait() }()
		c.procs[h.Name] = p
	}
	return c
}

// stop ends every counter and returns host -> frame key -> copies.
func (c *counters) stop() map[string]map[string]int {
	out := map[string]map[string]int{}
	for name, p := range c.procs {
		_ = p.stdin.Close()
		var m map[string]int
		if err := json.NewDecoder(p.out).Decode(&m); err != nil {
			c.t.Fatalf("bcount in %s: %v", name, err)
		}
		<-p.done
		out[name] = m
	}
	return out
}

// pingRun is a fast ping in progress.
type pingRun struct {
	interval time.Duration
	count    int
	mu       sync.Mutex
	replies  map[int]time.Time
	dups     int
	done     chan error
}

var pingLine = regexp.MustCompile(`^\[(\d+)\.(\d+)\] \d+ bytes from .*icmp_seq=(\d+)`)

// startPing pings to from h, count times, every interval (10 ms: root).
func startPing(t testing.TB, h lab.Host, to netip.Addr, count int, interval time.Duration) *pingRun {
	t.Helper()
	cmd := hostCmd(context.Background(), h, "ping", "-D", "-n", "-i", fmt.Sprintf("%.3f", interval.Seconds()),
		"-c", strconv.Itoa(count), "-W", "1", to.String())
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pingRun{interval: interval, count: count, replies: map[int]time.Time{}, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m := pingLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			sec, _ := strconv.ParseInt(m[1], 10, 64)
			usec, _ := strconv.ParseInt(m[2], 10, 64)
			seq, _ := strconv.Atoi(m[3])
			p.mu.Lock()
			if _, dup := p.replies[seq]; dup || strings.Contains(sc.Text(), "DUP!") {
				p.dups++
			} else {
				p.replies[seq] = time.Unix(sec, usec*1000)
			}
			p.mu.Unlock()
		}
		p.done <- cmd.Wait()
	}()
	return p
}

// pingResult is what a fast ping saw.
type pingResult struct {
	Sent, Lost, Dups int
	LongestRun       int           // the most consecutive echo requests lost
	Outage           time.Duration // the longest time between two replies, less one interval
}

func (p *pingRun) wait() pingResult {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	r := pingResult{Sent: p.count, Lost: p.count - len(p.replies), Dups: p.dups}
	run := 0
	for seq := 1; seq <= p.count; seq++ {
		if _, ok := p.replies[seq]; ok {
			run = 0
			continue
		}
		run++
		r.LongestRun = max(r.LongestRun, run)
	}
	var times []time.Time
	for _, at := range p.replies {
		times = append(times, at)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(times); i++ {
		r.Outage = max(r.Outage, times[i].Sub(times[i-1])-p.interval)
	}
	return r
}

func (r pingResult) String() string {
	return fmt.Sprintf("%d sent, %d lost (longest run %d), %d duplicates, longest gap between replies %v",
		r.Sent, r.Lost, r.LongestRun, r.Dups, r.Outage.Round(time.Millisecond))
}
