package lab

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/l2lisp/l2lisp/pki/pkitest"
)

type call struct {
	Method, Path, Auth, ContentType string
	Body                            map[string]any
}

// fakeAPI records every call and answers with status(path) (and, for
// errors, the controller's error body).
// It serves HTTPS with a certificate of a test CA, which Config.CAFile
// must name.
func fakeAPI(t *testing.T, status func(path string, body map[string]any) int) (*httptest.Server, func() []call) {
	var mu sync.Mutex
	var calls []call
	ca = pkitest.New(t)
	srv := ca.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("%s %s: body not JSON: %q", r.Method, r.URL.Path, raw)
		}
		mu.Lock()
		calls = append(calls, call{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
		mu.Unlock()
		code := status(r.URL.Path, body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code >= 400 {
			_, _ = io.WriteString(w, `{"error":{"code":"invalid","message":"rloc is taken","field":"rloc"}}`)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	return srv, func() []call { mu.Lock(); defer mu.Unlock(); return append([]call(nil), calls...) }
}

// ca is the test CA of the last fakeAPI.
var ca *pkitest.PKI

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRegisterCalls(t *testing.T) {
	// The networks and dc1's site exist already (a re-run): 409 must pass.
	srv, calls := fakeAPI(t, func(path string, body map[string]any) int {
		if path == "/api/v1/networks" || (path == "/api/v1/sites" && body["name"] == "dc1") {
			return http.StatusConflict
		}
		return http.StatusCreated
	})
	cfg := Config{DCs: 2, HostsPerNetwork: 1, Register: true, APIURL: srv.URL + "/", Token: "s3cret",
		StaticHosts: true, RunDir: "/tmp/l2lab-unit", CAFile: ca.CAFile(), Log: quietLog()}.withDefaults()
	topo := plan(cfg)
	if err := Register(context.Background(), cfg, topo); err != nil {
		t.Fatalf("Register: %v", err)
	}
	got := calls()
	// 2 networks, then per DC site + xTR, then per host port + mapping.
	if len(got) != 2+2*2+4*2 {
		t.Fatalf("%d calls, want 14: %+v", len(got), got)
	}
	for _, c := range got {
		if c.Method != http.MethodPost || c.Auth != "Bearer s3cret" || c.ContentType != "application/json" {
			t.Errorf("call %s %s auth %q type %q", c.Method, c.Path, c.Auth, c.ContentType)
		}
	}
	want := []struct {
		path string
		body map[string]any
	}{
		{"/api/v1/networks", map[string]any{"instance_id": 4100.0, "name": "blue"}},
		{"/api/v1/networks", map[string]any{"instance_id": 4200.0, "name": "red"}},
		{"/api/v1/sites", map[string]any{"name": "dc1", "auth_key": got[2].Body["auth_key"], "networks": []any{4100.0, 4200.0}}},
		{"/api/v1/sites/dc1/xtrs", map[string]any{"name": "dc1-edge", "rloc": "192.0.2.1",
			"ovsdb": "ssl:203.0.113.1:6640", "tls_dir": "/tmp/l2lab-unit/pki/xtrs/dc1-edge", "bridge": "br-int",
			"datapath_type": "netdev", "priority": 1.0, "weight": 100.0}},
		{"/api/v1/sites", map[string]any{"name": "dc2", "auth_key": got[4].Body["auth_key"], "networks": []any{4100.0, 4200.0}}},
		{"/api/v1/sites/dc2/xtrs", map[string]any{"name": "dc2-edge", "rloc": "192.0.2.2",
			"ovsdb": "ssl:203.0.113.2:6640", "tls_dir": "/tmp/l2lab-unit/pki/xtrs/dc2-edge", "bridge": "br-int",
			"datapath_type": "netdev", "priority": 1.0, "weight": 100.0}},
		{"/api/v1/xtrs/dc1-edge/ports", map[string]any{"name": "dc1-blue-h1", "instance_id": 4100.0}},
		{"/api/v1/mappings", map[string]any{"instance_id": 4100.0, "eid": "02:00:10:04:01:01", "site": "dc1"}},
		{"/api/v1/xtrs/dc1-edge/ports", map[string]any{"name": "dc1-red-h1", "instance_id": 4200.0}},
		{"/api/v1/mappings", map[string]any{"instance_id": 4200.0, "eid": "02:00:10:68:01:01", "site": "dc1"}},
		{"/api/v1/xtrs/dc2-edge/ports", map[string]any{"name": "dc2-blue-h1", "instance_id": 4100.0}},
	}
	for i, w := range want {
		if got[i].Path != w.path || !reflect.DeepEqual(got[i].Body, w.body) {
			t.Errorf("call %d: got %s %v\nwant %s %v", i, got[i].Path, got[i].Body, w.path, w.body)
		}
	}
	if k, _ := got[2].Body["auth_key"].(string); len(k) != 32 {
		t.Errorf("auth key %q: want 32 hex chars", k)
	}
	// dc1's site already existed, so its key is unknown; dc2's was made now.
	if topo.DCs[0].AuthKey != "" || topo.DCs[1].AuthKey != got[4].Body["auth_key"] {
		t.Errorf("auth keys recorded: %q %q", topo.DCs[0].AuthKey, topo.DCs[1].AuthKey)
	}
}

func TestRegisterWithoutStaticHosts(t *testing.T) {
	srv, calls := fakeAPI(t, func(string, map[string]any) int { return http.StatusOK })
	cfg := Config{DCs: 1, HostsPerNetwork: 1, Register: true, APIURL: srv.URL, CAFile: ca.CAFile(), Log: quietLog()}.withDefaults()
	if err := Register(context.Background(), cfg, plan(cfg)); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls() {
		if c.Path == "/api/v1/mappings" {
			t.Errorf("static mapping posted without StaticHosts: %v", c.Body)
		}
		if c.Auth != "" {
			t.Errorf("Authorization sent without a token: %q", c.Auth)
		}
	}
}

func TestRegisterError(t *testing.T) {
	srv, calls := fakeAPI(t, func(path string, _ map[string]any) int {
		if strings.HasSuffix(path, "/xtrs") {
			return http.StatusUnprocessableEntity
		}
		return http.StatusCreated
	})
	cfg := Config{DCs: 1, Register: true, APIURL: srv.URL, CAFile: ca.CAFile(), Log: quietLog()}.withDefaults()
	err := Register(context.Background(), cfg, plan(cfg))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err %v: want *APIError", err)
	}
	if apiErr.Status != 422 || apiErr.Code != "invalid" || apiErr.Message != "rloc is taken" || apiErr.Field != "rloc" {
		t.Errorf("APIError %+v", apiErr)
	}
	if !strings.Contains(err.Error(), "/api/v1/sites/dc1/xtrs") {
		t.Errorf("error %q does not name the call", err)
	}
	// Registration stops at the first failure.
	if n := len(calls()); n != 4 {
		t.Errorf("%d calls after failure, want 4", n)
	}
}

// TestRegisterTrustsOnlyTheCA registers against a server whose certificate
// comes from another CA: the TLS handshake fails and nothing is sent.
func TestRegisterTrustsOnlyTheCA(t *testing.T) {
	srv, calls := fakeAPI(t, func(string, map[string]any) int { return http.StatusCreated })
	other := pkitest.New(t)
	cfg := Config{DCs: 1, Register: true, APIURL: srv.URL, CAFile: other.CAFile(), Log: quietLog()}.withDefaults()
	err := Register(context.Background(), cfg, plan(cfg))
	if err == nil || !strings.Contains(err.Error(), "certificate") || len(calls()) != 0 {
		t.Errorf("register with the wrong CA: %v, %d calls", err, len(calls()))
	}
}

// TestPlanPlaintext is the lab without TLS: unix sockets, tcp: OpenFlow,
// no PKI.
func TestPlanPlaintext(t *testing.T) {
	topo := plan(Config{DCs: 1, Plaintext: true, RunDir: "/tmp/l2lab-unit"}.withDefaults())
	d := topo.DCs[0]
	if topo.OpenFlow != ControllerOF || topo.PKIDir != "" || d.OVSDB != "unix:/tmp/l2lab-unit/dc1/db.sock" ||
		d.TLSDir != "" || d.OVS.SSL != nil {
		t.Errorf("plaintext plan: %+v %+v", topo, d)
	}
	topo = plan(Config{DCs: 1, RunDir: "/tmp/l2lab-unit"}.withDefaults())
	d = topo.DCs[0]
	if topo.OpenFlow != ControllerOFTLS || d.OVS.SSL == nil || d.OVS.SSL.Remote != "pssl:6640:203.0.113.1" ||
		d.OVS.SSL.PrivateKey != "/tmp/l2lab-unit/pki/xtrs/dc1-edge/key.pem" {
		t.Errorf("TLS plan: %+v %+v", topo, d.OVS.SSL)
	}
}

func TestRegisterEncapsulation(t *testing.T) {
	// blue is new; red exists already (a re-run), so it is PATCHed.
	srv, calls := fakeAPI(t, func(path string, body map[string]any) int {
		if path == "/api/v1/networks" && body["name"] == "red" {
			return http.StatusConflict
		}
		return http.StatusCreated
	})
	nets, err := WithEncapsulations(DefaultNetworks, "blue=lisp-gpe,red=vxlan")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DCs: 1, HostsPerNetwork: 1, Networks: nets, Register: true, APIURL: srv.URL, CAFile: ca.CAFile(), Log: quietLog()}.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if err := Register(context.Background(), cfg, plan(cfg)); err != nil {
		t.Fatal(err)
	}
	got := calls()
	want := []call{
		{Method: "POST", Path: "/api/v1/networks", Body: map[string]any{"instance_id": 4100.0, "name": "blue", "encapsulation": "lisp-gpe"}},
		{Method: "POST", Path: "/api/v1/networks", Body: map[string]any{"instance_id": 4200.0, "name": "red", "encapsulation": "vxlan"}},
		{Method: "PATCH", Path: "/api/v1/networks/4200", Body: map[string]any{"encapsulation": "vxlan"}},
	}
	for i, w := range want {
		if i >= len(got) || got[i].Method != w.Method || got[i].Path != w.Path || !reflect.DeepEqual(got[i].Body, w.Body) {
			t.Errorf("call %d: got %+v, want %s %s %v", i, got[min(i, len(got)-1)], w.Method, w.Path, w.Body)
		}
	}
	if got[3].Path != "/api/v1/sites" {
		t.Errorf("after the networks: %s %s", got[3].Method, got[3].Path)
	}
}

func TestWithEncapsulations(t *testing.T) {
	encaps := func(ns []Network) string {
		var parts []string
		for _, n := range ns {
			parts = append(parts, n.Name+"="+n.Encapsulation)
		}
		return strings.Join(parts, ",")
	}
	for spec, want := range map[string]string{
		"":                         "blue=,red=",
		"vxlan":                    "blue=vxlan,red=vxlan",
		"red=vxlan":                "blue=,red=vxlan",
		"blue=lisp-gpe, red=vxlan": "blue=lisp-gpe,red=vxlan",
	} {
		ns, err := WithEncapsulations(DefaultNetworks, spec)
		if err != nil || encaps(ns) != want {
			t.Errorf("%q: got %s, %v; want %s", spec, encaps(ns), err, want)
		}
	}
	for _, bad := range []string{"geneve", "green=vxlan", "red=lisp", "red"} {
		if _, err := WithEncapsulations(DefaultNetworks, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if DefaultNetworks[1].Encapsulation != "" {
		t.Error("WithEncapsulations changed DefaultNetworks")
	}
	cfg := Config{Networks: []Network{{Name: "blue", InstanceID: 1, Encapsulation: "gre"}}}.withDefaults()
	if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "gre") {
		t.Errorf("validate of an unknown encapsulation: %v", err)
	}
}
