package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/northbound/client"
	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/store"
)

// testAPI is the real API over HTTPS, with the CA its certificate chains to.
type testAPI struct {
	URL string
	CA  string
	Ctl *controller.Controller
}

// newAPI runs the real API over a controller over a SQLite file.
func newAPI(t *testing.T) *testAPI {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, t.TempDir()+"/db", log)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	ctl, err := controller.New(ctx, db, log)
	if err != nil {
		t.Fatalf("controller.New: %v", err)
	}
	t.Cleanup(func() {
		ctl.Close()
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	ca := pkitest.New(t)
	srv := ca.Server(t, northbound.New(ctl, northbound.Options{AdminToken: "admin"}).Handler())
	return &testAPI{URL: srv.URL, CA: ca.CAFile(), Ctl: ctl}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli runs one CLI command in-process with the given environment.
type cli struct {
	t     *testing.T
	env   map[string]string
	stdin string
	tty   bool
}

func newCLI(t *testing.T, srv *testAPI) *cli {
	return &cli{t: t, env: map[string]string{"L2LISP_SERVER": srv.URL, "L2LISP_TOKEN": "admin", "L2LISP_CA": srv.CA,
		"HOME": t.TempDir()}}
}

func (c *cli) session(stdout, stderr *syncBuffer) *session {
	return &session{stdin: strings.NewReader(c.stdin), stdout: stdout, stderr: stderr, tty: c.tty,
		lookupEnv: func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }}
}

func (c *cli) run(args ...string) (string, string, int) {
	c.t.Helper()
	var out, errOut syncBuffer
	code := c.session(&out, &errOut).run(context.Background(), args[0], args[1:])
	return out.String(), errOut.String(), code
}

// commandSteps are one scenario, in order: each subcommand's happy path
// and an API error.
var commandSteps = []struct {
	args    string
	code    int
	out     []string // each must appear on stdout
	errText string   // must appear on stderr
}{
	{"network add 100 blue", 0, []string{"IID", "100", "blue"}, ""},
	{"network add 100 blue", 1, nil, "error: a network with instance-id 100 exists (field instance_id)"},
	{"network add x blue", 2, nil, `instance-id "x" is not an integer`},
	{"network list", 0, []string{"100  blue", "lisp-gpe"}, ""},
	{"network show 100", 0, []string{"blue"}, ""},
	{"network show 7", 1, nil, "error: no network with that instance-id (field instance_id)"},
	{"network add 200 red --encap vxlan", 0, []string{"200", "red", "vxlan"}, ""},
	{"network add 300 green --encap geneve", 1, nil, "(field encapsulation)"},
	{"network set 200 --encap lisp-gpe", 0, []string{"red", "lisp-gpe"}, ""},
	{"network set 200 --encap bogus", 1, nil, "(field encapsulation)"},
	{"network set 7 --encap vxlan", 1, nil, "error: no network with instance-id 7 (field instance_id)"},
	{"network set 200", 2, nil, "nothing to change: give --encap"},
	{"network rm 200", 0, []string{"deleted network 200"}, ""},
	{"site add dc1 --auth-key secret-dc1 --networks 100", 0, []string{"name:", "dc1", "(any)"}, ""},
	{"site add dc2 --auth-key short --networks 100", 1, nil, "(field auth_key)"},
	{"site add dc2 --networks x", 2, nil, `--networks: "x" is not an integer`},
	{"site set dc1 --eid-prefixes 10.0.0.0/8,fd00::/8", 0, []string{"10.0.0.0/8,fd00::/8", "100"}, ""},
	{"site set dc1 --mac-prefixes 02:00:10:00:00:00/24 --rloc-prefix 192.0.2.0/24", 0,
		[]string{"mac scope:", "02:00:10:00:00:00/24", "rloc prefixes:", "192.0.2.0/24", "10.0.0.0/8"}, ""},
	{"site set dc1 --any-mac", 0, []string{"mac scope:", "any", "192.0.2.0/24"}, ""},
	{"site set dc1 --mac-prefix 02:00:10:00:00:00/99", 1, nil, "(field mac_prefixes)"},
	{"site set dc1 --rloc-prefixes not-a-prefix", 1, nil, "(field rloc_prefixes)"},
	{"site set nope --eid-prefixes 10.0.0.0/8", 1, nil, "(field name)"},
	{"site list", 0, []string{"NAME", "MAC SCOPE", "dc1", "10.0.0.0/8", "any", "192.0.2.0/24"}, ""},
	{"site show dc1", 0, []string{"networks:", "100"}, ""},
	{"site show nope", 1, nil, `error: no site named "nope" (field name)`},
	{"xtr add edge1 --site dc1 --rloc 192.0.2.1 --weight 50 --ovsdb tcp:192.0.2.1:6640", 0, []string{"192.0.2.1 priority 1 weight 50", "ovsdb:", "down"}, ""},
	{"xtr add edge2 --site dc1 --rloc not-an-ip", 1, nil, "(field rloc)"},
	{"xtr add edge2 --rloc 192.0.2.2", 2, nil, "--site is required"},
	{"xtr list", 0, []string{"edge1", "dc1", "192.0.2.1", "FLOWS"}, ""},
	{"xtr show edge1", 0, []string{"openflow:", "flows:", "tcp:192.0.2.1:6640"}, ""},
	{"xtr drain edge1 --wait 0", 0, []string{"edge1:", "drained (event", "designated forwarder of:"}, ""},
	{"xtr drain edge1 --wait 0", 0, []string{"already drained"}, ""},
	{"xtr show edge1", 0, []string{"locator:", "up, drained"}, ""},
	{"xtr undrain edge1 --wait 0", 0, []string{"in service (event"}, ""},
	{"xtr drain nope", 1, nil, `error: no xTR named "nope" (field name)`},
	{"xtr show nope", 1, nil, `error: no xTR named "nope"`},
	{"port add edge1 vm1 --iid 100", 0, []string{"vm1", "100"}, ""},
	{"port add edge1 vm2 --iid 999", 1, nil, "(field instance_id)"},
	{"port add edge1 vm2", 2, nil, "--iid is required"},
	{"port list edge1", 0, []string{"PORT", "vm1"}, ""},
	{"port list nope", 1, nil, `error: no xTR named "nope"`},
	{"mapping add 10.1.0.1 --iid 100 --site dc1", 0, []string{"[100]10.1.0.1/32", "192.0.2.1/1/50"}, ""},
	{"mapping add 10.1.0.2 --iid 100 --site dc1 --rloc 198.51.100.1/2/30;198.51.100.2 --ttl 5", 0, []string{"198.51.100.1/2/30;198.51.100.2/1/100", "5 min"}, ""},
	{"mapping add 172.16.0.1 --iid 100 --site dc1", 1, nil, "outside the EID prefixes"},
	{"mapping add 10.1.0.3 --iid 100 --site dc1 --rloc 198.51.100.1/x", 2, nil, "priority is not an integer"},
	{"mapping list --iid 100", 0, []string{"10.1.0.1/32", "10.1.0.2/32", "static"}, ""},
	{"mapping list --limit 1", 0, []string{"(mappings 1-1 of 2; --offset 1 for more)"}, ""},
	{"mapping list --origin bogus", 1, nil, "(field origin)"},
	{"mapping show --iid 100 10.1.0.2", 0, []string{"rlocs:", "198.51.100.1/2/30"}, ""},
	{"mapping show --iid 100 10.9.9.9", 1, nil, "error: no mapping of 10.9.9.9/32 in instance-id 100 (field eid)"},
	{"mapping history --iid 100 10.1.0.2", 0, []string{"mapping.created"}, ""},
	{"mapping history --iid 100 bogus", 1, nil, "(field eid)"},
	{"lookup --iid 100 10.1.0.2", 0, []string{"[100]10.1.0.2/32"}, ""},
	{"lookup --iid 100 172.16.0.9", 0, []string{"negative:", "action:"}, ""},
	{"lookup --iid 100 bogus", 1, nil, "(field eid)"},
	{"lookup 10.1.0.2", 2, nil, "--iid is required"},
	{"mapping rm --iid 100 10.1.0.2", 0, []string{"deleted mapping [100]10.1.0.2"}, ""},
	{"mapping rm --iid 100 10.1.0.2", 1, nil, "error: no mapping for 10.1.0.2/32 in instance-id 100 (field eid)"},
	{"events --since 0", 0, []string{"network.created", "site.updated", "mapping.deleted", "iid=100 eid=10.1.0.2/32 site=dc1"}, ""},
	{"port rm edge1 vm1", 0, []string{"unbound port vm1 of edge1"}, ""},
	{"port rm edge1 vm1", 1, nil, `error: no port "vm1" on xTR "edge1" (field port)`},
	{"site rm dc1", 1, nil, `error: site "dc1" still has 1 xTRs; delete them first (field name)`},
	{"xtr rm edge1", 0, []string{"deleted xTR edge1"}, ""},
	{"xtr rm edge1", 1, nil, `error: no xTR named "edge1" (field name)`},
	{"site rm dc1", 0, []string{"deleted site dc1"}, ""},
	{"network rm 100", 0, []string{"deleted network 100"}, ""},
	{"network rm 100", 1, nil, "error: no network with instance-id 100 (field instance_id)"},
	{"cluster", 0, []string{"REPLICA", "leader"}, ""},
	{"network frobnicate", 2, nil, "verbs:"},
	{"network list extra", 2, nil, "takes no arguments"},
	{"network list -o yaml", 2, nil, `-o "yaml"`},
}

func TestCommands(t *testing.T) {
	srv := newAPI(t)
	c := newCLI(t, srv)
	for _, s := range commandSteps {
		out, errOut, code := c.run(strings.Fields(s.args)...)
		if code != s.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.args, code, s.code, out, errOut)
			continue
		}
		for _, w := range s.out {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.args, w, out)
			}
		}
		if !strings.Contains(errOut, s.errText) {
			t.Errorf("%s: stderr lacks %q:\n%s", s.args, s.errText, errOut)
		}
	}
}

