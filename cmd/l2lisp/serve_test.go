package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pki"
)

// serveBinary is the l2lisp command built once for all tests of this file.
var serveBinary string

// servePKI is the test CA and controller certificate every serve run uses;
// httpsClient trusts only that CA.
var (
	servePKI    string
	httpsClient *http.Client
)

// tlsArgs are serve's TLS flags for servePKI.
func tlsArgs() []string {
	return []string{"--tls-cert", filepath.Join(servePKI, pki.ControllerCertFile),
		"--tls-key", filepath.Join(servePKI, pki.ControllerKeyFile), "--tls-ca", filepath.Join(servePKI, pki.CAFile)}
}

func makePKI(dir string) error {
	servePKI = filepath.Join(dir, "pki")
	if _, err := pki.Init(servePKI, pki.Options{Hosts: []string{"localhost"}, IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}); err != nil {
		return err
	}
	cfg, err := pki.ClientTrusting(filepath.Join(servePKI, pki.CAFile))
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	httpsClient = &http.Client{Transport: tr}
	return nil
}

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "l2lisp-serve-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := makePKI(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" {
		fmt.Fprintf(os.Stderr, "go env GOMOD: %v\n", err)
		return 1
	}
	serveBinary = filepath.Join(dir, "l2lisp")
	build := exec.Command("go", "build", "-o", serveBinary, "./cmd/l2lisp")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// lockedBuffer collects a process's stderr while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort reserves nothing: it finds a port free right now.
func freePort(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// cleanEnv is the environment without L2LISP_ settings of the caller.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "L2LISP_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
	done   chan struct{}
	err    error // the exit, once done is closed
}

// serveArgs are the flags of a serve run on free ports.
func serveArgs(t *testing.T, db string) (string, []string) {
	listen := freePort(t, "tcp")
	return listen, append([]string{"serve", "--db", db, "--listen", listen,
		"--openflow-listen", freePort(t, "tcp"), "--lisp-listen", freePort(t, "udp"),
		"--api-token", "admin-token", "--read-token", "read-token"}, tlsArgs()...)
}

// start runs l2lisp serve on db and waits until it answers /healthz.
func start(t *testing.T, db string) *server {
	t.Helper()
	listen, args := serveArgs(t, db)
	return startWith(t, listen, args, cleanEnv())
}

func startWith(t *testing.T, listen string, args, env []string) *server {
	t.Helper()
	scheme := "https://"
	if slices.Contains(args, "--insecure-plaintext") {
		scheme = "http://"
	}
	s := &server{t: t, base: scheme + listen, stderr: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(serveBinary, args...)
	s.cmd.Env = env
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			t.Fatalf("l2lisp serve exited before it was ready: %v\n%s", s.err, s.stderr)
		default:
		}
		resp, err := httpsClient.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("l2lisp serve not ready within 60s\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) do(method, path string, body any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer admin-token")
	resp, err := httpsClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", method, path, err, s.stderr)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *server) must(method, path string, body any, want int) []byte {
	s.t.Helper()
	status, b := s.do(method, path, body)
	if status != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	return b
}

// wait returns the exit status; the deadline only guards against a hang.
func (s *server) wait() error {
	s.t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(60 * time.Second):
		s.t.Fatalf("l2lisp serve did not exit within 60s\n%s", s.stderr)
	}
	return nil
}

func (s *server) kill9() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := s.wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		s.t.Fatalf("after kill -9: %v", err)
	}
}

