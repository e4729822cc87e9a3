package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func root(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// TestComposeConfig validates docker-compose.yml with docker-compose and
// checks it holds the controller, two edges, a host behind each and the
// one-shot setup.
func TestComposeConfig(t *testing.T) {
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose not installed")
	}
	dir := root(t)
	cmd := exec.Command(dc, "-f", filepath.Join(dir, "docker-compose.yml"), "config")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, svc := range []string{"controller:", "edge1:", "edge2:", "host1:", "host2:", "setup:"} {
		if !strings.Contains(string(out), "  "+svc) {
			t.Errorf("compose file lacks service %s", svc)
		}
	}
	// TLS on every channel: the REST API, OpenFlow (ssl: target), OVSDB
	// (pssl: on the edges, ssl: endpoints in setup.sh); nothing plain.
	for _, want := range []string{"L2LISP_TLS_CERT: /pki/controller.pem", "L2LISP_OPENFLOW_TARGET: ssl:", "https://127.0.0.1:8080/healthz"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("compose file lacks %q", want)
		}
	}
	if strings.Contains(string(out), "INSECURE_PLAINTEXT") {
		t.Error("compose file runs the controller without TLS")
	}
	for f, want := range map[string]string{"deploy/edge/entrypoint.sh": "--remote=pssl:6640", "deploy/setup.sh": `ssl:203.0.113.$n:6640`} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q (%v)", f, want, err)
		}
	}
	for _, f := range []string{"Dockerfile", "deploy/edge/Dockerfile", "deploy/edge/entrypoint.sh", "deploy/setup.sh"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

// TestSetupUsesTheAPI checks the setup script's JSON bodies parse, so a
// typo there cannot pass unnoticed.
func TestSetupUsesTheAPI(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "deploy/setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		i, j := strings.Index(line, "'{"), strings.LastIndex(line, "}'")
		if !strings.HasPrefix(strings.TrimSpace(line), "post ") || i < 0 || j < i {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line[i+1:j+1]), &v); err != nil {
			t.Errorf("bad JSON in %q: %v", line, err)
		}
	}
}

// TestSystemdUnit checks the unit's ExecStart uses flags serve knows.
func TestSystemdUnit(t *testing.T) {
	dir := root(t)
	b, err := os.ReadFile(filepath.Join(dir, "deploy/l2lisp.service"))
	if err != nil {
		t.Fatal(err)
	}
	var exe string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			exe = v
		}
	}
	if exe == "" {
		t.Fatal("no ExecStart")
	}
	out, _ := exec.Command("go", "run", filepath.Join(dir, "cmd/l2lisp"), "serve", "-h").CombinedOutput()
	for _, f := range strings.Fields(exe) {
		if strings.HasPrefix(f, "--") && !strings.Contains(string(out), "-"+strings.TrimLeft(f, "-")+" ") {
			t.Errorf("ExecStart flag %s unknown to l2lisp serve:\n%s", f, out)
		}
	}
}
