package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// TestChangeFormEvents: the writer stores a registration's event in the
// change form (the record less what the row's columns hold), and whoever
// reads the feed sees the whole record as before: the follower, whether
// it takes the event from the writer's hand-off or reads the row
// (eventFromRow), EventsSince and History.
func TestChangeFormEvents(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, openDB(t, filepath.Join(t.TempDir(), "l2lisp.db")), quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addSites(t, c, "dcA", "dcB")
	rec := regRecord("10.1.0.1/32")
	eid := rec.EID
	for _, site := range []string{"dcA", "dcB"} { // created, then moved
		res := c.RegisterMany(ctx, []Registration{{Site: site, Records: []mapping.Record{rec}, Expires: time.Now().Add(time.Hour)}})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	now, ok := c.idx.Get(eid)
	if !ok || now.Site != "dcB" || now.Version != 2 {
		t.Fatalf("index holds %+v (%v), want the record moved to dcB at version 2", now, ok)
	}
	var rows []store.Event
	if err := c.db.Where("type LIKE ?", "mapping.%").Order("id").Find(&rows).Error; err != nil || len(rows) != 2 {
		t.Fatalf("%d mapping events stored (%v), want 2", len(rows), err)
	}
	last := rows[1]
	var members map[string]json.RawMessage
	if err := json.Unmarshal([]byte(last.Data), &members); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"instance_id", "eid", "site", "xtr"} {
		if _, ok := members[k]; ok {
			t.Errorf("stored data %s repeats column %q", last.Data, k)
		}
	}
	whole := now.AppendJSON(nil)
	if ev := eventFromRow(last); ev.Type != EvMappingMoved || !bytes.Equal(ev.Data, whole) {
		t.Errorf("row read back: %s %s\nwant %s %s", ev.Type, ev.Data, EvMappingMoved, whole)
	} else if r, err := ev.MappingRecord(); err != nil || !bytes.Equal(r.AppendJSON(nil), whole) {
		t.Errorf("record of the row read back: %+v (%v), want %s", r, err, whole)
	}
	since, err := c.EventsSince(ctx, last.ID-1, 10)
	if err != nil || len(since) != 1 || !bytes.Equal(since[0].Data, whole) {
		t.Errorf("EventsSince: %+v (%v), want one event with data %s", since, err, whole)
	}
	hist, err := c.History(ctx, 7, "10.1.0.1/32", 10)
	if err != nil || len(hist) != 2 || !bytes.Equal(hist[1].Data, whole) || hist[0].Type != EvMappingCreated {
		t.Errorf("History: %+v (%v), want created then moved with data %s", hist, err, whole)
	}
	// The hand-off: what the follower published is the whole record too.
	handed := storedEvent(last)
	handed.rec = &now
	handed.expand()
	if !bytes.Equal(handed.Data, whole) {
		t.Errorf("handed-off event after expand: %s, want %s", handed.Data, whole)
	}
}
