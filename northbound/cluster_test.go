package northbound_test

import (
	"context"
	"encoding/json"
	"testing"
)

// TestClusterSingleController: a controller without replicas lists itself
// as the leader, at its feed position, to the read-only token too.
func TestClusterSingleController(t *testing.T) {
	e := newEnv(t)
	if _, err := e.ctl.CreateNetwork(context.Background(), 4100, "blue"); err != nil {
		t.Fatal(err)
	}
	status, body := e.request("GET", "/api/v1/cluster", read, nil)
	if status != 200 {
		t.Fatalf("GET /cluster: %d %s", status, body)
	}
	var v struct {
		Self     string `json:"self"`
		Leader   string `json:"leader"`
		Replicas []struct {
			ID             string `json:"id"`
			Role           string `json:"role"`
			AppliedEventID int64  `json:"applied_event_id"`
			Self           bool   `json:"self"`
		} `json:"replicas"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Replicas) != 1 || v.Leader != v.Self || v.Replicas[0].ID != v.Self || v.Replicas[0].Role != "leader" ||
		!v.Replicas[0].Self || v.Replicas[0].AppliedEventID != e.ctl.LastEventID() {
		t.Errorf("GET /cluster = %s", body)
	}
	if status, _ := e.request("GET", "/api/v1/cluster", "", nil); status != 401 {
		t.Errorf("GET /cluster without a token: %d", status)
	}
}