func TestJSONOutput(t *testing.T) {
	srv := newAPI(t)
	c := newCLI(t, srv)
	for _, setup := range []string{
		"network add 5 red", "site add dc1 --auth-key secret-dc1 --networks 5",
		"xtr add e1 --site dc1 --rloc 192.0.2.1", "port add e1 p1 --iid 5",
		"mapping add 00:00:5e:00:53:01 --iid 5 --site dc1",
	} {
		if out, errOut, code := c.run(strings.Fields(setup)...); code != 0 {
			t.Fatalf("%s: %d %s %s", setup, code, out, errOut)
		}
	}
	// Each answer must decode into the API's type with the expected values.
	tests := []struct {
		args  string
		into  any
		check func(v any) bool
	}{
		{"network list -o json", &[]client.Network{}, func(v any) bool { return (*v.(*[]client.Network))[0].Name == "red" }},
		{"network show 5 --output json", &client.Network{}, func(v any) bool { return v.(*client.Network).InstanceID == 5 }},
		{"site show dc1 -o json", &client.Site{}, func(v any) bool { return v.(*client.Site).Networks[0] == 5 }},
		{"site list -o json", &[]client.Site{}, func(v any) bool { return len(*v.(*[]client.Site)) == 1 }},
		{"xtr show -o json e1", &client.XTR{}, func(v any) bool { return v.(*client.XTR).RLOC == "192.0.2.1" }},
		{"xtr list -o json", &[]client.XTR{}, func(v any) bool { return (*v.(*[]client.XTR))[0].Bridge == "br-int" }},
		{"port list e1 -o json", &[]client.Port{}, func(v any) bool { return (*v.(*[]client.Port))[0].OFPort >= 100 }},
		{"mapping list -o json", &client.MappingPage{}, func(v any) bool { return v.(*client.MappingPage).Total == 1 }},
		{"mapping show --iid 5 00:00:5E:00:53:01 -o json", &client.Mapping{}, func(v any) bool { return v.(*client.Mapping).Family == "mac" }},
		{"mapping history --iid 5 00:00:5e:00:53:01 -o json", &[]client.Event{}, func(v any) bool { return len(*v.(*[]client.Event)) == 1 }},
		{"lookup --iid 5 00:00:5e:00:53:01 -o json", &client.LookupResult{}, func(v any) bool { return !v.(*client.LookupResult).Negative }},
		{"mapping add 00:00:5e:00:53:02 --iid 5 --site dc1 -o json", &client.Mapping{}, func(v any) bool { return v.(*client.Mapping).Version == 1 }},
	}
	for _, tt := range tests {
		out, errOut, code := c.run(strings.Fields(tt.args)...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", tt.args, code, errOut)
			continue
		}
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(tt.into); err != nil || !tt.check(tt.into) {
			t.Errorf("%s: %v, got %s", tt.args, err, out)
		}
	}
	out, _, code := c.run("events", "--since", "0", "-o", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		var ev client.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.ID == 0 {
			t.Errorf("events -o json line %q: %v", l, err)
		}
	}
	if code != 0 || len(lines) != 6 {
		t.Errorf("events -o json: exit %d, %d lines, want 6:\n%s", code, len(lines), out)
	}
}

