package northbound_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/store"
)

const (
	admin = "admin-token"
	read  = "read-token"
	// The site keys are distinctive so that a leak shows up in any body.
	keyDC1 = "SECRET-dc1-7f3a9c1e"
	keyDC2 = "SECRET-dc2-0b8d2e44"
	keyNew = "SECRET-new-5c6e1f90"
)

var secrets = []string{keyDC1, keyDC2, keyNew}

// env is one real API server over a controller over a SQLite file.
type env struct {
	t   *testing.T
	ctl *controller.Controller
	db  *gorm.DB
	api *northbound.Server
	srv *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, t.TempDir()+"/l2lisp.db")
}

// newEnvAt is newEnv on the database dsn, which replicas may share.
func newEnvAt(t *testing.T, dsn string) *env {
	t.Helper()
	return newEnvHooked(t, dsn, nil)
}

// newEnvHooked is newEnvAt that lets hook see the database before the
// controller starts using it (to add gorm callbacks, say).
func newEnvHooked(t *testing.T, dsn string, hook func(*gorm.DB)) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, dsn, log)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	if hook != nil {
		hook(db)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controller.New(ctx, db, log)
	if err != nil {
		t.Fatalf("controller.New: %v", err)
	}
	api := northbound.New(ctl, northbound.Options{AdminToken: admin, ReadToken: read})
	t.Cleanup(func() {
		ctl.Close()
		_ = sqlDB.Close()
	})
	srv := pkitest.New(t).Server(t, api.Handler()) // HTTPS; srv.Client trusts only the test CA
	return &env{t: t, ctl: ctl, db: db, api: api, srv: srv}
}

// request sends body (a string is sent as is, anything else as JSON) and
// returns the status and body. Every answer is checked for site keys.
func (e *env) request(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	noSecrets(e.t, method+" "+path, out)
	return resp.StatusCode, out
}

func noSecrets(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s: the answer reveals a site key: %s", what, b)
		}
	}
}

// must sends an admin request and fails unless the status is want; it
// decodes the answer into out when out is not nil.
func (e *env) must(method, path string, body any, want int, out any) {
	e.t.Helper()
	status, b := e.request(method, path, admin, body)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// apiErr is the error body every 4xx answer must have.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// fixture creates two networks, sites dc1 (4100) and dc2 (4200), an xTR
// per site and one port on dc1-edge.
func (e *env) fixture() {
	e.t.Helper()
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201, nil)
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4200, "name": "red"}, 201, nil)
	e.must("POST", "/api/v1/sites", map[string]any{"name": "dc1", "auth_key": keyDC1, "networks": []int{4100},
		"eid_prefixes": []string{"198.51.100.0/24", "2001:db8:100::/48"}}, 201, nil)
	e.must("POST", "/api/v1/sites", map[string]any{"name": "dc2", "auth_key": keyDC2, "networks": []int{4200},
		"eid_prefixes": []string{}}, 201, nil)
	e.must("POST", "/api/v1/sites/dc1/xtrs", map[string]any{"name": "dc1-edge", "rloc": "192.0.2.1",
		"ovsdb": "unix:/run/openvswitch/db.sock", "bridge": "br-int", "datapath_type": "netdev",
		"priority": 1, "weight": 100}, 201, nil)
	e.must("POST", "/api/v1/sites/dc2/xtrs", map[string]any{"name": "dc2-edge", "rloc": "192.0.2.2"}, 201, nil)
	e.must("POST", "/api/v1/xtrs/dc1-edge/ports", map[string]any{"name": "dc1-h1", "instance_id": 4100}, 201, nil)
}

// snapshot is every listing of the API, to show that a refused request
// changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	var sb strings.Builder
	for _, p := range []string{"/networks", "/sites", "/xtrs", "/mappings?limit=1000"} {
		status, b := e.request("GET", "/api/v1"+p, admin, nil)
		fmt.Fprintf(&sb, "%s %d %s\n", p, status, b)
	}
	for _, x := range e.ctl.XTRs() {
		status, b := e.request("GET", "/api/v1/xtrs/"+x.Name+"/ports", admin, nil)
		fmt.Fprintf(&sb, "ports %s %d %s\n", x.Name, status, b)
	}
	return sb.String()
}

