package northbound_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
)

// saveRegistered stores a mapping the way the Map-Server does.
func saveRegistered(t *testing.T, ctl *controller.Controller, iid uint32, eidText, site string) {
	t.Helper()
	eid, err := mapping.ParseEID(iid, eidText)
	if err != nil {
		t.Fatal(err)
	}
	rec := mapping.Record{EID: eid, TTL: 10, Origin: mapping.OriginRegistered, Site: site, XTR: "dc1-edge",
		Locators: []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.1"), Priority: 1, Weight: 100, Up: true}}}
	if _, _, err := ctl.SaveMapping(context.Background(), rec, controller.SaveOptions{}); err != nil {
		t.Fatalf("SaveMapping %s: %v", eidText, err)
	}
}

func (e *env) wantNegative(iid, eid string) {
	e.t.Helper()
	var n negative
	e.must("GET", "/api/v1/lookup?instance_id="+iid+"&eid="+eid, nil, 200, &n)
	if !n.Negative {
		e.t.Errorf("lookup [%s]%s still finds a record after its deletion", iid, eid)
	}
}

func TestDeleteSiteWithDependents(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "198.51.100.7", "site": "dc1"}, 201, nil)
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "02:00:00:00:00:01", "site": "dc1"}, 201, nil)

	before, last := e.snapshot(), e.lastEventID()
	status, b := e.request("DELETE", "/api/v1/sites/dc1", admin, nil)
	checkError(t, "DELETE site with an xTR", status, b, 409, "conflict", "name")
	if after := e.snapshot(); after != before || e.lastEventID() != last {
		t.Errorf("a refused site deletion changed something")
	}
	e.must("DELETE", "/api/v1/xtrs/dc1-edge/ports/dc1-h1", nil, 204, nil)
	e.must("DELETE", "/api/v1/xtrs/dc1-edge", nil, 204, nil)
	last = e.lastEventID()
	e.must("DELETE", "/api/v1/sites/dc1", nil, 204, nil)
	e.must("GET", "/api/v1/sites/dc1", nil, 404, nil)
	var p page
	e.must("GET", "/api/v1/mappings?site=dc1", nil, 200, &p)
	if p.Total != 0 {
		t.Errorf("mappings of a deleted site remain: %+v", p)
	}
	got := eventTypes(e.eventsAfter(last))
	if !slices.Equal(got, []string{"mapping.deleted", "mapping.deleted", "site.deleted"}) {
		t.Errorf("events of the site deletion = %v", got)
	}
	e.wantNegative("4100", "198.51.100.7")
	e.wantNegative("4100", "02:00:00:00:00:01")
}

func TestDeleteNetworkWithDependents(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "198.51.100.7", "site": "dc1"}, 201, nil)

	before, last := e.snapshot(), e.lastEventID()
	status, b := e.request("DELETE", "/api/v1/networks/4100", admin, nil)
	checkError(t, "DELETE network with a bound port", status, b, 409, "conflict", "instance_id")
	if after := e.snapshot(); after != before || e.lastEventID() != last {
		t.Errorf("a refused network deletion changed something")
	}
	e.must("DELETE", "/api/v1/xtrs/dc1-edge/ports/dc1-h1", nil, 204, nil)
	last = e.lastEventID()
	e.must("DELETE", "/api/v1/networks/4100", nil, 204, nil)
	e.must("GET", "/api/v1/networks/4100", nil, 404, nil)
	var p page
	e.must("GET", "/api/v1/mappings?instance_id=4100", nil, 200, &p)
	if p.Total != 0 {
		t.Errorf("mappings of a deleted network remain: %+v", p)
	}
	// Other replicas learn of the deleted mappings only from the feed.
	got := eventTypes(e.eventsAfter(last))
	if !slices.Equal(got, []string{"mapping.deleted", "site.updated", "network.deleted"}) {
		t.Errorf("events of the network deletion = %v, want a mapping.deleted per mapping", got)
	}
	e.wantNegative("4100", "198.51.100.7")
	// No site may go on serving a network that is gone.
	var site struct{ Networks []int }
	e.must("GET", "/api/v1/sites/dc1", nil, 200, &site)
	if slices.Contains(site.Networks, 4100) {
		t.Errorf("site dc1 still serves the deleted network 4100: %v", site.Networks)
	}
}

// An xTR's port bindings are its dependents: deleting it is refused while
// ports are bound.
func TestDeleteXTRWithDependents(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	before, last := e.snapshot(), e.lastEventID()
	status, b := e.request("DELETE", "/api/v1/xtrs/dc1-edge", admin, nil)
	if status == 409 {
		checkError(t, "DELETE xTR with a bound port", status, b, 409, "conflict", "name")
		if after := e.snapshot(); after != before || e.lastEventID() != last {
			t.Errorf("a refused xTR deletion changed something")
		}
	} else {
		t.Errorf("DELETE /xtrs/dc1-edge with port dc1-h1 bound: %d %s, want 409", status, b)
	}
	// Without dependents it goes.
	e.must("DELETE", "/api/v1/xtrs/dc2-edge", nil, 204, nil)
	e.must("GET", "/api/v1/xtrs/dc2-edge", nil, 404, nil)
}
