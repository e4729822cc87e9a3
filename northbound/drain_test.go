package northbound_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
)

type drainAnswer struct {
	XTR struct {
		Name    string `json:"name"`
		Drained bool   `json:"drained"`
		Locator struct {
			Up bool     `json:"up"`
			DF []uint32 `json:"designated_forwarder"`
		} `json:"locator"`
	} `json:"xtr"`
	EventID   int64 `json:"event_id"`
	Converged *bool `json:"converged"`
}

// Two xTRs share site dc1: draining one moves the designated forwarder to
// the other, writes one event, and shows in GET /xtrs; draining again
// changes nothing; undrain puts it back.
func TestDrainXTR(t *testing.T) {
	e := newEnv(t)
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201, nil)
	e.must("POST", "/api/v1/sites", map[string]any{"name": "dc1", "auth_key": "drain-site-key-1", "networks": []int{4100}}, 201, nil)
	for i, n := range []string{"e1", "e2"} {
		e.must("POST", "/api/v1/sites/dc1/xtrs", map[string]any{"name": n, "rloc": "192.0.2." + string(rune('1'+i))}, 201, nil)
	}
	df := func() string {
		var xs []struct {
			Name    string `json:"name"`
			Locator struct {
				DF []uint32 `json:"designated_forwarder"`
			} `json:"locator"`
		}
		e.must("GET", "/api/v1/xtrs", nil, 200, &xs)
		var dfs []string
		for _, x := range xs {
			if slices.Equal(x.Locator.DF, []uint32{4100}) {
				dfs = append(dfs, x.Name)
			}
		}
		if len(dfs) != 1 {
			t.Fatalf("designated forwarders of 4100: %v", dfs)
		}
		return dfs[0]
	}
	first := df()
	var a drainAnswer
	e.must("POST", "/api/v1/xtrs/"+first+"/drain", nil, 200, &a)
	if !a.XTR.Drained || a.EventID == 0 || len(a.XTR.Locator.DF) != 0 || !a.XTR.Locator.Up || a.Converged != nil {
		t.Fatalf("drain: %+v", a)
	}
	if got := df(); got == first {
		t.Fatalf("the drained %s is still DF", first)
	}
	e.must("POST", "/api/v1/xtrs/"+first+"/drain", nil, 200, &a)
	if a.EventID != 0 {
		t.Errorf("draining again wrote event %d", a.EventID)
	}
	evs, err := e.ctl.EventsSince(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == "xtr.drained" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d xtr.drained events, want 1", n)
	}
	e.must("POST", "/api/v1/xtrs/"+first+"/undrain", nil, 200, &a)
	if a.XTR.Drained || a.EventID == 0 {
		t.Fatalf("undrain: %+v", a)
	}
	if got := df(); got != first {
		t.Errorf("undrained: DF %s, want %s back", got, first)
	}
	for _, tc := range []struct {
		path, token string
		status      int
		field       string
	}{
		{"/api/v1/xtrs/nope/drain", admin, 404, "name"},
		{"/api/v1/xtrs/e1/drain?wait=forever", admin, 400, "wait"},
		{"/api/v1/xtrs/e1/drain?wait=1h", admin, 400, "wait"},
		{"/api/v1/xtrs/e1/drain", read, 403, "Authorization"},
	} {
		status, body := e.request("POST", tc.path, tc.token, nil)
		var eb struct {
			Error struct{ Field string } `json:"error"`
		}
		_ = json.Unmarshal(body, &eb)
		if status != tc.status || eb.Error.Field != tc.field {
			t.Errorf("POST %s: %d %s, want %d naming %q", tc.path, status, body, tc.status, tc.field)
		}
	}
}