// eventsAfter reads the change feed from the database.
func (e *env) eventsAfter(id int64) []controller.Event {
	e.t.Helper()
	evs, err := e.ctl.EventsSince(context.Background(), id, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *env) lastEventID() int64 {
	e.t.Helper()
	evs := e.eventsAfter(0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].ID
}

func eventTypes(evs []controller.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// record is a mapping as the API shows it.
type record struct {
	InstanceID uint32 `json:"instance_id"`
	EID        string `json:"eid"`
	Family     string `json:"family"`
	RLOCs      []struct {
		Address  string `json:"address"`
		Priority int    `json:"priority"`
		Weight   int    `json:"weight"`
		Up       bool   `json:"up"`
	} `json:"rlocs"`
	TTL     uint32 `json:"ttl"`
	Origin  string `json:"origin"`
	Site    string `json:"site"`
	Version uint64 `json:"version"`
}

type page struct {
	Items  []record `json:"items"`
	Total  int64    `json:"total"`
	Limit  int64    `json:"limit"`
	Offset int64    `json:"offset"`
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	status, b := e.request("GET", "/healthz", "", nil)
	if status != 200 || !strings.Contains(string(b), `"ok"`) {
		t.Fatalf("GET /healthz: %d %s", status, b)
	}
}

func TestNetworks(t *testing.T) {
	e := newEnv(t)
	var n map[string]any
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201, &n)
	if n["instance_id"] != float64(4100) || n["name"] != "blue" || n["created_at"] == nil {
		t.Errorf("created network = %v", n)
	}
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 0, "name": "zero"}, 201, nil)
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 16777215, "name": "max"}, 201, nil)
	var list []map[string]any
	e.must("GET", "/api/v1/networks", nil, 200, &list)
	var iids []float64
	for _, n := range list {
		iids = append(iids, n["instance_id"].(float64))
	}
	if !slices.Equal(iids, []float64{0, 4100, 16777215}) {
		t.Errorf("GET /networks instance-ids = %v", iids)
	}
	e.must("GET", "/api/v1/networks/4100", nil, 200, &n)
	if n["name"] != "blue" {
		t.Errorf("GET /networks/4100 = %v", n)
	}
	if n["encapsulation"] != "lisp-gpe" {
		t.Errorf("default encapsulation = %v, want lisp-gpe", n["encapsulation"])
	}
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4200, "name": "red", "encapsulation": "vxlan"}, 201, &n)
	if n["encapsulation"] != "vxlan" {
		t.Errorf("created red = %v", n)
	}
	e.must("PATCH", "/api/v1/networks/4200", map[string]any{"encapsulation": "lisp-gpe"}, 200, &n)
	if n["encapsulation"] != "lisp-gpe" || n["name"] != "red" || n["instance_id"] != float64(4200) {
		t.Errorf("PATCH /networks/4200 = %v", n)
	}
	e.must("PATCH", "/api/v1/networks/4200", map[string]any{"encapsulation": "lisp-gpe"}, 200, nil) // no change, no event
	e.must("GET", "/api/v1/networks/4200", nil, 200, &n)
	if n["encapsulation"] != "lisp-gpe" {
		t.Errorf("GET /networks/4200 after PATCH = %v", n)
	}
	e.must("DELETE", "/api/v1/networks/4100", nil, 204, nil)
	e.must("GET", "/api/v1/networks/4100", nil, 404, nil)
	e.must("DELETE", "/api/v1/networks/4100", nil, 404, nil)
	if got := eventTypes(e.eventsAfter(0)); !slices.Equal(got, []string{"network.created", "network.created",
		"network.created", "network.created", "network.updated", "network.deleted"}) {
		t.Errorf("events = %v", got)
	}
}

