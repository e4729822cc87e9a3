package main

import (
	"bufio"
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

	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// leakRun is one serve run whose every log line, API answer and event row
// is searched for secrets.
type leakRun struct {
	t       *testing.T
	s       *server
	token   string   // the bootstrap admin token
	lisp    string   // the LISP control plane address
	answers []string // every API answer read
}

func (r *leakRun) call(method, path, token string, body any) (int, string) {
	r.t.Helper()
	var in io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, r.s.base+path, in)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpsClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r.answers = append(r.answers, method+" "+path+": "+string(b))
	return resp.StatusCode, string(b)
}

func (r *leakRun) must(method, path, token string, body any, want int) string {
	r.t.Helper()
	status, b := r.call(method, path, token, body)
	if status != want {
		r.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	return b
}

// replay reads the event stream from the start until it is idle.
func (r *leakRun) replay(token string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.s.base+"/api/v1/events?since=0", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpsClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var sb strings.Builder
	for sc.Scan() { // ends when ctx does
		sb.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(sb.String(), "token.created") {
		r.t.Errorf("the event stream lacks token.created:\n%s", sb.String())
	}
	r.answers = append(r.answers, "events: "+sb.String())
}

// TestServeNoSecretLeaks runs serve without --api-token (on SQLite, and on
// PostgreSQL through a role with its own password), uses the generated
// admin token, a created token and a site key, and searches the logs, the
// API's answers and the events table for any of them.
func TestServeNoSecretLeaks(t *testing.T) {
	const pgPassword = "pg-Secret-4f9e2a7c1b"
	t.Run("sqlite", func(t *testing.T) { testNoSecretLeaks(t, filepath.Join(t.TempDir(), "l2lisp.db"), pgPassword) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(storetest.Env) == "" {
			t.Skipf("%s not set: the PostgreSQL password is not tested", storetest.Env)
		}
		testNoSecretLeaks(t, storetest.PostgresWithPassword(t, pgPassword), pgPassword)
	})
}

func testNoSecretLeaks(t *testing.T, dsn, pgPassword string) {
	const siteKey = "site-Key-93b1d0e6a5"
	const wrongKey = "wrong-Key-5a7c9e1f3d"
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin-token")
	listen, lisp := freePort(t, "tcp"), freePort(t, "udp")
	args := []string{"serve", "--db", dsn, "--listen", listen, "--openflow-listen", freePort(t, "tcp"),
		"--lisp-listen", lisp, "--api-token-file", tokenFile, "--log-level", "debug"}
	args = append(args, tlsArgs()...)
	r := &leakRun{t: t, s: startWith(t, listen, args, cleanEnv()), lisp: lisp}
	st, err := os.Stat(tokenFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v, mode %v; want 0600", err, st)
	}
	b, _ := os.ReadFile(tokenFile)
	r.token = strings.TrimSpace(string(b))
	if len(r.token) < 40 {
		t.Fatalf("admin token %d characters", len(r.token))
	}

	r.must("POST", "/api/v1/networks", r.token, map[string]any{"instance_id": 4100, "name": "blue"}, 201)
	r.must("POST", "/api/v1/sites", r.token, map[string]any{"name": "dc1", "auth_key": siteKey, "networks": []int{4100},
		"eid_prefixes": []string{"198.51.100.0/24"}}, 201)
	r.must("PATCH", "/api/v1/sites/dc1", r.token, map[string]any{"auth_key": siteKey}, 200)
	var created struct{ Secret string }
	if err := json.Unmarshal([]byte(r.must("POST", "/api/v1/tokens", r.token, map[string]any{"name": "ops", "role": "operator"}, 201)), &created); err != nil {
		t.Fatal(err)
	}
	r.answers = r.answers[:len(r.answers)-1] // the one answer that holds a secret by design
	r.must("POST", "/api/v1/mappings", created.Secret, map[string]any{"instance_id": 4100, "eid": "198.51.100.9", "site": "dc1",
		"rlocs": []map[string]any{{"address": "192.0.2.1"}}}, 201)
	r.call("POST", "/api/v1/mappings", created.Secret, map[string]any{"instance_id": 4100, "eid": "203.0.113.9", "site": "dc1"})
	register(t, lisp, siteKey, "198.51.100.0/28")
	register(t, lisp, wrongKey, "198.51.100.16/28")
	for _, p := range []string{"/sites", "/sites/dc1", "/tokens", "/mappings", "/xtrs",
		"/mappings/history?instance_id=4100&eid=198.51.100.0/28", "/lookup?instance_id=4100&eid=198.51.100.1"} {
		r.must("GET", "/api/v1"+p, r.token, nil, 200)
	}
	r.call("GET", "/api/v1/networks", "not-"+r.token, nil) // a failed login
	r.replay(created.Secret)
	rows := eventRows(t, dsn)

	if err := r.s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.s.wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	logs := r.s.stderr.String()
	secrets := map[string]string{"the admin token": r.token, "a created token": created.Secret,
		"the site key": siteKey, "a wrong site key": wrongKey, "the database password": pgPassword}
	for what, secret := range secrets {
		for where, text := range map[string]string{"the log": logs, "the API's answers": strings.Join(r.answers, "\n"),
			"the events table": rows} {
			if strings.Contains(text, secret) {
				t.Errorf("%s leaked into %s", what, where)
			}
		}
	}
	for _, want := range []string{"generated an admin token", tokenFile, "registration.refused"} {
		if !strings.Contains(logs+rows, want) {
			t.Errorf("%q is in neither the log nor the events:\n%s", want, logs)
		}
	}
	if strings.HasPrefix(dsn, "postgres") && !strings.Contains(logs, ":xxxxx@") {
		t.Errorf("the log does not show the redacted database URL:\n%s", logs)
	}

	// A restart reads the token back; the file's mode is checked.
	r.s = startWith(t, listen, args, cleanEnv())
	r.must("GET", "/api/v1/networks", r.token, nil, 200)
	_ = r.s.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.s.wait()
	if strings.Contains(r.s.stderr.String(), r.token) || !strings.Contains(r.s.stderr.String(), "admin token read from its file") {
		t.Errorf("restart log:\n%s", r.s.stderr)
	}
	if err := os.Chmod(tokenFile, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runGuarded(t, args...)
	if code == 0 || !strings.Contains(out, "chmod 600") || strings.Contains(out, r.token) {
		t.Errorf("serve with a world-readable token file: exit %d\n%s", code, out)
	}
}

// register sends one Map-Register with key through the l2lisp binary.
func register(t *testing.T, ms, key, eid string) {
	t.Helper()
	cmd := exec.Command(serveBinary, "register", "--ms", ms, "--key", key, "--iid", "4100", "--eid", eid,
		"--rloc", "192.0.2.9")
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
}

// eventRows is the whole events table as JSON.
func eventRows(t *testing.T, dsn string) string {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if s, err := db.DB(); err == nil {
			_ = s.Close()
		}
	}()
	var rows []store.Event
	deadline := time.Now().Add(10 * time.Second)
	for { // the refusal event is written behind
		if err := db.Order("id").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rows)
		if strings.Contains(string(b), "registration.refused") || time.Now().After(deadline) {
			return string(b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeHidesDatabasePassword starts serve on PostgreSQL URLs that
// cannot work: it must fail, naming the database without its password.
func TestServeHidesDatabasePassword(t *testing.T) {
	const pw = "pw-Hidden-8d2c4e6f0a"
	closed := freePort(t, "tcp")
	for _, dsn := range []string{
		"postgres://l2lisp:" + pw + "@" + closed + "/l2lisp?sslmode=disable&connect_timeout=2",
		"postgres://l2lisp@" + closed + "/l2lisp?sslmode=disable&connect_timeout=2&password=" + pw,
	} {
		_, args := serveArgs(t, dsn)
		out, code := runGuarded(t, args...)
		if code == 0 || strings.Contains(out, pw) || !strings.Contains(out, "xxxxx") {
			t.Errorf("serve --db %s: exit %d\n%s", store.Redact(dsn), code, out)
		}
	}
}
