package northbound_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
)

// TestSubscriptionsAPI lists the subscriptions the controller holds, with
// filters and pagination, for the read token too; bad filters are 400s
// naming the field, and the nonce never shows.
func TestSubscriptionsAPI(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	now := time.Now().UTC().Truncate(time.Second)
	for i, s := range []struct{ xtr, site, eid string }{
		{"20010db8000000000000000000000001", "dc1", "198.51.100.7/32"},
		{"20010db8000000000000000000000002", "dc1", "02:00:00:00:00:01"},
		{"20010db8000000000000000000000002", "dc2", "198.51.100.0/24"},
	} {
		iid := uint32(4100)
		if i == 2 {
			iid = 4200
		}
		if _, err := e.ctl.SaveSubscription(context.Background(), controller.Subscription{XTRID: s.xtr,
			SiteID: "0000000000000001", Site: s.site, InstanceID: iid, EID: s.eid, ITRRLOCs: []netip.Addr{netip.MustParseAddr("192.0.2.1")},
			Port: 4342, TTL: 1440, CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(24 * time.Hour), Nonce: 0x5ec2e7}); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		Items []map[string]any `json:"items"`
		Total int              `json:"total"`
	}
	var all page
	e.must("GET", "/api/v1/subscriptions", nil, 200, &all)
	if all.Total != 3 || len(all.Items) != 3 || all.Items[0]["eid"] != "02:00:00:00:00:01" {
		t.Fatalf("all: %+v", all)
	}
	first := all.Items[0]
	for _, k := range []string{"xtr_id", "site_id", "site", "instance_id", "eid", "itr_rlocs", "port", "ttl", "created_at", "refreshed_at", "expires_at"} {
		if _, ok := first[k]; !ok {
			t.Errorf("a subscription lacks %s: %v", k, first)
		}
	}
	if _, ok := first["nonce"]; ok {
		t.Errorf("the nonce shows: %v", first)
	}
	for q, want := range map[string]int{"?instance_id=4200": 1, "?site=dc1": 2,
		"?xtr_id=20010DB8000000000000000000000002": 2, "?limit=1&offset=2": 1, "?site=nowhere": 0} {
		var p page
		status, b := e.request("GET", "/api/v1/subscriptions"+q, read, nil)
		if status != 200 {
			t.Fatalf("%s: %d %s", q, status, b)
		}
		if err := jsonUnmarshal(b, &p); err != nil || len(p.Items) != want {
			t.Errorf("%s: %d items, want %d: %s", q, len(p.Items), want, b)
		}
	}
	for q, field := range map[string]string{"?instance_id=-1": "instance_id", "?xtr_id=xyz": "xtr_id",
		"?limit=0": "limit", "?offset=x": "offset"} {
		status, b := e.request("GET", "/api/v1/subscriptions"+q, admin, nil)
		var ae apiErr
		if status != 400 || jsonUnmarshal(b, &ae) != nil || ae.Error.Field != field {
			t.Errorf("%s: %d %s, want 400 naming %s", q, status, b, field)
		}
	}
	if status, _ := e.request("GET", "/api/v1/subscriptions", "", nil); status != 401 {
		t.Errorf("no token: %d", status)
	}
}

// TestLocatorUpInAPI: a locator of an xTR the controller knows to be down
// shows up: false in the mappings and lookup answers.
func TestLocatorUpInAPI(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "02:00:00:00:00:07", "site": "dc1"}, 201, nil)
	up := func() (bool, bool) {
		var list struct {
			Items []struct {
				RLOCs []struct {
					Up bool `json:"up"`
				} `json:"rlocs"`
			} `json:"items"`
		}
		e.must("GET", "/api/v1/mappings?instance_id=4100", nil, 200, &list)
		var one struct {
			RLOCs []struct {
				Up bool `json:"up"`
			} `json:"rlocs"`
		}
		e.must("GET", "/api/v1/lookup?instance_id=4100&eid=02:00:00:00:00:07", nil, 200, &one)
		return list.Items[0].RLOCs[0].Up, one.RLOCs[0].Up
	}
	if a, b := up(); !a || !b {
		t.Fatalf("before: up %v %v", a, b)
	}
	if err := e.ctl.Emit(context.Background(), controller.EvXTRDown, nil, "", "dc1", "dc1-edge", nil); err != nil {
		t.Fatal(err)
	}
	if a, b := up(); a || b {
		t.Fatalf("xTR down: up %v %v, want false", a, b)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