func TestSites(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201, nil)
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4200, "name": "red"}, 201, nil)
	var s map[string]any
	e.must("POST", "/api/v1/sites", map[string]any{"name": "dc1", "auth_key": keyDC1, "networks": []int{4100},
		"eid_prefixes": []string{"198.51.100.7/24", "2001:db8:100::/48"}}, 201, &s)
	if _, ok := s["auth_key"]; ok {
		t.Errorf("POST /sites shows auth_key: %v", s)
	}
	// Prefixes are stored masked.
	if fmt.Sprint(s["eid_prefixes"]) != "[198.51.100.0/24 2001:db8:100::/48]" || fmt.Sprint(s["networks"]) != "[4100]" {
		t.Errorf("created site = %v", s)
	}
	e.must("POST", "/api/v1/sites", map[string]any{"name": "dc2", "auth_key": keyDC2}, 201, &s)
	if fmt.Sprint(s["networks"]) != "[]" || fmt.Sprint(s["eid_prefixes"]) != "[]" {
		t.Errorf("site without lists = %v", s)
	}
	var list []map[string]any
	e.must("GET", "/api/v1/sites", nil, 200, &list)
	if len(list) != 2 || list[0]["name"] != "dc1" || list[1]["name"] != "dc2" {
		t.Errorf("GET /sites = %v", list)
	}
	// PATCH changes only the given fields.
	e.must("PATCH", "/api/v1/sites/dc1", map[string]any{"networks": []int{4100, 4200}, "auth_key": keyNew}, 200, &s)
	if fmt.Sprint(s["networks"]) != "[4100 4200]" || fmt.Sprint(s["eid_prefixes"]) != "[198.51.100.0/24 2001:db8:100::/48]" {
		t.Errorf("patched site = %v", s)
	}
	e.must("PATCH", "/api/v1/sites/dc1", map[string]any{"name": "dc1"}, 200, nil)
	e.must("GET", "/api/v1/sites/dc1", nil, 200, &s)
	if fmt.Sprint(s["networks"]) != "[4100 4200]" {
		t.Errorf("GET /sites/dc1 = %v", s)
	}
	// The registration scope: off until set, and masked like the prefixes.
	if fmt.Sprint(s["mac_prefixes"], s["any_mac"], s["rloc_prefixes"]) != "[] false []" {
		t.Errorf("a new site's scope = %v", s)
	}
	e.must("PATCH", "/api/v1/sites/dc1", map[string]any{"mac_prefixes": []string{"02:00:10:aa:bb:cc/24"},
		"rloc_prefixes": []string{"192.0.2.7/24"}}, 200, &s)
	e.must("PATCH", "/api/v1/sites/dc1", map[string]any{"any_mac": true}, 200, &s)
	if fmt.Sprint(s["mac_prefixes"], s["any_mac"], s["rloc_prefixes"]) != "[02:00:10:00:00:00/24] true [192.0.2.0/24]" ||
		fmt.Sprint(s["networks"]) != "[4100 4200]" {
		t.Errorf("patched scope = %v", s)
	}
	if site, err := e.ctl.Site("dc1"); err != nil || site.AuthKey != keyNew {
		t.Errorf("the patched key is not kept: %q %v", site.AuthKey, err)
	}
	e.must("DELETE", "/api/v1/sites/dc2", nil, 204, nil)
	e.must("GET", "/api/v1/sites/dc2", nil, 404, nil)
	for _, ev := range e.eventsAfter(0) {
		noSecrets(t, "event "+ev.Type, ev.Data)
	}
}

