package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/test/lab"
)

// benchCtl is one l2lisp serve process on a fresh database.
type benchCtl struct {
	tb     testing.TB
	API    string
	OFAddr string // where switches connect
	LISP   string // the Map-Server/Map-Resolver's UDP address
	Dir    string
	cmd    *exec.Cmd
	done   chan struct{}
	logf   *os.File
	client *http.Client
	PKI    *pkitest.PKI
}

// startBenchController runs l2lisp serve with OpenFlow on ofListen; it is
// stopped by the test's cleanup.
func startBenchController(tb testing.TB, ofListen, ofTarget, logLevel string) *benchCtl {
	tb.Helper()
	c := &benchCtl{tb: tb, Dir: tb.TempDir(), API: "https://" + freeAddr(tb), OFAddr: ofListen, LISP: freeUDP(tb)}
	c.PKI = pkitest.NewIn(tb, filepath.Join(c.Dir, "pki"))
	c.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64,
		TLSClientConfig: c.PKI.ClientTLS()}}
	args := append([]string{"serve", "--db", filepath.Join(c.Dir, "l2lisp.db"), "--listen", strings.TrimPrefix(c.API, "https://"),
		"--openflow-listen", ofListen, "--lisp-listen", c.LISP, "--api-token", token,
		"--log-level", logLevel}, c.PKI.ServeFlags()...)
	if ofTarget != "" {
		args = append(args, "--openflow-target", ofTarget)
	}
	f, err := os.Create(filepath.Join(c.Dir, "l2lisp.log"))
	if err != nil {
		tb.Fatal(err)
	}
	c.logf = f
	c.cmd = exec.Command(binary(tb), args...)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	tb.Cleanup(c.stop)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.client.Get(c.API + "/healthz"); err == nil {
			resp.Body.Close()
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("controller did not answer; log:\n%s", c.Log())
	return nil
}

func (c *benchCtl) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = c.logf.Close()
}

// Log is the controller's log so far.
func (c *benchCtl) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "l2lisp.log"))
	return string(b)
}

// do calls the REST API as the admin; it fails the benchmark on a
// transport error or a status not in want.
func (c *benchCtl) do(method, path string, body any, want ...int) []byte {
	c.tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.API+path, rd)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	for _, w := range want {
		if resp.StatusCode == w {
			return out
		}
	}
	c.tb.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, out)
	return nil
}

// waitConnected waits until n xTRs report an OpenFlow connection with flows.
func (c *benchCtl) waitConnected(n int, within time.Duration) {
	c.tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var xs []xtrStatus
		if err := json.Unmarshal(c.do("GET", "/api/v1/xtrs", nil, 200), &xs); err != nil {
			c.tb.Fatal(err)
		}
		up := 0
		for _, x := range xs {
			if x.Status.OpenFlow.Connected && x.Status.Flows > 0 {
				up++
			}
		}
		if up >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.tb.Fatalf("%d xTRs not connected in %v; log:\n%s", n, within, tail(c.Log(), 40))
}

// benchLab takes the lab lock (waiting for other users), starts a
// controller and a registered three-datacenter lab, and tears both down at
// cleanup.
func benchLab(b *testing.B, staticHosts bool) (*benchCtl, *lab.Topology) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("the lab needs root")
	}
	for _, tool := range []string{"ovs-vswitchd", "ovsdb-server", "ovs-ofctl", "ip", "ping", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	waitStart := time.Now()
	release, err := lab.Lock(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(release)
	if w := time.Since(waitStart); w > time.Second {
		b.Logf("waited %v for the lab lock", w.Round(time.Second))
	}
	// The lab's progress lines would interleave with the benchmark lines.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	_ = lab.Down(ctx, lab.Config{Log: quiet})
	ctl := startBenchController(b, ":6653", lab.ControllerOFTLS, "info")
	b.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		if err := lab.Down(dctx, lab.Config{Log: quiet}); err != nil {
			b.Logf("lab down: %v", err)
		}
	})
	topo, err := lab.Up(ctx, lab.Config{Register: true, APIURL: ctl.API, Token: token, StaticHosts: staticHosts,
		PKIDir: ctl.PKI.Dir, Log: quiet})
	if err != nil {
		b.Fatalf("lab up: %v", err)
	}
	ctl.waitConnected(len(topo.DCs), time.Minute)
	return ctl, topo
}
