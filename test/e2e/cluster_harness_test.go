package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/store/storetest"
	"github.com/l2lisp/l2lisp/test/lab"
)

// A cluster is several real l2lisp serve processes sharing one PostgreSQL
// database, every lab switch connected to all of them.

// testLease is the --leader-lease the cluster tests run with (the default).
const testLease = 2 * time.Second

// replica is one l2lisp serve process of a cluster.
type replica struct {
	tb     testing.TB
	Name   string // r1, r2, ...
	API    string // https://127.0.0.1:port
	OFPort int    // its OpenFlow port on the lab's management address
	args   []string
	dir    string
	client *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logf *os.File
}

// clusterEnv is the replicas plus the registered three-datacenter lab.
type clusterEnv struct {
	tb       testing.TB
	DSN      string
	Lease    time.Duration // every replica's --leader-lease
	Replicas []*replica
	Topo     *lab.Topology
	PKI      *pkitest.PKI // one CA; every replica serves the controller certificate
}

// startCluster starts n replicas on a fresh PostgreSQL database and brings
// up the lab registered through the first one; it returns once a leader
// programs every switch and each standby holds every switch as SLAVE.
func startCluster(tb testing.TB, n int, staticHosts bool, lease time.Duration) *clusterEnv {
	tb.Helper()
	needLab(tb)
	if os.Getenv(storetest.Env) == "" {
		tb.Skipf("needs PostgreSQL (%s)", storetest.Env)
	}
	dsn := storetest.Postgres(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	release, err := lab.Lock(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(release)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	_ = lab.Down(ctx, lab.Config{Log: quiet})
	c := &clusterEnv{tb: tb, DSN: dsn, Lease: lease}
	c.PKI = pkitest.NewIn(tb, filepath.Join(tb.TempDir(), "pki"))
	var targets []string
	for i := range n {
		targets = append(targets, fmt.Sprintf("ssl:%s:%d", lab.MgmtAddr, 6653+i))
	}
	for i := range n {
		c.Replicas = append(c.Replicas, c.newReplica(i, strings.Join(targets, ",")))
	}
	tb.Cleanup(func() {
		for _, r := range c.Replicas {
			r.stop()
		}
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if err := lab.Down(dctx, lab.Config{Log: quiet}); err != nil {
			tb.Logf("lab down: %v", err)
		}
	})
	for _, r := range c.Replicas {
		r.start()
	}
	c.Topo, err = lab.Up(ctx, lab.Config{Register: true, APIURL: c.Replicas[0].API, Token: token,
		StaticHosts: staticHosts, PKIDir: c.PKI.Dir, Log: quiet})
	if err != nil {
		tb.Fatalf("lab up: %v", err)
	}
	c.waitSettled(c.leader(time.Minute), time.Minute)
	return c
}

func (c *clusterEnv) newReplica(i int, targets string) *replica {
	client := c.PKI.Client()
	client.Timeout = 5 * time.Second
	r := &replica{tb: c.tb, Name: fmt.Sprintf("r%d", i+1), API: "https://" + freeAddr(c.tb), OFPort: 6653 + i,
		dir: c.tb.TempDir(), client: client}
	r.args = append([]string{"serve", "--db", c.DSN, "--listen", strings.TrimPrefix(r.API, "https://"),
		"--openflow-listen", fmt.Sprintf(":%d", r.OFPort), "--openflow-target", targets,
		"--lisp-listen", freeUDP(c.tb), "--api-token", token, "--log-level", "debug",
		"--replica-id", r.Name, "--leader-lease", c.Lease.String()}, c.PKI.ServeFlags()...)
	return r
}

// start runs the process and waits until it answers.
func (r *replica) start() {
	r.tb.Helper()
	f, err := os.OpenFile(filepath.Join(r.dir, "l2lisp.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.tb.Fatal(err)
	}
	cmd := exec.Command(binary(r.tb), r.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		r.tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.mu.Lock()
	r.cmd, r.done, r.logf = cmd, done, f
	r.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := r.client.Get(r.API + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.tb.Fatalf("replica %s did not answer; log:\n%s", r.Name, tail(r.Log(), 40))
}

// kill ends the process with SIGKILL (as a crash), stop with SIGTERM.
func (r *replica) kill() { r.signal(syscall.SIGKILL) }
func (r *replica) stop() { r.signal(syscall.SIGTERM) }

func (r *replica) signal(sig syscall.Signal) {
	r.mu.Lock()
	cmd, done, f := r.cmd, r.done, r.logf
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	_ = f.Close()
}

func (r *replica) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil
}

// Log is the replica's log so far.
func (r *replica) Log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "l2lisp.log"))
	return string(b)
}

// call sends one REST request as the admin; err is a transport error.
func (r *replica) call(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.API+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// must is call that fails the test unless the answer has status want.
func (r *replica) must(method, path string, body any, want int) []byte {
	r.tb.Helper()
	status, b, err := r.call(method, path, body)
	if err != nil || status != want {
		r.tb.Fatalf("%s: %s %s: %d %s %v", r.Name, method, path, status, b, err)
	}
	return b
}

type clusterView struct {
	Self     string `json:"self"`
	Leader   string `json:"leader"`
	Replicas []struct {
		ID             string `json:"id"`
		Role           string `json:"role"`
		AppliedEventID int64  `json:"applied_event_id"`
	} `json:"replicas"`
}

// cluster reads GET /cluster; ok is false when the replica does not answer.
func (r *replica) cluster() (clusterView, bool) {
	var v clusterView
	status, b, err := r.call("GET", "/api/v1/cluster", nil)
	if err != nil || status != 200 || json.Unmarshal(b, &v) != nil {
		return v, false
	}
	return v, true
}

func (r *replica) xtrs() []xtrStatus {
	var xs []xtrStatus
	if err := json.Unmarshal(r.must("GET", "/api/v1/xtrs", nil, 200), &xs); err != nil {
		r.tb.Fatal(err)
	}
	return xs
}

// metric reads one sample of a Prometheus metric, summed over labels.
func (r *replica) metric(name string) float64 {
	r.tb.Helper()
	status, b, err := r.call("GET", "/metrics", nil)
	if err != nil || status != 200 {
		r.tb.Fatalf("%s: GET /metrics: %d %v", r.Name, status, err)
	}
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// leader polls the running replicas until one says it leads.
func (c *clusterEnv) leader(within time.Duration) *replica {
	c.tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, r := range c.Replicas {
			if v, ok := r.cluster(); r.running() && ok && v.Leader == r.Name && v.Self == r.Name {
				return r
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.tb.Fatalf("no leader within %v", within)
	return nil
}

// waitSettled waits until the leader has synced every switch, each running
// standby holds every switch as SLAVE, and OVS agrees: at each switch the
// leader's connection is master and the others slave.
func (c *clusterEnv) waitSettled(leader *replica, within time.Duration) {
	c.tb.Helper()
	deadline := time.Now().Add(within)
	for {
		problem := c.unsettled(leader)
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("cluster not settled in %v: %s\nleader log:\n%s", within, problem, tail(leader.Log(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *clusterEnv) unsettled(leader *replica) string {
	for _, r := range c.Replicas {
		if !r.running() {
			continue
		}
		for _, x := range r.xtrs() {
			of := x.Status.OpenFlow
			switch {
			case !of.Connected:
				return fmt.Sprintf("%s: %s not connected", r.Name, x.Name)
			case r == leader && (of.Role != "master" || x.Status.Flows == 0):
				return fmt.Sprintf("leader %s: %s is %s with %d flows", r.Name, x.Name, of.Role, x.Status.Flows)
			case r != leader && of.Role != "slave":
				return fmt.Sprintf("standby %s: %s is %s", r.Name, x.Name, of.Role)
			}
		}
	}
	for _, dc := range c.Topo.DCs {
		roles, err := ovsRoles(dc.OVS)
		if err != nil {
			return err.Error()
		}
		for _, r := range c.Replicas {
			want := "slave"
			if r == leader {
				want = "master"
			}
			if got := roles[r.OFPort]; r.running() && got != want {
				return fmt.Sprintf("OVS of %s gives %s the role %q, want %s", dc.Name, r.Name, got, want)
			}
		}
	}
	return ""
}

// ovsRoles reads the role OVS gives each connected controller, by port.
func ovsRoles(o *lab.OVS) (map[int]string, error) {
	out, err := o.Vsctl("--format=csv", "--no-headings", "--columns=target,role,is_connected", "list", "controller")
	if err != nil {
		return nil, err
	}
	roles := map[int]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) != 3 || f[2] != "true" {
			continue
		}
		target := strings.Trim(f[0], `"`)
		port, err := strconv.Atoi(target[strings.LastIndex(target, ":")+1:])
		if err == nil {
			roles[port] = f[1]
		}
	}
	return roles, nil
}

// hasFlowsFor reports whether the DC's switch has a flow naming mac.
func hasFlowsFor(dc lab.DC, mac string) bool {
	out, err := dc.OVS.Ofctl("dump-flows", "br-int")
	return err == nil && strings.Contains(out, mac)
}