func TestXTRsAndPorts(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201, nil)
	e.must("POST", "/api/v1/sites", map[string]any{"name": "dc1", "auth_key": keyDC1, "networks": []int{4100}}, 201, nil)
	var x map[string]any
	e.must("POST", "/api/v1/sites/dc1/xtrs", map[string]any{"name": "dc1-edge", "rloc": "192.0.2.1",
		"ovsdb": "unix:/path/db.sock", "bridge": "br-int", "datapath_type": "netdev", "priority": 1, "weight": 100}, 201, &x)
	if x["site"] != "dc1" || x["rloc"] != "192.0.2.1" || x["datapath_type"] != "netdev" || x["status"] == nil {
		t.Errorf("created xTR = %v", x)
	}
	if dp, ok := x["datapath_id"].(string); !ok || dp == "" || dp == "0" {
		t.Errorf("datapath_id = %#v, want a non-zero decimal string", x["datapath_id"])
	}
	// Defaults: bridge br-int, priority 1, weight 100; IPv6 RLOC; v4-mapped RLOC unmapped.
	e.must("POST", "/api/v1/sites/dc1/xtrs", map[string]any{"name": "dc1-edge2", "rloc": "2001:db8::2"}, 201, &x)
	if x["bridge"] != "br-int" || x["priority"] != float64(1) || x["weight"] != float64(100) {
		t.Errorf("defaults of an xTR = %v", x)
	}
	e.must("POST", "/api/v1/sites/dc1/xtrs", map[string]any{"name": "dc1-edge3", "rloc": "::ffff:192.0.2.3"}, 201, &x)
	if x["rloc"] != "192.0.2.3" {
		t.Errorf("v4-mapped RLOC stored as %v", x["rloc"])
	}
	var list []map[string]any
	e.must("GET", "/api/v1/xtrs", nil, 200, &list)
	if len(list) != 3 || list[0]["name"] != "dc1-edge" || list[0]["status"] == nil {
		t.Errorf("GET /xtrs = %v", list)
	}
	e.must("GET", "/api/v1/xtrs/dc1-edge", nil, 200, &x)
	st, _ := x["status"].(map[string]any)
	if st == nil || st["ovsdb"] == nil || st["openflow"] == nil {
		t.Errorf("GET /xtrs/dc1-edge status = %v", x["status"])
	}

	var p map[string]any
	e.must("POST", "/api/v1/xtrs/dc1-edge/ports", map[string]any{"name": "dc1-h1", "instance_id": 4100}, 201, &p)
	if p["ofport"] != float64(pipeline.FirstAccessOFPort) || p["xtr"] != "dc1-edge" {
		t.Errorf("bound port = %v", p)
	}
	e.must("POST", "/api/v1/xtrs/dc1-edge/ports", map[string]any{"name": "dc1-h2", "instance_id": 4100}, 201, &p)
	if p["ofport"] != float64(pipeline.FirstAccessOFPort+1) {
		t.Errorf("second port = %v", p)
	}
	e.must("GET", "/api/v1/xtrs/dc1-edge/ports", nil, 200, &list)
	if len(list) != 2 || list[0]["name"] != "dc1-h1" || list[1]["name"] != "dc1-h2" {
		t.Errorf("GET ports = %v", list)
	}
	e.must("DELETE", "/api/v1/xtrs/dc1-edge/ports/dc1-h1", nil, 204, nil)
	e.must("DELETE", "/api/v1/xtrs/dc1-edge/ports/dc1-h1", nil, 404, nil)
	// The freed OpenFlow port number is handed out again.
	e.must("POST", "/api/v1/xtrs/dc1-edge/ports", map[string]any{"name": "dc1-h3", "instance_id": 4100}, 201, &p)
	if p["ofport"] != float64(pipeline.FirstAccessOFPort) {
		t.Errorf("rebound port = %v", p)
	}
	e.must("DELETE", "/api/v1/xtrs/dc1-edge2", nil, 204, nil)
	e.must("GET", "/api/v1/xtrs/dc1-edge2", nil, 404, nil)
	e.must("GET", "/api/v1/xtrs/dc1-edge2/ports", nil, 404, nil)
}

