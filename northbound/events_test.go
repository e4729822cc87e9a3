package northbound_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
)

// sseEvent is one server-sent event as it came over the wire.
type sseEvent struct {
	id   int64
	typ  string
	data string
}

type stream struct {
	t      *testing.T
	events chan sseEvent
	cancel func()
}

// openEvents connects to the event stream; the request returns once the
// server has subscribed and written its headers.
func (e *env) openEvents(query string, header map[string]string) *stream {
	e.t.Helper()
	return e.openEventsAt(e.srv.URL, query, header)
}

// openEventsAt is openEvents on the server at base.
func (e *env) openEventsAt(base, query string, header map[string]string) *stream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events"+query, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, ok := header["Authorization"]; !ok && !strings.Contains(query, "access_token") {
		req.Header.Set("Authorization", "Bearer "+admin)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		cancel()
		e.t.Fatalf("GET /events: %v", err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		resp.Body.Close()
		e.t.Fatalf("GET /events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: e.t, events: make(chan sseEvent, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.typ != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"): // comment, keepalive
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[6:]
			default:
				s.t.Errorf("unexpected line in the event stream: %q", line)
			}
		}
	}()
	s.cancel = func() {
		cancel()
		resp.Body.Close()
		<-done
	}
	e.t.Cleanup(s.cancel)
	return s
}

// next waits for the next event; the deadline only guards against a hang.
func (s *stream) next() sseEvent {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("the event stream ended")
		}
		noSecrets(s.t, "event "+ev.typ, []byte(ev.data))
		var body controller.Event
		if err := json.Unmarshal([]byte(ev.data), &body); err != nil {
			s.t.Fatalf("event data is not JSON: %q", ev.data)
		}
		if body.ID != ev.id || body.Type != ev.typ {
			s.t.Errorf("event %d %s carries id %d type %s", ev.id, ev.typ, body.ID, body.Type)
		}
		return ev
	case <-time.After(30 * time.Second):
		s.t.Fatal("no event within 30s")
	}
	return sseEvent{}
}

func (s *stream) expect(types ...string) []sseEvent {
	s.t.Helper()
	var got []sseEvent
	for _, typ := range types {
		ev := s.next()
		if ev.typ != typ {
			s.t.Fatalf("event %d is %s, want %s", ev.id, ev.typ, typ)
		}
		if len(got) > 0 && ev.id <= got[len(got)-1].id {
			s.t.Errorf("event ids do not grow: %d after %d", ev.id, got[len(got)-1].id)
		}
		got = append(got, ev)
	}
	return got
}

func TestEventsLive(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	s := e.openEvents("", nil)
	// A new subscriber gets what happens from now on, not the past.
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4300, "name": "green"}, 201, nil)
	e.must("POST", "/api/v1/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "networks": []int{4300}}, 201, nil)
	e.must("PATCH", "/api/v1/sites/dc3", map[string]any{"auth_key": keyNew + "x"}, 200, nil)
	e.must("POST", "/api/v1/sites/dc3/xtrs", map[string]any{"name": "dc3-edge", "rloc": "192.0.2.3"}, 201, nil)
	e.must("POST", "/api/v1/xtrs/dc3-edge/ports", map[string]any{"name": "dc3-h1", "instance_id": 4300}, 201, nil)
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4300, "eid": "02:00:00:00:03:01", "site": "dc3"}, 201, nil)
	e.must("DELETE", "/api/v1/mappings?instance_id=4300&eid=02:00:00:00:03:01", nil, 204, nil)
	e.must("DELETE", "/api/v1/xtrs/dc3-edge/ports/dc3-h1", nil, 204, nil)
	e.must("DELETE", "/api/v1/xtrs/dc3-edge", nil, 204, nil)
	e.must("DELETE", "/api/v1/sites/dc3", nil, 204, nil)
	e.must("DELETE", "/api/v1/networks/4300", nil, 204, nil)
	got := s.expect("network.created", "site.created", "site.updated", "xtr.created", "port.bound",
		"mapping.created", "mapping.deleted", "port.unbound", "xtr.deleted", "site.deleted", "network.deleted")
	var first controller.Event
	if err := json.Unmarshal([]byte(got[0].data), &first); err != nil || first.InstanceID == nil || *first.InstanceID != 4300 {
		t.Errorf("network.created carries %s", got[0].data)
	}
	var m controller.Event
	if err := json.Unmarshal([]byte(got[5].data), &m); err != nil || m.EID != "02:00:00:00:03:01" || m.Site != "dc3" {
		t.Errorf("mapping.created carries %s", got[5].data)
	}
	// The stream and the feed in the database agree.
	db := e.eventsAfter(got[0].id - 1)
	if len(db) != len(got) {
		t.Fatalf("%d events streamed, %d in the feed", len(got), len(db))
	}
	for i := range db {
		if db[i].ID != got[i].id || db[i].Type != got[i].typ {
			t.Errorf("streamed %d %s, feed has %d %s", got[i].id, got[i].typ, db[i].ID, db[i].Type)
		}
	}
}

