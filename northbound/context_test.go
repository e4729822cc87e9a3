package northbound_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
)

// gate holds the database calls on one table until released, and tells
// whether the request's context ended while they waited.
type gate struct {
	once     sync.Once
	table    string
	entered  chan struct{}
	release  chan struct{}
	canceled chan struct{}
	armed    atomic.Bool
}

// newGate adds the gate to db's queries (query) or inserts.
func newGate(t *testing.T, db *gorm.DB, table string, query bool) *gate {
	g := &gate{table: table, entered: make(chan struct{}, 16), release: make(chan struct{}), canceled: make(chan struct{}, 16)}
	register := db.Callback().Create().Before("gorm:create").Register
	if query {
		register = db.Callback().Query().Before("gorm:query").Register
	}
	err := register("test:gate-"+table, func(tx *gorm.DB) {
		if !g.armed.Load() || tx.Statement.Table != g.table {
			return
		}
		g.entered <- struct{}{}
		select {
		case <-tx.Statement.Context.Done():
			g.canceled <- struct{}{}
		case <-g.release:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// open lets every held and future call through.
func (g *gate) open() {
	g.armed.Store(false)
	g.once.Do(func() { close(g.release) })
}

// TestHungUpClientCancelsRead: a client that hangs up ends the database
// query its request started.
func TestHungUpClientCancelsRead(t *testing.T) {
	var g *gate
	e := newEnvHooked(t, t.TempDir()+"/l2lisp.db", func(db *gorm.DB) { g = newGate(t, db, "mappings", true) })
	t.Cleanup(g.open) // before the server's cleanup: a failing test leaves no query in the gate
	e.fixture()
	g.armed.Store(true)
	ctx, hangUp := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/mappings", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	go func() {
		if resp, err := e.srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, g.entered, "the query to start")
	hangUp()
	waitFor(t, g.canceled, "the query's context to end after the client hung up")
}

// TestHungUpClientCancelsWrite: a write still queued behind another when
// its client hangs up is not made.
func TestHungUpClientCancelsWrite(t *testing.T) {
	var g *gate
	e := newEnvHooked(t, t.TempDir()+"/l2lisp.db", func(db *gorm.DB) { g = newGate(t, db, "networks", false) })
	t.Cleanup(g.open)
	g.armed.Store(true)
	first := make(chan int, 1)
	go func() {
		status, _ := e.request("POST", "/api/v1/networks", admin, map[string]any{"instance_id": 4100, "name": "blue"})
		first <- status
	}()
	waitFor(t, g.entered, "the first write to start") // the single writer now waits in the gate

	ctx, hangUp := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/v1/networks",
		jsonBody(t, map[string]any{"instance_id": 4200, "name": "red"}))
	req.Header.Set("Authorization", "Bearer "+admin)
	sent := make(chan error, 1)
	go func() {
		resp, err := e.srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		sent <- err
	}()
	time.Sleep(200 * time.Millisecond) // the second write is queued
	hangUp()
	<-sent
	time.Sleep(200 * time.Millisecond) // the server sees the hang-up
	g.open()
	if status := <-first; status != 201 {
		t.Fatalf("first write: %d", status)
	}
	e.must("GET", "/api/v1/networks/4100", nil, 200, nil)
	if status, b := e.request("GET", "/api/v1/networks/4200", admin, nil); status != 404 {
		t.Errorf("the write whose client hung up was made: %d %s", status, b)
	}
	for _, ev := range e.eventsAfter(0) {
		if ev.InstanceID != nil && *ev.InstanceID == 4200 {
			t.Errorf("the abandoned write left event %+v", ev)
		}
	}
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
	}
}