func TestMappingDefaultsAndExplicitRLOCs(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	var r record
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "02:00:00:00:00:01", "site": "dc1"}, 201, &r)
	if r.EID != "02:00:00:00:00:01" || r.Family != "mac" || r.Version != 1 || r.Origin != "static" ||
		r.TTL != 1440 || len(r.RLOCs) != 1 || r.RLOCs[0].Address != "192.0.2.1" || r.RLOCs[0].Priority != 1 || r.RLOCs[0].Weight != 100 {
		t.Errorf("mapping with default locators = %+v", r)
	}
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "2001:db8:100::7", "site": "dc1", "ttl": 60,
		"rlocs": []map[string]any{{"address": "192.0.2.1", "priority": 1, "weight": 50}, {"address": "203.0.113.9", "priority": 2, "weight": 100}}}, 201, &r)
	if r.EID != "2001:db8:100::7/128" || r.Family != "ipv6" || r.TTL != 60 || len(r.RLOCs) != 2 ||
		r.RLOCs[0].Weight != 50 || r.RLOCs[1].Address != "203.0.113.9" || r.RLOCs[1].Priority != 2 {
		t.Errorf("mapping with explicit locators = %+v", r)
	}
	// A MAC EID in the dash form is the same EID.
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "02-00-00-00-00-01", "site": "dc1"}, 200, &r)
	if r.EID != "02:00:00:00:00:01" || r.Version != 2 {
		t.Errorf("re-POST in dash form = %+v", r)
	}
	e.must("DELETE", "/api/v1/mappings?instance_id=4100&eid=2001:db8:100::7", nil, 204, nil)
	e.must("DELETE", "/api/v1/mappings?instance_id=4100&eid=2001:db8:100::7", nil, 404, nil)
	var p page
	e.must("GET", "/api/v1/mappings", nil, 200, &p)
	if p.Total != 1 || len(p.Items) != 1 || p.Items[0].EID != "02:00:00:00:00:01" {
		t.Errorf("GET /mappings after delete = %+v", p)
	}
}

func TestMappingVersionsMoveAndHistory(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	e.must("PATCH", "/api/v1/sites/dc2", map[string]any{"networks": []int{4100, 4200}}, 200, nil)
	body := map[string]any{"instance_id": 4100, "eid": "198.51.100.7", "site": "dc1"}
	var r record
	e.must("POST", "/api/v1/mappings", body, 201, &r)
	if r.Version != 1 {
		t.Fatalf("first POST: version %d", r.Version)
	}
	e.must("POST", "/api/v1/mappings", body, 200, &r)
	if r.Version != 2 {
		t.Errorf("second POST of the same EID: version %d, want 2", r.Version)
	}
	before := e.lastEventID()
	body["site"] = "dc2"
	e.must("POST", "/api/v1/mappings", body, 200, &r)
	if r.Version != 3 || r.Site != "dc2" || len(r.RLOCs) != 1 || r.RLOCs[0].Address != "192.0.2.2" {
		t.Errorf("moved mapping = %+v", r)
	}
	evs := e.eventsAfter(before)
	if len(evs) != 1 || evs[0].Type != "mapping.moved" || evs[0].Site != "dc2" || evs[0].EID != "198.51.100.7/32" {
		t.Errorf("move events = %+v", evs)
	}
	var lk record
	e.must("GET", "/api/v1/lookup?instance_id=4100&eid=198.51.100.7", nil, 200, &lk)
	if lk.Site != "dc2" || lk.Version != 3 {
		t.Errorf("lookup after move = %+v", lk)
	}
	e.must("DELETE", "/api/v1/mappings?instance_id=4100&eid=198.51.100.7/32", nil, 204, nil)
	var hist []controller.Event
	e.must("GET", "/api/v1/mappings/history?instance_id=4100&eid=198.51.100.7", nil, 200, &hist)
	want := []string{"mapping.created", "mapping.updated", "mapping.moved", "mapping.deleted"}
	if got := eventTypes(hist); !slices.Equal(got, want) {
		t.Errorf("history = %v, want %v", got, want)
	}
	e.must("GET", "/api/v1/mappings/history?instance_id=4100&eid=198.51.100.8", nil, 200, &hist)
	if len(hist) != 0 {
		t.Errorf("history of an unknown EID = %v", hist)
	}
}