// TestDurability kills the server right after a 201 and finds the object
// after a restart.
func TestDurability(t *testing.T) {
	db := filepath.Join(t.TempDir(), "l2lisp.db")
	s := start(t, db)
	s.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201)
	s.kill9()

	s = start(t, db)
	s.must("GET", "/api/v1/networks/4100", nil, 200)
	s.must("POST", "/api/v1/sites", map[string]any{"name": "dc1", "auth_key": "key-of-dc1", "networks": []int{4100}}, 201)
	s.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "02:00:00:00:00:01", "site": "dc1",
		"rlocs": []map[string]any{{"address": "192.0.2.1"}}}, 201)
	s.kill9()

	s = start(t, db)
	if b := s.must("GET", "/api/v1/networks/4100", nil, 200); !strings.Contains(string(b), `"blue"`) {
		t.Errorf("network after restart: %s", b)
	}
	var rec struct {
		EID     string `json:"eid"`
		Site    string `json:"site"`
		Version int    `json:"version"`
	}
	b := s.must("GET", "/api/v1/lookup?instance_id=4100&eid=02:00:00:00:00:01", nil, 200)
	if err := json.Unmarshal(b, &rec); err != nil || rec.EID != "02:00:00:00:00:01" || rec.Site != "dc1" || rec.Version != 1 {
		t.Errorf("lookup after restart: %s", b)
	}
	if b := s.must("GET", "/api/v1/mappings", nil, 200); !strings.Contains(string(b), `"total":1`) {
		t.Errorf("mappings after restart: %s", b)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, s.stderr)
	}
}

// TestServeRefuses runs serve with bad settings: it must exit non-zero
// with a message that names the problem.
func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "l2lisp.db")
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, bytes.Repeat([]byte("not a database\n"), 300), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	other := filepath.Join(dir, "other-pki")
	if _, err := pki.Init(other, pki.Options{Hosts: []string{"localhost"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		replace map[string]string // flag -> value in the otherwise good arguments
		extra   []string
		want    string
	}{
		{"no TLS and no --insecure-plaintext", map[string]string{"--tls-cert": "", "--tls-key": "", "--tls-ca": ""}, nil,
			"refusing to start without TLS: give --tls-cert, --tls-key and --tls-ca"},
		{"TLS without a CA", map[string]string{"--tls-ca": ""}, nil, "go together"},
		{"TLS and --insecure-plaintext", nil, []string{"--insecure-plaintext"}, "contradicts"},
		{"tcp: OpenFlow target with TLS", nil, []string{"--openflow-target", "tcp:203.0.113.254:6653"}, "ssl:"},
		{"key of another certificate", map[string]string{"--tls-key": filepath.Join(other, pki.ControllerKeyFile)}, nil, "private key does not match"},
		{"certificate of another CA", map[string]string{"--tls-ca": filepath.Join(other, pki.CAFile)}, nil, "not signed by the CA"},
		{"missing certificate file", map[string]string{"--tls-cert": filepath.Join(dir, "none.pem")}, nil, "none.pem"},
		{"unknown flag", nil, []string{"--bogus"}, "bogus"},
		{"positional argument", nil, []string{"extra"}, "unexpected argument"},
		{"listen", map[string]string{"--listen": "8080"}, nil, "--listen"},
		{"openflow listen", map[string]string{"--openflow-listen": "nowhere"}, nil, "--openflow-listen"},
		{"lisp listen", map[string]string{"--lisp-listen": "nowhere"}, nil, "--lisp-listen"},
		{"openflow target", nil, []string{"--openflow-target", "http://x"}, "--openflow-target"},
		{"log format", nil, []string{"--log-format", "xml"}, "--log-format"},
		{"log level", nil, []string{"--log-level", "loud"}, "--log-level"},
		{"registration ttl", nil, []string{"--registration-ttl", "soon"}, "registration-ttl"},
		{"http timeout", nil, []string{"--http-read-header-timeout", "soon"}, "http-read-header-timeout"},
		{"negative connection cap", nil, []string{"--http-max-conns", "-1"}, "--http-max-conns must not be negative"},
		{"negative retention", nil, []string{"--events-max-age", "-1h"}, "--events-max-age must not be negative"},
		{"token file in a missing directory", map[string]string{"--api-token": ""}, []string{"--api-token-file", filepath.Join(dir, "missing", "token")}, "write admin token"},
		{"auth failure burst", nil, []string{"--lisp-auth-fail-burst", "many"}, "lisp-auth-fail-burst"},
		{"map-notify interval", nil, []string{"--map-notify-interval", "0s"}, "--map-notify-interval"},
		{"map-notify retries", nil, []string{"--map-notify-retries", "-1"}, "--map-notify-retries"},
		{"missing db directory", map[string]string{"--db": filepath.Join(dir, "missing", "l2lisp.db")}, nil, "does not exist"},
		{"db not a database", map[string]string{"--db": notDB}, nil, "not a database"},
		{"db is a directory", map[string]string{"--db": dir}, nil, dir},
		{"listen port busy", map[string]string{"--listen": busy.Addr().String()}, nil, busy.Addr().String()},
		{"openflow port busy", map[string]string{"--openflow-listen": busy.Addr().String()}, nil, busy.Addr().String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, args := serveArgs(t, db)
			for i := 0; i+1 < len(args); i++ {
				if v, ok := c.replace[args[i]]; ok {
					args[i+1] = v
				}
			}
			args = append(args, c.extra...)
			out, code := runGuarded(t, args...)
			if code == 0 || !strings.Contains(out, c.want) {
				t.Errorf("l2lisp %s: exit %d, want non-zero with %q in:\n%s", strings.Join(args, " "), code, c.want, out)
			}
		})
	}
	if b, err := os.ReadFile(notDB); err != nil || !bytes.HasPrefix(b, []byte("not a database\n")) || len(b) != 300*15 {
		t.Errorf("serve modified the file that is not a database")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"nosuch"}, `unknown command "nosuch"`},
	} {
		out, code := runGuarded(t, c.args...)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("l2lisp %v: exit %d, want non-zero with %q in:\n%s", c.args, code, c.want, out)
		}
	}
}