func TestEventsFollow(t *testing.T) {
	srv := newAPI(t)
	c := newCLI(t, srv)
	if _, errOut, code := c.run("network", "add", "1", "one"); code != 0 {
		t.Fatal(errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	lines := make(chan string, 10)
	x := c.session(&syncBuffer{}, &syncBuffer{})
	x.stdout = lineWriter(lines)
	done := make(chan int, 1)
	go func() { done <- x.run(ctx, "events", []string{"--follow", "--since", "0"}) }()
	if l := <-lines; !strings.Contains(l, "network.created") || !strings.Contains(l, "iid=1") {
		t.Errorf("first line %q", l)
	}
	if _, errOut, code := c.run("network", "add", "2", "two"); code != 0 {
		t.Fatal(errOut)
	}
	if l := <-lines; !strings.HasPrefix(l, "2 ") || !strings.Contains(l, "iid=2") {
		t.Errorf("second line %q", l)
	}
	cancel()
	if code := <-done; code != exitInterrupt {
		t.Errorf("exit %d after Ctrl-C, want %d", code, exitInterrupt)
	}
	// Without --follow, nothing to list past the newest event.
	if out, _, code := c.run("events", "--since", "2"); code != 0 || out != "" {
		t.Errorf("events --since last: %d %q", code, out)
	}
}

// lineWriter hands over each written line.
type lineWriter chan<- string

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w <- l
	}
	return len(p), nil
}