type negative struct {
	Negative bool   `json:"negative"`
	Prefix   string `json:"eid_prefix"`
	Action   string `json:"action"`
	TTL      uint32 `json:"ttl"`
}

func TestLookup(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	rl := []map[string]any{{"address": "192.0.2.1"}}
	for _, eid := range []string{"198.51.100.0/24", "198.51.100.0/28", "02:00:00:00:00:01"} {
		e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": eid, "site": "dc1", "rlocs": rl}, 201, nil)
	}
	for _, c := range []struct{ query, want string }{
		{"198.51.100.7", "198.51.100.0/28"},
		{"198.51.100.77", "198.51.100.0/24"},
		{"198.51.100.0/30", "198.51.100.0/28"},
		{"198.51.100.0/26", "198.51.100.0/24"},
		{"::ffff:198.51.100.7", "198.51.100.0/28"},
		{"02:00:00:00:00:01", "02:00:00:00:00:01"},
	} {
		var r record
		e.must("GET", "/api/v1/lookup?instance_id=4100&eid="+c.query, nil, 200, &r)
		if r.EID != c.want || r.InstanceID != 4100 {
			t.Errorf("lookup %s = %+v, want %s", c.query, r, c.want)
		}
	}
	for _, c := range []struct {
		iid         int
		query, want string
	}{
		{4100, "203.0.113.9", "200.0.0.0/5"},
		{4100, "198.51.101.1", "198.51.101.0/24"},
		{4100, "2001:db8::1", "::/0"},
		{4200, "198.51.100.7", "0.0.0.0/0"},
		{4100, "02:00:00:00:00:02", ""},
	} {
		var n negative
		e.must("GET", fmt.Sprintf("/api/v1/lookup?instance_id=%d&eid=%s", c.iid, c.query), nil, 200, &n)
		if !n.Negative || n.Prefix != c.want || n.Action != "natively-forward" || n.TTL == 0 {
			t.Errorf("lookup [%d]%s = %+v, want negative %q", c.iid, c.query, n, c.want)
		}
		if c.want == "" {
			continue
		}
		np := netip.MustParsePrefix(n.Prefix)
		if np.Addr().Is4() && np.Overlaps(netip.MustParsePrefix("198.51.100.0/24")) && c.iid == 4100 {
			t.Errorf("negative prefix %s overlaps an EID", np)
		}
	}
}

// want is a mapping as the pagination test created it.
type want struct {
	iid       uint32
	eid, site string
	origin    string
}

