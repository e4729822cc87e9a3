package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	"github.com/l2lisp/l2lisp/test/lab"
)

// The end-to-end tests run the real l2lisp binary against a real lab:
// network namespaces, one Open vSwitch per datacenter, veth hosts.

const token = "e2e-admin-token"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/l2lisp once per test run.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "l2lisp-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "l2lisp")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/l2lisp/l2lisp/cmd/l2lisp").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// needLab skips when the machine cannot run the lab at all.
func needLab(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the lab needs root")
	}
	for _, tool := range []string{"ovs-vswitchd", "ovsdb-server", "ip", "ping", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

// Env is a running controller plus a registered lab.
type Env struct {
	t       testing.TB
	Bin     string
	DB      string
	API     string
	Topo    *lab.Topology
	Dir     string
	Extra   []string     // extra serve flags
	PKI     *pkitest.PKI // the CA, the controller's certificate and the lab's xTR certificates
	HTTP    *http.Client // trusts only the PKI's CA
	ctl     *exec.Cmd
	ctlDone chan struct{}
	logf    *os.File
}

// EnvOptions choose how the lab is registered.
type EnvOptions struct {
	StaticHosts bool          // register every host's MAC as a static mapping
	ServeFlags  []string      // extra flags for l2lisp serve
	Networks    []lab.Network // nil: lab.DefaultNetworks
	Edges       int           // edges per datacenter (multihomed sites); 0: one
}

// StartEnv brings up a controller and a three-datacenter lab, and waits
// until every edge switch is connected over OpenFlow.
func StartEnv(t testing.TB, opt EnvOptions) *Env {
	t.Helper()
	needLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	release, err := lab.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	e := &Env{t: t, Bin: binary(t), Dir: t.TempDir(), Extra: opt.ServeFlags}
	e.DB = filepath.Join(e.Dir, "l2lisp.db")
	e.API = "https://" + freeAddr(t)
	e.PKI = pkitest.NewIn(t, filepath.Join(e.Dir, "pki"))
	e.HTTP = e.PKI.Client()
	_ = lab.Down(ctx, lab.Config{})
	e.StartController()
	t.Cleanup(func() {
		e.StopController(false)
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if err := lab.Down(dctx, lab.Config{}); err != nil {
			t.Logf("lab down: %v", err)
		}
	})
	topo, err := lab.Up(ctx, lab.Config{Register: true, APIURL: e.API, Token: token, StaticHosts: opt.StaticHosts,
		PKIDir: e.PKI.Dir, Networks: opt.Networks, Edges: opt.Edges})
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	e.Topo = topo
	e.WaitConnected(len(topo.DCs))
	return e
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func freeUDP(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

// StartController starts l2lisp serve on the env's database.
func (e *Env) StartController() {
	e.t.Helper()
	args := append([]string{"serve", "--db", e.DB, "--listen", strings.TrimPrefix(e.API, "https://"),
		"--openflow-listen", ":6653", "--openflow-target", lab.ControllerOFTLS,
		"--lisp-listen", freeUDP(e.t), "--api-token", token, "--log-level", "debug"}, e.PKI.ServeFlags()...)
	args = append(args, e.Extra...)
	f, err := os.OpenFile(filepath.Join(e.Dir, "l2lisp.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	e.logf = f
	cmd := exec.Command(e.Bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.ctl, e.ctlDone = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(e.ctlDone)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := e.HTTP.Get(e.API + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("controller did not answer; log:\n%s", e.Log())
}

// StopController ends the controller: SIGKILL when kill, else SIGTERM.
func (e *Env) StopController(kill bool) {
	if e.ctl == nil {
		return
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = e.ctl.Process.Signal(sig)
	select {
	case <-e.ctlDone:
	case <-time.After(10 * time.Second):
		_ = e.ctl.Process.Kill()
		<-e.ctlDone
	}
	e.ctl = nil
	_ = e.logf.Close()
}

// Log is the controller's log so far.
func (e *Env) Log() string {
	b, _ := os.ReadFile(filepath.Join(e.Dir, "l2lisp.log"))
	return string(b)
}

// Do calls the REST API with the admin token.
func (e *Env) Do(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.API+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type xtrStatus struct {
	Name   string `json:"name"`
	Status struct {
		OpenFlow struct {
			Connected bool   `json:"connected"`
			Role      string `json:"role"`
		} `json:"openflow"`
		OVSDB struct {
			Connected bool `json:"connected"`
		} `json:"ovsdb"`
		Flows    int `json:"flows"`
		MapCache int `json:"map_cache_entries"`
	} `json:"status"`
}

// XTRs reads the xTRs with their status.
func (e *Env) XTRs() []xtrStatus {
	status, body := e.Do("GET", "/api/v1/xtrs", nil)
	if status != 200 {
		e.t.Fatalf("GET /xtrs: %d %s", status, body)
	}
	var xs []xtrStatus
	if err := json.Unmarshal(body, &xs); err != nil {
		e.t.Fatal(err)
	}
	return xs
}

// WaitConnected waits until n xTRs are connected over OpenFlow with flows.
func (e *Env) WaitConnected(n int) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		up := 0
		for _, x := range e.XTRs() {
			if x.Status.OpenFlow.Connected && x.Status.Flows > 0 {
				up++
			}
		}
		if up >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("xTRs not connected in time: %+v\nlog:\n%s", e.XTRs(), tail(e.Log(), 60))
}

// Metric reads one sample of a Prometheus metric (summed over labels).
func (e *Env) Metric(name string) float64 {
	e.t.Helper()
	resp, err := e.HTTP.Get(e.API + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// Host finds a lab host by network and datacenter index (1-based) and k.
func (e *Env) Host(network string, dc, k int) lab.Host {
	e.t.Helper()
	return topoHost(e.t, e.Topo, network, dc, k)
}

func topoHost(t testing.TB, topo *lab.Topology, network string, dc, k int) lab.Host {
	t.Helper()
	name := fmt.Sprintf("dc%d-%s-h%d", dc, network, k)
	if h := topo.Host(name); h != nil {
		return *h
	}
	t.Fatalf("no host %s", name)
	return lab.Host{}
}

// Exec runs a command in a host and fails the test on error.
func Exec(t *testing.T, h lab.Host, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := h.Exec(ctx, args...)
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
