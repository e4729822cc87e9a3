package scale

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/l2lisp/l2lisp/northbound/client"
	"github.com/l2lisp/l2lisp/pki"
)

// token is the admin token of the controller the harness runs.
const token = "scale-harness-admin-token"

// ctl is one l2lisp serve process on the harness's database.
type ctl struct {
	cfg     *Config
	dir     string
	api     string // base URL
	ofAddr  string
	lisp    string
	cmd     *exec.Cmd
	done    chan struct{}
	client  *client.Client
	httpTLS *tls.Config // nil: plain HTTP
}

func freePort(network string) (string, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("free port: %w", err)
		}
		defer c.Close()
		return c.LocalAddr().String(), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func newCtl(cfg *Config, dir string) (*ctl, error) {
	c := &ctl{cfg: cfg, dir: dir}
	var err error
	var api string
	if api, err = freePort("tcp"); err != nil {
		return nil, err
	}
	if c.ofAddr, err = freePort("tcp"); err != nil {
		return nil, err
	}
	if c.lisp, err = freePort("udp"); err != nil {
		return nil, err
	}
	scheme := "http://"
	if cfg.TLS {
		_, err := pki.Init(c.pkiDir(), pki.Options{IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
		if err != nil && !errors.Is(err, pki.ErrExists) {
			return nil, fmt.Errorf("pki: %w", err)
		}
		if c.httpTLS, err = pki.ClientTrusting(filepath.Join(c.pkiDir(), pki.CAFile)); err != nil {
			return nil, err
		}
		scheme = "https://"
	}
	c.api = scheme + api
	hc := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: c.httpTLS}}
	c.client = client.New(c.api, token, hc)
	return c, nil
}

func (c *ctl) pkiDir() string { return filepath.Join(c.dir, "pki") }

// switchTLS is the TLS configuration of the simulated switch of xTR name:
// its own certificate, issued now, as the switch's host would hold it.
func (c *ctl) switchTLS(name string) (*tls.Config, error) {
	if !c.cfg.TLS {
		return nil, nil
	}
	b := pki.XTRBundle(c.pkiDir(), name)
	if _, err := os.Stat(filepath.Join(b, pki.BundleCert)); err != nil {
		if _, err := pki.IssueXTR(c.pkiDir(), name, pki.Options{}); err != nil {
			return nil, fmt.Errorf("issue %s: %w", name, err)
		}
	}
	m, err := pki.Load(filepath.Join(b, pki.BundleCert), filepath.Join(b, pki.BundleKey), filepath.Join(b, pki.BundleCA))
	if err != nil {
		return nil, err
	}
	return m.Client(), nil
}

// start runs l2lisp serve and waits until its REST API answers.
func (c *ctl) start(ctx context.Context) error {
	args := []string{"serve", "--db", filepath.Join(c.dir, "l2lisp.db"), "--listen", strings.TrimPrefix(strings.TrimPrefix(c.api, "https://"), "http://"),
		"--openflow-listen", c.ofAddr, "--lisp-listen", c.lisp, "--api-token", token, "--log-level", "warn"}
	if c.cfg.TLS {
		args = append(args, "--tls-cert", filepath.Join(c.pkiDir(), pki.ControllerCertFile),
			"--tls-key", filepath.Join(c.pkiDir(), pki.ControllerKeyFile), "--tls-ca", filepath.Join(c.pkiDir(), pki.CAFile))
	} else {
		args = append(args, "--insecure-plaintext")
	}
	args = append(args, c.cfg.ServeArgs...)
	log, err := os.OpenFile(filepath.Join(c.dir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("serve log: %w", err)
	}
	c.cmd = exec.Command(c.cfg.Binary, args...)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start l2lisp serve: %w", err)
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); log.Close(); close(c.done) }()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		if _, err := c.client.Networks(ctx); err == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("l2lisp serve exited; see %s", filepath.Join(c.dir, "serve.log"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return errors.New("l2lisp serve did not answer within 5 minutes")
}

// stop ends the controller, gently (SIGTERM) or not (SIGKILL).
func (c *ctl) stop(kill bool) {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// memory reads the controller's resident set (now and at its peak) from
// /proc and its Go heap in use from its metrics.
func (c *ctl) memory(ctx context.Context) (rss, peak, heap uint64) {
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			switch k {
			case "VmRSS":
				rss = kb << 10
			case "VmHWM":
				peak = kb << 10
			}
		}
		f.Close()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.api+"/metrics", nil)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: c.httpTLS}}
	if res, err := hc.Do(req); err == nil {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				heap = uint64(f)
			}
		}
		res.Body.Close()
	}
	return rss, peak, heap
}

// cpu is the CPU time (user and system) the controller has used.
func (c *ctl) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 12th and 13th, in clock ticks (100 a second on Linux).
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// selfCPU is the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clientEnv is what the CLI needs to reach this controller.
func (c *ctl) clientEnv() []string {
	env := append(os.Environ(), "L2LISP_SERVER="+c.api, "L2LISP_TOKEN="+token)
	if c.cfg.TLS {
		env = append(env, "L2LISP_CA="+filepath.Join(c.pkiDir(), pki.CAFile))
	}
	return env
}
