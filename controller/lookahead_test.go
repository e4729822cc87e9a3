package controller

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// lookaheadController is a controller on a fresh SQLite database with
// network 7 and sites dcA and dcB (both holding 10.0.0.0/8), whose writer
// is not running: the test hands batches to commit itself and queues the
// next ones where the writer takes them from.
func lookaheadController(t *testing.T) (*Controller, *gorm.DB) {
	t.Helper()
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "l2lisp.db"))
	setup, err := New(ctx, db, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	addSites(t, setup, "dcA", "dcB")
	setup.Close()
	c, err := open(ctx, db, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	return c, db
}

// addSites creates, through c, network 7 and sites that hold
// 10.0.0.0/8 in it.
func addSites(t *testing.T, c *Controller, sites ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateNetwork(ctx, 7, "seven"); err != nil {
		t.Fatal(err)
	}
	for _, site := range sites {
		key, nets, pfx := "registration-key", []int64{7}, []string{"10.0.0.0/8"}
		if _, err := c.CreateSite(ctx, SiteInput{Name: site, AuthKey: &key, Networks: &nets, EIDPrefixes: &pfx}); err != nil {
			t.Fatal(err)
		}
	}
}

// regRecord is the record a Map-Register of xTR 192.0.2.9 carries for
// EID prefix e of network 7.
func regRecord(e string) mapping.Record {
	return mapping.Record{EID: mapping.PrefixEID(7, netip.MustParsePrefix(e)), TTL: 3, XTR: "192.0.2.9",
		Locators: []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.9"), Priority: 1, Weight: 100, Up: true}}}
}

// regOp is the write of one Map-Register of site per EID.
func regOp(site string, eids ...string) writeOp {
	var units []*saveUnit
	for _, e := range eids {
		units = append(units, &saveUnit{site: site, recs: []mapping.Record{regRecord(e)}, register: true,
			expires: time.Now().Add(time.Hour).Truncate(time.Second), actor: ActorSite(site)})
	}
	return writeOp{ctx: context.Background(), done: make(chan writeResult, 1), units: units}
}

// stored is "eid site version" of every mapping row, and the types of
// the events after id, in order.
func stored(t *testing.T, db *gorm.DB, after int64) (rows, events string) {
	t.Helper()
	var ms []store.Mapping
	if err := db.Order("eid").Find(&ms).Error; err != nil {
		t.Fatal(err)
	}
	var r []string
	for _, m := range ms {
		r = append(r, m.EID+" "+m.Site+" "+string(rune('0'+m.Version)))
	}
	var evs []store.Event
	if err := db.Where("id > ?", after).Order("id").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	var e []string
	for _, ev := range evs {
		e = append(e, strings.TrimPrefix(ev.Type, "mapping.")+" "+ev.EID)
	}
	return strings.Join(r, ", "), strings.Join(e, ", ")
}

func lastID(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var id int64
	if err := db.Model(&store.Event{}).Select("COALESCE(MAX(id), 0)").Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// TestLookaheadPlansNextBatch: the batches queued while one is written are
// planned beside that write, against its rows (not yet stored when they
// are read): an EID registered by dcA and moved by dcB in the next batch
// is moved (dcA is known to the plan only through that row), and its
// version counts every batch. Each plan is used, not made again.
func TestLookaheadPlansNextBatch(t *testing.T) {
	c, db := lookaheadController(t)
	after := lastID(t, db)
	x, y, w := "10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32"
	first := regOp("dcA", x, y)
	c.writes <- regOp("dcB", x)
	c.writes <- regOp("dcB", w)
	la := c.commit([]writeOp{first}, nil)
	if len(la.batch) != 2 || la.done == nil {
		t.Fatalf("next batch: %d ops, planned %v", len(la.batch), la.done != nil)
	}
	third := regOp("dcB", x)
	c.writes <- third
	la2 := c.commit(la.batch, la)
	if len(la2.batch) != 1 || la2.done == nil {
		t.Fatalf("batch after: %d ops, planned %v", len(la2.batch), la2.done != nil)
	}
	c.commit(la2.batch, la2)

	for i, op := range append([]writeOp{first}, append(la.batch, third)...) {
		if res := <-op.done; res.err != nil {
			t.Fatalf("op %d: %v", i, res.err)
		}
		for _, u := range op.units {
			if u.err != nil {
				t.Errorf("op %d: %v", i, u.err)
			}
		}
	}
	if old := la.batch[0].units[0].saved[0].Old; old == nil || old.Site != "dcA" || old.Version != 1 {
		t.Errorf("the move replaced %+v, want dcA's version 1", old)
	}
	rows, events := stored(t, db, after)
	if want := x + " dcB 3, " + y + " dcA 1, " + w + " dcB 1"; rows != want {
		t.Errorf("rows %s, want %s", rows, want)
	}
	if want := "created " + x + ", created " + y + ", moved " + x + ", created " + w + ", updated " + x; events != want {
		t.Errorf("events %s, want %s", events, want)
	}
	if !planUsed(la) || !planUsed(la2) {
		t.Error("a plan made ahead was not used")
	}
}

// planUsed reports whether the plan of la was the one stored: the records
// its events carry are those its units were left with (planning again
// would have given them new ones).
func planUsed(la *lookahead) bool {
	p := la.wait()
	if p == nil {
		return false
	}
	for _, op := range la.batch {
		for _, u := range op.units {
			if len(u.saved) > 0 {
				return containsRec(p, &u.saved[0].Record)
			}
		}
	}
	return false
}

func containsRec(p *unitPlan, r *mapping.Record) bool {
	for _, pr := range p.evs.recs {
		if pr == r {
			return true
		}
	}
	return false
}

// TestLookaheadDropsPlanOfFailedWrite: when the bulk write of a batch fails
// (a trigger refuses dcA's row for one EID) and the batch is written
// again unit by unit, the plan made beside the failed write (which
// counted that row) is dropped: dcB's registration of the EID in the next
// batch is a new EID, version 1, not a move.
func TestLookaheadDropsPlanOfFailedWrite(t *testing.T) {
	c, db := lookaheadController(t)
	r, x := "10.0.0.66/32", "10.0.0.67/32"
	if err := db.Exec("CREATE TRIGGER refuse_a BEFORE INSERT ON mappings WHEN NEW.eid = '" + r +
		"' AND NEW.site = 'dcA' BEGIN SELECT RAISE(ABORT, 'refused by test'); END").Error; err != nil {
		t.Fatal(err)
	}
	after := lastID(t, db)
	first := regOp("dcA", r, x)
	c.writes <- regOp("dcB", r)
	la := c.commit([]writeOp{first}, nil)
	if len(la.batch) != 1 || la.done != nil {
		t.Fatalf("next batch: %d ops, planned %v (want the plan dropped)", len(la.batch), la.done != nil)
	}
	c.commit(la.batch, la)
	<-first.done
	if first.units[0].err == nil || first.units[1].err != nil {
		t.Errorf("dcA's units: %v, %v; want the first refused", first.units[0].err, first.units[1].err)
	}
	if res := <-la.batch[0].done; res.err != nil || la.batch[0].units[0].err != nil {
		t.Fatalf("dcB: %v %v", res.err, la.batch[0].units[0].err)
	}
	rows, events := stored(t, db, after)
	if want := r + " dcB 1, " + x + " dcA 1"; rows != want {
		t.Errorf("rows %s, want %s", rows, want)
	}
	if want := "created " + x + ", created " + r; events != want {
		t.Errorf("events %s, want %s", events, want)
	}
}

// TestLookaheadOnlyRegistrations: an operator's mapping write in the
// current batch, or an ordinary op in the next, stops the plan ahead.
func TestLookaheadOnlyRegistrations(t *testing.T) {
	c, _ := lookaheadController(t)
	operator := regOp("dcA", "10.0.0.1/32")
	operator.units[0].register = false
	c.writes <- regOp("dcB", "10.0.0.2/32")
	if la := c.commit([]writeOp{operator}, nil); la.done != nil || len(la.batch) != 0 {
		t.Errorf("after an operator's write: %d ops taken, planned %v", len(la.batch), la.done != nil)
	}
	queued := <-c.writes
	ordinary := writeOp{ctx: context.Background(), done: make(chan writeResult, 1),
		fn: func(*gorm.DB) ([]store.Event, error) { return nil, nil }}
	c.writes <- ordinary
	if la := c.commit([]writeOp{queued}, nil); la.done != nil || len(la.batch) != 1 {
		t.Errorf("before an ordinary op: %d ops taken, planned %v", len(la.batch), la.done != nil)
	}
}