// runGuarded runs the serveBinary to its end; a run past 60s (a server that
// should have refused to start) is killed and fails the test.
func runGuarded(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, serveBinary, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("l2lisp %v ran until killed:\n%s", args, out)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestServeSignals(t *testing.T) {
	for _, c := range []struct {
		name   string
		sig    syscall.Signal
		stream bool // an event stream is open when the signal comes
	}{
		{"SIGTERM", syscall.SIGTERM, false},
		{"SIGINT", syscall.SIGINT, false},
		{"SIGTERM with an event stream open", syscall.SIGTERM, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "l2lisp.db")
			s := start(t, db)
			s.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201)
			if c.stream {
				req, _ := http.NewRequest("GET", s.base+"/api/v1/events?since=0", nil)
				req.Header.Set("Authorization", "Bearer read-token")
				resp, err := httpsClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("GET /events: %v", err)
				}
				// Drain in the background so the stream stays open until the server ends it.
				go func() { _, _ = io.Copy(io.Discard, resp.Body); resp.Body.Close() }()
			}
			began := time.Now()
			if err := s.cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			if err := s.wait(); err != nil {
				t.Errorf("exit after %s: %v\n%s", c.name, err, s.stderr)
			}
			t.Logf("%s: exited after %v", c.name, time.Since(began).Round(time.Millisecond))
			if !strings.Contains(s.stderr.String(), "shutting down") {
				t.Errorf("no shutdown message:\n%s", s.stderr)
			}
			s = start(t, db)
			s.must("GET", "/api/v1/networks/4100", nil, 200)
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			_ = s.wait()
		})
	}
}

// TestServeEnv configures serve through the environment alone.
func TestServeEnv(t *testing.T) {
	dir := t.TempDir()
	listen := freePort(t, "tcp")
	env := cleanEnv("L2LISP_DB="+filepath.Join(dir, "env.db"), "L2LISP_LISTEN="+listen,
		"L2LISP_OPENFLOW_LISTEN="+freePort(t, "tcp"), "L2LISP_LISP_LISTEN="+freePort(t, "udp"),
		"L2LISP_API_TOKEN=admin-token", "L2LISP_LOG_FORMAT=json",
		"L2LISP_TLS_CERT="+filepath.Join(servePKI, pki.ControllerCertFile), "L2LISP_TLS_KEY="+filepath.Join(servePKI, pki.ControllerKeyFile),
		"L2LISP_TLS_CA="+filepath.Join(servePKI, pki.CAFile))
	s := startWith(t, listen, []string{"serve"}, env)
	s.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201)
	if _, err := os.Stat(filepath.Join(dir, "env.db")); err != nil {
		t.Errorf("L2LISP_DB not used: %v", err)
	}
	if !strings.Contains(s.stderr.String(), `"msg":"l2lisp serving"`) {
		t.Errorf("L2LISP_LOG_FORMAT=json not used:\n%s", s.stderr)
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}
