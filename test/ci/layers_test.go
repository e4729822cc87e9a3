package ci

import (
	"os/exec"
	"strings"
	"testing"
)

// layers ranks every package of the module: a package may import only
// packages of a lower layer, so imports run downward (README, Layout). A
// new package must be given its layer here.
var layers = [][]string{
	{"migrations"}, // the SQL files, embedded
	// Codecs, the store and other leaves: they import nothing of ours.
	{"mapping", "mapserver/packet", "mapserver/udpio", "southbound/openflow/ofp13",
		"southbound/ovsdb/vswitchd", "metrics", "pki", "ratelimit", "store", "store/storetest",
		"test/ci", "test/ci/testreport", "test/deploy", "test/e2e/internal/hostctl"},
	// Southbound drivers, frame parsing, clients of our own protocols.
	{"frame", "frame/frametest", "southbound/openflow", "southbound/ovsdb", "mapserver/client",
		"pki/pkitest", "northbound/client", "test/sim", "test/lab"},
	// Desired state to flows: a pure function.
	{"pipeline"},
	// Controller state, the change feed, the cluster lease.
	{"controller", "cluster"},
	// Front doors (REST, LISP) and the reconciler driving the switches.
	{"reconcile", "mapserver", "northbound"},
	// The dashboard; the scale harness (bench scale), which runs serve as
	// a process and talks to it through its clients.
	{"web", "test/scale"},
	// Wiring only.
	{"cmd/l2lisp"},
	{"test/e2e"},
}

// TestImportsRunDownward fails on an import of a package of the same or a
// higher layer, and on a package no layer names.
func TestImportsRunDownward(t *testing.T) {
	const mod = "github.com/l2lisp/l2lisp/"
	rank := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			rank[p] = i
		}
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		r, ok := rank[pkg]
		if !ok {
			t.Errorf("package %s is in no layer (test/ci/layers_test.go)", pkg)
			continue
		}
		for _, imp := range f[1:] {
			dep, ours := strings.CutPrefix(imp, mod)
			if !ours {
				continue
			}
			if d, ok := rank[dep]; ok && d >= r {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must run downward", pkg, r, dep, d)
			}
		}
	}
}
