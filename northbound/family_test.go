package northbound_test

import "testing"

// TestMappingsByFamily: the dashboard counts hosts per site with
// family=mac and limit=1, so the filter must count exactly.
func TestMappingsByFamily(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	for _, eid := range []string{"02:00:00:00:00:01", "02:00:00:00:00:02", "198.51.100.7", "2001:db8:100::7"} {
		e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": eid, "site": "dc1"}, 201, nil)
	}
	for family, want := range map[string]int64{"mac": 2, "ipv4": 1, "ipv6": 1, "": 4} {
		var p page
		e.must("GET", "/api/v1/mappings?site=dc1&limit=1&family="+family, nil, 200, &p)
		if p.Total != want {
			t.Errorf("family %q: total %d, want %d", family, p.Total, want)
		}
	}
	status, body := e.request("GET", "/api/v1/mappings?family=mpls", admin, nil)
	checkError(t, "unknown family", status, body, 400, "invalid", "family")
}