func TestConfigPrecedence(t *testing.T) {
	srv := newAPI(t)
	dir := t.TempDir()
	write := func(name, server, token string) string {
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(cliConfig{Server: server, Token: token, CA: srv.CA})
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".config", "l2lisp"), 0o755); err != nil {
		t.Fatal(err)
	}
	good := write("good.json", srv.URL, "admin")
	badTok := write("badtok.json", srv.URL, "wrong")
	if err := os.Rename(write("home.json", srv.URL, "admin"), filepath.Join(home, ".config", "l2lisp", "config.json")); err != nil {
		t.Fatal(err)
	}
	dead := "https://127.0.0.1:1" // nothing listens there
	other := pkitest.New(t).CAFile()
	noCA := func() string { // a config file that names no CA
		p := filepath.Join(dir, "noca.json")
		b, _ := json.Marshal(cliConfig{Server: srv.URL, Token: "admin"})
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		err  string
	}{
		{"flags only", map[string]string{}, []string{"--server", srv.URL, "--token", "admin"}, 0, ""},
		{"env only", map[string]string{"L2LISP_SERVER": srv.URL, "L2LISP_TOKEN": "admin"}, nil, 0, ""},
		{"config file only", map[string]string{"L2LISP_CONFIG": good}, nil, 0, ""},
		{"default config file", map[string]string{"HOME": home}, nil, 0, ""},
		{"$L2LISP_CONFIG over the default file", map[string]string{"HOME": home, "L2LISP_CONFIG": badTok}, nil, 1, "unknown token"},
		{"flag token beats env", map[string]string{"L2LISP_SERVER": srv.URL, "L2LISP_TOKEN": "wrong"}, []string{"--token", "admin"}, 0, ""},
		{"flag server beats env", map[string]string{"L2LISP_SERVER": dead, "L2LISP_TOKEN": "admin"}, []string{"--server", srv.URL}, 0, ""},
		{"env token beats config", map[string]string{"L2LISP_CONFIG": badTok, "L2LISP_TOKEN": "admin"}, nil, 0, ""},
		{"env server beats config", map[string]string{"L2LISP_CONFIG": write("dead.json", dead, "admin"), "L2LISP_SERVER": srv.URL}, nil, 0, ""},
		{"config token used", map[string]string{"L2LISP_CONFIG": badTok}, nil, 1, "error: unknown token (field Authorization)"},
		{"no token at all", map[string]string{"L2LISP_SERVER": srv.URL}, nil, 1, "a bearer token is required"},
		{"missing named config", map[string]string{"L2LISP_CONFIG": filepath.Join(dir, "none.json")}, nil, 1, "config:"},
		{"server without scheme is https", map[string]string{"L2LISP_SERVER": strings.TrimPrefix(srv.URL, "https://"), "L2LISP_TOKEN": "admin"}, nil, 0, ""},
		{"plain http to the TLS server", map[string]string{"L2LISP_SERVER": strings.Replace(srv.URL, "https:", "http:", 1), "L2LISP_TOKEN": "admin"}, nil, 1, "HTTP request to an HTTPS server"},
		{"CA from the config file", map[string]string{"L2LISP_CONFIG": good, "L2LISP_CA": ""}, nil, 0, ""},
		{"no CA: the system's do not know ours", map[string]string{"L2LISP_CONFIG": noCA, "L2LISP_CA": ""}, nil, 1, "certificate signed by unknown authority"},
		{"another CA", map[string]string{"L2LISP_CONFIG": noCA, "L2LISP_CA": other}, nil, 1, "certificate signed by unknown authority"},
		{"flag CA beats env", map[string]string{"L2LISP_CONFIG": noCA, "L2LISP_CA": other}, []string{"--ca", srv.CA}, 0, ""},
		{"unreadable CA", map[string]string{"L2LISP_CONFIG": noCA}, []string{"--ca", filepath.Join(dir, "none.pem")}, 1, "--ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"L2LISP_CA": srv.CA}
			for k, v := range tt.env {
				env[k] = v
			}
			if env["L2LISP_CA"] == "" {
				delete(env, "L2LISP_CA")
			}
			c := &cli{t: t, env: env}
			_, errOut, code := c.run(append([]string{"network", "list"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.err) {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errOut, tt.code, tt.err)
			}
		})
	}
}

