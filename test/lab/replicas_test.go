package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReplicaPlan(t *testing.T) {
	cfg := Config{Replicas: 3, DB: "postgres://db/x", Binary: "/bin/l2lisp", RunDir: "/tmp/l2lab-x",
		ServeArgs: []string{"--bfd"}}.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	topo := plan(cfg)
	want := "ssl:203.0.113.254:6653,ssl:203.0.113.254:6654,ssl:203.0.113.254:6655"
	if topo.OpenFlow != want {
		t.Errorf("OpenFlow targets %q, want %q", topo.OpenFlow, want)
	}
	if len(topo.Replicas) != 3 || topo.Replicas[2].ID != "r3" || topo.Replicas[2].API != "https://203.0.113.254:8082" ||
		topo.Replicas[2].LISP != "203.0.113.254:4344" || topo.Replicas[2].Log != "/tmp/l2lab-x/replicas/r3.log" {
		t.Errorf("replicas %+v", topo.Replicas)
	}
	args := replicaArgs(cfg, topo, topo.Replicas[1])
	for _, pair := range [][2]string{
		{"--db", "postgres://db/x"}, {"--listen", "203.0.113.254:8081"}, {"--openflow-listen", "203.0.113.254:6654"},
		{"--openflow-target", want}, {"--lisp-listen", "203.0.113.254:4343"}, {"--replica-id", "r2"},
		{"--api-token-file", "/tmp/l2lab-x/admin-token"}, {"--tls-ca", "/tmp/l2lab-x/pki/ca.pem"},
	} {
		if i := slices.Index(args, pair[0]); i < 0 || i+1 >= len(args) || args[i+1] != pair[1] {
			t.Errorf("serve args %v: want %s %s", args, pair[0], pair[1])
		}
	}
	if args[0] != "serve" || args[len(args)-1] != "--bfd" || slices.Contains(args, "--api-token") {
		t.Errorf("serve args %v", args)
	}
}

func TestReplicaConfigRefused(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Replicas: 2, DB: "/tmp/l2lab-x/l.db", Binary: "l2lisp"}, "PostgreSQL"},
		{Config{Replicas: 2, Binary: "l2lisp"}, "PostgreSQL"},
		{Config{Replicas: 1, Binary: "l2lisp", Plaintext: true}, "Plaintext"},
		{Config{Replicas: 1}, "Binary"},
		{Config{Replicas: MaxReplicas + 1, DB: "postgres://db/x", Binary: "l2lisp"}, "replicas 10"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
	// One replica may run on SQLite, a file in the run dir by default.
	one := Config{Replicas: 1, Binary: "l2lisp", Register: true}.withDefaults()
	if err := one.validate(); err != nil || one.DB != filepath.Join(DefaultRunDir, "l2lisp.db") {
		t.Errorf("one replica: %v, db %q", err, one.DB)
	}
}

func TestWriteToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-token")
	tok, err := writeToken("", path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := writeToken("", path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", st, err)
	}
	b, _ := os.ReadFile(path)
	if len(tok) != 48 || tok == again || strings.TrimSpace(string(b)) != again {
		t.Errorf("tokens %d chars, differ %v, file holds the last %v", len(tok), tok != again, strings.TrimSpace(string(b)) == again)
	}
	if given, _ := writeToken("mine", path); given != "mine" {
		t.Errorf("given token not kept: %q", given)
	}
}

// A replica whose pid file a killed run lost is still found, by the token
// file on its command line; a process naming only the lab's certificates
// is not.
func TestStrayServe(t *testing.T) {
	dir := t.TempDir()
	// "sh serve ARGS" runs the script ./serve: argv[1] is "serve", as l2lisp's.
	if err := os.WriteFile(filepath.Join(dir, "serve"), []byte("read line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command("sh", append([]string{"serve"}, args...)...)
		cmd.Dir = dir
		stdin, err := cmd.StdinPipe() // read blocks until the test ends
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
		// Until the child has exec'd, /proc shows the test's own command
		// line: wait for the script's.
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
			if strings.HasPrefix(string(b), "sh\x00serve\x00") {
				return cmd
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d never ran the script: %q", cmd.Process.Pid, b)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	ours := start("--api-token-file", filepath.Join(dir, tokenFile), "--tls-ca", filepath.Join(dir, "pki/ca.pem"))
	theirs := start("--tls-ca", filepath.Join(dir, "pki/ca.pem"))
	if got := strayServe(dir); !slices.Equal(got, []int{ours.Process.Pid}) {
		t.Fatalf("strayServe found %v, want only %d (not %d)", got, ours.Process.Pid, theirs.Process.Pid)
	}
	stopReplicas(dir)
	if err := ours.Wait(); err == nil {
		t.Error("the lost replica was not signalled")
	}
	if processGone(theirs.Process.Pid) {
		t.Error("a process not started by the lab was stopped")
	}
}
