package northbound_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
)

// TestEventsAfterPruning asks the stream for events the retention policy
// deleted: it says so with one feed.truncated event, then goes on with
// what is kept. Mapping history keeps the retained events.
func TestEventsAfterPruning(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4100, "eid": "02:00:00:00:00:01", "site": "dc1"}, 201, nil)
	all := e.eventsAfter(0)
	// Everything but the newest event is a month old by then.
	n, err := e.ctl.Prune(context.Background(), controller.Retention{MaxAge: 7 * 24 * time.Hour, Batch: 3},
		time.Now().Add(30*24*time.Hour))
	if err != nil || n != int64(len(all)-1) {
		t.Fatalf("Prune: %d, %v; want %d", n, err, len(all)-1)
	}
	newest := all[len(all)-1]
	pruned := newest.ID - 1

	for _, c := range []struct{ query, lastID string }{{"?since=0", ""}, {"", "2"}} {
		header := map[string]string{}
		if c.lastID != "" {
			header["Last-Event-ID"] = c.lastID
		}
		s := e.openEvents(c.query, header)
		got := s.expect(controller.EvFeedTruncated, newest.Type)
		var ev controller.Event
		var data struct {
			Since  int64 `json:"requested_since"`
			Pruned int64 `json:"pruned_through"`
		}
		if err := json.Unmarshal([]byte(got[0].data), &ev); err != nil || json.Unmarshal(ev.Data, &data) != nil {
			t.Fatalf("feed.truncated carries %s", got[0].data)
		}
		since, _ := strconv.ParseInt(c.lastID, 10, 64)
		if got[0].id != pruned || data.Pruned != pruned || data.Since != since || ev.Actor != controller.ActorSystem {
			t.Errorf("with %q %v: feed.truncated = id %d %s; want id %d, since %d", c.query, header, got[0].id, got[0].data, pruned, since)
		}
		if got[1].id != newest.ID {
			t.Errorf("after feed.truncated comes event %d, want %d", got[1].id, newest.ID)
		}
		s.cancel()
	}
	// Resuming from the notice's id (as an EventSource does) is quiet.
	s := e.openEvents("", map[string]string{"Last-Event-ID": strconv.FormatInt(pruned, 10)})
	if ev := s.next(); ev.id != newest.ID {
		t.Errorf("resuming from %d: first event %d %s, want %d", pruned, ev.id, ev.typ, newest.ID)
	}
	s.cancel()

	// The mapping's history holds what was kept.
	var hist []controller.Event
	e.must("GET", "/api/v1/mappings/history?instance_id=4100&eid=02:00:00:00:00:01", nil, 200, &hist)
	if len(hist) != 1 || hist[0].ID != newest.ID || hist[0].Actor != "bootstrap" {
		t.Errorf("history after pruning: %+v", hist)
	}
}