func TestEventsReplay(t *testing.T) {
	e := newEnv(t)
	e.fixture()
	s := e.openEvents("", nil)
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4300, "name": "green"}, 201, nil)
	seen := s.expect("network.created")[0].id
	s.cancel()

	// Missed while disconnected.
	e.must("POST", "/api/v1/sites", map[string]any{"name": "dc3", "auth_key": keyNew, "networks": []int{4300}}, 201, nil)
	e.must("POST", "/api/v1/mappings", map[string]any{"instance_id": 4300, "eid": "02:00:00:00:03:01", "site": "dc3",
		"rlocs": []map[string]any{{"address": "192.0.2.9"}}}, 201, nil)

	s = e.openEvents("", map[string]string{"Last-Event-ID": strconv.FormatInt(seen, 10)})
	missed := s.expect("site.created", "mapping.created")
	if missed[0].id != seen+1 {
		t.Errorf("replay starts at %d, want %d", missed[0].id, seen+1)
	}
	e.must("DELETE", "/api/v1/mappings?instance_id=4300&eid=02:00:00:00:03:01", nil, 204, nil)
	s.expect("mapping.deleted")
	s.cancel()

	// ?since=0 replays the whole feed, here through the read token in the query.
	all := e.eventsAfter(0)
	s = e.openEvents("?since=0&access_token="+read, nil)
	var types []string
	for range all {
		types = append(types, s.next().typ)
	}
	if !slices.Equal(types, eventTypes(all)) {
		t.Errorf("replay from 0 = %v, want %v", types, eventTypes(all))
	}
	s.cancel()

	// Last-Event-ID wins over since, as an EventSource reconnecting keeps its URL.
	s = e.openEvents("?since=0", map[string]string{"Last-Event-ID": strconv.FormatInt(all[len(all)-2].ID, 10)})
	if ev := s.next(); ev.id != all[len(all)-1].ID {
		t.Errorf("with Last-Event-ID and since, the first event is %d, want %d", ev.id, all[len(all)-1].ID)
	}
}

// TestEventsReplayLongBacklog replays more events than one backlog read
// holds: the stream must still deliver every id, in order, without a hole.
func TestEventsReplayLongBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10k events")
	}
	e := newEnv(t)
	const n = 10050
	work := make(chan int)
	errs := make(chan error, n)
	for range 32 {
		go func() {
			for i := range work {
				errs <- e.ctl.Emit(context.Background(), controller.EvXTRUp, nil, "", "", "x", map[string]int{"i": i})
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := e.openEvents("?since=0", nil)
	e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4300, "name": "green"}, 201, nil)
	for want := int64(1); want <= n+1; want++ {
		ev := s.next()
		if ev.id != want {
			t.Fatalf("replay of %d events: got event %d (%s) where %d was due", n, ev.id, ev.typ, want)
		}
	}
}