// importSetup makes network 100, site dc1 (10.0.0.0/8) with an xTR, and a
// mapping of 10.0.0.9 for the import to replace.
func importSetup(t *testing.T) *cli {
	c := newCLI(t, newAPI(t))
	for _, s := range []string{
		"network add 100 blue", "site add dc1 --auth-key secret-dc1 --networks 100 --eid-prefixes 10.0.0.0/8",
		"xtr add e1 --site dc1 --rloc 192.0.2.1", "mapping add 10.0.0.9 --iid 100 --site dc1",
	} {
		if _, errOut, code := c.run(strings.Fields(s)...); code != 0 {
			t.Fatalf("%s: %s", s, errOut)
		}
	}
	return c
}

const importCSV = `instance_id,eid,site,rlocs,ttl
100,10.0.0.1,dc1,,
100,10.0.0.2,dc1,192.0.2.9/1/50;192.0.2.10,30
100,10.0.0.9,dc1,,60
999,10.0.0.3,dc1,,
999,10.0.0.4,dc1,,
abc,10.0.0.5,dc1,,
100,172.16.0.1,dc1,,
100,10.0.0.6,dc1,192.0.2.9/x,
100,10.0.0.7,dc1
# a comment
100,10.0.0.8,dc1,,
`

func TestImportCSV(t *testing.T) {
	c := importSetup(t)
	file := filepath.Join(t.TempDir(), "mappings.csv")
	if err := os.WriteFile(file, []byte(importCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := c.run("mapping", "import", file, "--workers", "3")
	if code != exitError || !strings.Contains(errOut, "error: 6 of 10 mappings refused") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(errOut, "import: 10/10 mappings sent, 6 refused") || strings.Contains(errOut, "\r") {
		t.Errorf("not a terminal: want one plain final line, got %q", errOut)
	}
	want := [][]string{
		{"10 mappings: 3 created, 1 replaced, 6 refused"},
		{"2", "invalid", "instance_id", "unknown instance-id 999", "5,6"},
		{"1", "invalid", "instance_id", "instance_id must be an integer", "7"},
		{"1", "forbidden", "eid", "outside the EID prefixes", "8"},
		{"1", "invalid", "rlocs", "priority is not an integer", "9"},
		{"1", "invalid", "-", "3 fields, the header has 5", "10"},
	}
	lines := strings.Split(out, "\n")
	for _, w := range want {
		if !slices.ContainsFunc(lines, func(l string) bool { return containsAll(l, w) }) {
			t.Errorf("summary lacks a line with %q:\n%s", w, out)
		}
	}
	// What the import created is there, with its RLOCs and TTL.
	out, _, _ = c.run("mapping", "list", "--iid", "100", "-o", "json")
	var page client.MappingPage
	if err := json.Unmarshal([]byte(out), &page); err != nil || page.Total != 4 {
		t.Fatalf("after import: %v, %s", err, out)
	}
	for _, m := range page.Items {
		if m.EID == "10.0.0.2/32" && (m.TTL != 30 || fmtRLOCs(m.RLOCs) != "192.0.2.9/1/50;192.0.2.10/1/100") {
			t.Errorf("imported mapping = %+v", m)
		}
		if m.EID == "10.0.0.9/32" && (m.Version != 2 || m.TTL != 60) {
			t.Errorf("replaced mapping = %+v", m)
		}
	}
}

// containsAll reports whether line holds every want string, in order.
func containsAll(line string, want []string) bool {
	i := 0
	for _, w := range want {
		j := strings.Index(line[i:], w)
		if j < 0 {
			return false
		}
		i += j + len(w)
	}
	return true
}

func TestImportJSON(t *testing.T) {
	c := importSetup(t)
	c.tty = true
	c.stdin = `[
  {"instance_id": 100, "eid": "10.0.0.1", "site": "dc1"},
  {"instance_id": 100, "eid": "10.0.0.9", "site": "dc1",
   "rlocs": [{"address": "192.0.2.7", "priority": 3, "weight": 9}]},
  {"instance_id": 100, "eid": "10.0.0.2", "site": "dc1", "colour": "red"},
  {"eid": "10.0.0.3", "site": "dc1"}
]`
	out, errOut, code := c.run("mapping", "import", "-", "-o", "json")
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(errOut, "\r[") || !strings.Contains(errOut, "100% 4/4 (2 refused)") {
		t.Errorf("terminal: want a progress bar, got %q", errOut)
	}
	var rep importReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("summary: %v: %s", err, out)
	}
	if rep.Total != 4 || rep.Created != 1 || rep.Replaced != 1 || rep.Refused != 2 || len(rep.Errors) != 2 {
		t.Fatalf("summary = %+v", rep)
	}
	for _, want := range []refusal{
		{Code: "invalid", Field: "colour", Message: "unknown field colour", Count: 1, Lines: []int{5}},
		{Code: "invalid", Field: "instance_id", Message: "instance_id is required", Count: 1, Lines: []int{6}},
	} {
		if !slices.ContainsFunc(rep.Errors, func(g refusal) bool {
			return g.Code == want.Code && g.Field == want.Field && g.Message == want.Message && slices.Equal(g.Lines, want.Lines)
		}) {
			t.Errorf("summary lacks %+v: %+v", want, rep.Errors)
		}
	}
}

func TestImportFileErrors(t *testing.T) {
	c := importSetup(t)
	dir := t.TempDir()
	tests := []struct {
		name, content, err string
		code               int
	}{
		{"bad.csv", "eid,site\n10.0.0.1,dc1\n", `column "instance_id" is missing`, exitError},
		{"cols.csv", "instance_id,eid,site,colour\n", `unknown column "colour"`, exitError},
		{"bad.json", `{"instance_id": 1}`, "want an array", exitError},
		{"trunc.json", `[{"instance_id": 1},`, "JSON", exitError},
		{"none.csv", "", "", exitError},
		{"empty.json", "[]", "", exitOK},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		if tt.name != "none.csv" {
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		out, errOut, code := c.run("mapping", "import", p)
		if code != tt.code || !strings.Contains(errOut, tt.err) {
			t.Errorf("%s: exit %d, stderr %q, stdout %q", tt.name, code, errOut, out)
		}
	}
}