// seedMappings creates 250 mappings, 240 through the API, and returns them
// in the listing's order.
func seedMappings(t *testing.T, e *env) []want {
	var all []want
	for i := range 150 {
		all = append(all, want{4100, fmt.Sprintf("02:00:00:00:%02x:%02x", i/256, i%256+1), "dc1", "static"})
	}
	for i := range 60 {
		all = append(all, want{4100, fmt.Sprintf("198.51.100.%d/32", i+1), "dc1", "static"})
	}
	for i := range 30 {
		all = append(all, want{4200, fmt.Sprintf("02:00:00:01:00:%02x", i+1), "dc2", "static"})
	}
	// Several clients at once: the writer batches them into shared commits.
	work := make(chan want)
	errs := make(chan error, len(all))
	for range 8 {
		go func() {
			for w := range work {
				status, b := e.request("POST", "/api/v1/mappings", admin, map[string]any{
					"instance_id": w.iid, "eid": w.eid, "site": w.site, "rlocs": []map[string]any{{"address": "192.0.2.1"}}})
				if status != 201 {
					errs <- fmt.Errorf("POST %s: %d %s", w.eid, status, b)
					continue
				}
				errs <- nil
			}
		}()
	}
	for _, w := range all {
		work <- w
	}
	close(work)
	for range all {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Registered mappings go through the Map-Server path of the controller.
	for i := range 10 {
		w := want{4100, fmt.Sprintf("198.51.100.%d/32", 200+i), "dc1", "registered"}
		saveRegistered(t, e.ctl, w.iid, w.eid, w.site)
		all = append(all, w)
	}
	slices.SortFunc(all, func(a, b want) int {
		if a.iid != b.iid {
			return int(a.iid) - int(b.iid)
		}
		return strings.Compare(a.eid, b.eid)
	})
	return all
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	e.must("PATCH", "/api/v1/sites/dc2", map[string]any{"networks": []int{4100, 4200}}, 200, nil)
	all := seedMappings(t, e)

	// Page through everything with an odd page size.
	var got []string
	for off := 0; ; off += 37 {
		var p page
		e.must("GET", fmt.Sprintf("/api/v1/mappings?limit=37&offset=%d", off), nil, 200, &p)
		if p.Total != int64(len(all)) || p.Limit != 37 || p.Offset != int64(off) {
			t.Fatalf("page at %d: total %d limit %d offset %d", off, p.Total, p.Limit, p.Offset)
		}
		if len(p.Items) == 0 {
			break
		}
		for _, r := range p.Items {
			got = append(got, fmt.Sprintf("%d %s", r.InstanceID, r.EID))
		}
	}
	var exp []string
	for _, w := range all {
		exp = append(exp, fmt.Sprintf("%d %s", w.iid, w.eid))
	}
	if !slices.Equal(got, exp) {
		t.Errorf("paged listing (%d items) differs from what was created (%d)", len(got), len(exp))
	}
	var p page
	e.must("GET", "/api/v1/mappings", nil, 200, &p)
	if p.Limit != 100 || len(p.Items) != 100 || p.Total != int64(len(all)) {
		t.Errorf("default page: limit %d, %d items, total %d", p.Limit, len(p.Items), p.Total)
	}

	checkFilters(t, e, all)
	e.must("GET", "/api/v1/mappings?offset=100000", nil, 200, &p)
	if len(p.Items) != 0 || p.Total != int64(len(all)) {
		t.Errorf("page past the end: %d items, total %d", len(p.Items), p.Total)
	}
}

// checkFilters compares each filtered listing with the created mappings.
func checkFilters(t *testing.T, e *env, all []want) {
	count := func(f func(want) bool) int64 {
		n := int64(0)
		for _, w := range all {
			if f(w) {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		query string
		match func(want) bool
	}{
		{"site=dc1", func(w want) bool { return w.site == "dc1" }},
		{"site=dc2", func(w want) bool { return w.site == "dc2" }},
		{"site=nope", func(w want) bool { return false }},
		{"origin=static", func(w want) bool { return w.origin == "static" }},
		{"origin=registered", func(w want) bool { return w.origin == "registered" }},
		{"origin=learned", func(w want) bool { return false }},
		{"instance_id=4100", func(w want) bool { return w.iid == 4100 }},
		{"instance_id=4200", func(w want) bool { return w.iid == 4200 }},
		{"instance_id=0", func(w want) bool { return false }},
		{"q=198.51.100.1", func(w want) bool { return strings.Contains(w.eid, "198.51.100.1") }},
		{"q=02:00:00:00:00", func(w want) bool { return strings.Contains(w.eid, "02:00:00:00:00") }},
		{"q=%25", func(w want) bool { return false }},
		{"q=_", func(w want) bool { return false }},
		{"site=dc1&origin=registered&q=20", func(w want) bool {
			return w.site == "dc1" && w.origin == "registered" && strings.Contains(w.eid, "20")
		}},
		{"instance_id=4100&site=dc2", func(w want) bool { return false }},
	} {
		var p page
		e.must("GET", "/api/v1/mappings?limit=1000&"+c.query, nil, 200, &p)
		if n := count(c.match); p.Total != n || int64(len(p.Items)) != n {
			t.Errorf("GET /mappings?%s: total %d, %d items; want %d", c.query, p.Total, len(p.Items), n)
		}
	}
}
