package controller_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// openDB opens dsn for a test.
func openDB(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, quiet)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

func startController(t *testing.T, db *gorm.DB) *controller.Controller {
	t.Helper()
	ctl, err := controller.New(context.Background(), db, quiet)
	if err != nil {
		t.Fatalf("controller.New: %v", err)
	}
	t.Cleanup(ctl.Close)
	return ctl
}

// addEvents writes n events of typ for one EID directly, at time at.
func addEvents(t *testing.T, db *gorm.DB, n int, typ, eid string, at time.Time) {
	t.Helper()
	iid := uint32(4100)
	evs := make([]store.Event, n)
	for i := range evs {
		evs[i] = store.Event{Time: at.UTC(), Type: typ, InstanceID: &iid, EID: eid, Data: "{}", Actor: "test"}
	}
	// Ids come from the feed position, as the writer hands them out.
	err := db.Transaction(func(tx *gorm.DB) error {
		last, err := store.ReserveEventIDs(tx, n)
		if err != nil {
			return err
		}
		for i := range evs {
			evs[i].ID = last - int64(n) + 1 + int64(i)
		}
		return tx.Create(&evs).Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countEvents(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&store.Event{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPrune(t *testing.T) {
	storetest.Each(t, testPrune)
}

func testPrune(t *testing.T, dsn string) {
	db := openDB(t, dsn)
	ctl := startController(t, db)
	ctx := context.Background()
	now := time.Now()
	const eid = "02:00:00:00:00:01"
	addEvents(t, db, 30, controller.EvMappingConverged, eid, now.Add(-10*24*time.Hour)) // outside a week
	addEvents(t, db, 20, controller.EvMappingConverged, eid, now.Add(-2*24*time.Hour))  // inside
	addEvents(t, db, 5, controller.EvMappingConverged, eid, now)                        // just written

	// Age: the 30 old ones go, a batch of 7 at a time, and nothing else.
	r := controller.Retention{MaxAge: 7 * 24 * time.Hour, Batch: 7, Deadline: time.Minute}
	n, err := ctl.Prune(ctx, r, now)
	if err != nil || n != 30 {
		t.Fatalf("Prune by age: deleted %d, %v; want 30", n, err)
	}
	if got := countEvents(t, db); got != 25 {
		t.Errorf("%d events left, want 25", got)
	}
	through, err := ctl.PrunedThrough(ctx)
	if err != nil || through != 30 {
		t.Errorf("PrunedThrough = %d, %v; want 30", through, err)
	}
	// Mapping history keeps what is retained.
	hist, err := ctl.History(ctx, 4100, eid, 500)
	if err != nil || len(hist) != 25 || hist[0].ID != 31 {
		t.Errorf("history after pruning: %d events from %v, %v; want 25 from 31", len(hist), firstID(hist), err)
	}
	// Pruning again finds nothing.
	if n, err := ctl.Prune(ctx, r, now); err != nil || n != 0 {
		t.Errorf("second Prune: %d, %v", n, err)
	}

	// Count: at most 8 kept, but never the last minute's events.
	r = controller.Retention{MaxCount: 8, Batch: 1000}
	if n, err := ctl.Prune(ctx, r, now); err != nil || n != 17 {
		t.Errorf("Prune by count: deleted %d, %v; want 17 (ids 31-47)", n, err)
	}
	if n, err := ctl.Prune(ctx, r, now.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("Prune by count an hour later: deleted %d, %v; want 0 (8 or fewer left)", n, err)
	}
	addEvents(t, db, 10, controller.EvMappingConverged, eid, now.Add(-time.Hour))
	if n, err := ctl.Prune(ctx, r, now.Add(time.Hour)); err != nil || n != 10 {
		t.Errorf("Prune of 18 to 8: deleted %d, %v; want 10", n, err)
	}

	// A quiet week: everything is old, the newest event still stays.
	r = controller.Retention{MaxAge: time.Hour, Batch: 3}
	if _, err := ctl.Prune(ctx, r, now.Add(30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var left []store.Event
	if err := db.Find(&left).Error; err != nil || len(left) != 1 || left[0].ID != 65 {
		t.Errorf("after pruning a quiet month: %+v, %v; want event 65 alone", left, err)
	}
	if through, _ := ctl.PrunedThrough(ctx); through != 64 {
		t.Errorf("PrunedThrough = %d, want 64", through)
	}
	// The feed keeps counting from there.
	if err := ctl.Emit(ctx, controller.EvXTRUp, nil, "", "", "x", nil); err != nil {
		t.Fatal(err)
	}
	evs, err := ctl.EventsSince(ctx, 65, 10)
	if err != nil || len(evs) != 1 || evs[0].ID <= 65 || evs[0].Actor != controller.ActorSystem {
		t.Errorf("event after pruning: %+v, %v", evs, err)
	}
}

func firstID(evs []controller.Event) int64 {
	if len(evs) == 0 {
		return 0
	}
	return evs[0].ID
}

// TestPruneDeadline stops a pass at its deadline: the feed is still a
// prefix short, never holed.
func TestPruneDeadline(t *testing.T) {
	db := openDB(t, t.TempDir()+"/l2lisp.db")
	ctl := startController(t, db)
	addEvents(t, db, 2000, controller.EvXTRUp, "", time.Now().Add(-30*24*time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ctl.Prune(ctx, controller.Retention{MaxAge: time.Hour, Batch: 10}, time.Now()); err == nil {
		t.Errorf("Prune with an ended context succeeded")
	}
	n, err := ctl.Prune(context.Background(), controller.Retention{MaxAge: time.Hour, Batch: 10, Deadline: time.Millisecond}, time.Now())
	if err == nil {
		t.Logf("a 1 ms pass finished all %d deletions", n)
	}
	through, _ := ctl.PrunedThrough(context.Background())
	var minID int64
	if err := db.Model(&store.Event{}).Select("MIN(id)").Scan(&minID).Error; err != nil {
		t.Fatal(err)
	}
	if minID != through+1 {
		t.Errorf("after a cut-short pass: oldest event %d, pruned through %d", minID, through)
	}
}

// eventGate holds one controller's reads of the events table while armed.
type eventGate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *eventGate) open() { g.once.Do(func() { close(g.release) }) }

// TestFollowerRebuildsAfterPrune holds replica b's follower while replica a
// changes things and the retention policy deletes those very events: once
// let go, b cannot replay them, so it must reload its state and drop its
// subscribers (the reconciler then resyncs every switch).
func TestFollowerRebuildsAfterPrune(t *testing.T) {
	storetest.Each(t, testFollowerRebuilds)
}

func testFollowerRebuilds(t *testing.T, dsn string) {
	ctx := context.Background()
	a := startController(t, openDB(t, dsn))
	bdb := openDB(t, dsn)
	g := &eventGate{entered: make(chan struct{}, 1), release: make(chan struct{})}
	err := bdb.Callback().Query().Before("gorm:query").Register("test:hold-follower", func(tx *gorm.DB) {
		if g.armed.Load() && tx.Statement.Table == "events" {
			select {
			case g.entered <- struct{}{}:
			default:
			}
			<-g.release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	b := startController(t, bdb)
	t.Cleanup(g.open)
	if _, err := a.CreateNetwork(ctx, 4100, "blue"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b applies network 4100", func() bool { _, err := b.Network(4100); return err == nil })
	g.armed.Store(true)
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("b's follower did not poll within 10s")
	}
	sub, cancel := b.Subscribe(100)
	defer cancel()

	// Meanwhile on a: changes, then a pruning that deletes them.
	for _, f := range []func() error{
		func() error { _, err := a.CreateNetwork(ctx, 4200, "red"); return err },
		func() error { _, err := a.CreateNetwork(ctx, 4300, "green"); return err },
		func() error { return a.DeleteNetwork(ctx, 4100) },
		func() error { return a.Emit(ctx, controller.EvXTRUp, nil, "", "", "x", nil) },
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.Prune(ctx, controller.Retention{MaxAge: time.Hour, Batch: 2}, time.Now().Add(48*time.Hour)); err != nil || n != 4 {
		t.Fatalf("Prune: %d, %v; want 4 (all but the newest)", n, err)
	}
	g.armed.Store(false)
	g.open()
	eventually(t, "b reloads the networks it never saw events for", func() bool {
		ns := b.Networks()
		return len(ns) == 2 && ns[0].InstanceID == 4200 && ns[1].InstanceID == 4300
	})
	eventually(t, "b's position is the newest event", func() bool { return b.LastEventID() == a.LastEventID() })
	select {
	case _, ok := <-sub:
		if ok {
			t.Errorf("b's subscriber got an event instead of being dropped")
		}
	case <-time.After(10 * time.Second):
		t.Errorf("b's subscriber was not dropped")
	}
	// b follows normally afterwards.
	if _, err := a.CreateNetwork(ctx, 4400, "black"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b applies the next change", func() bool { _, err := b.Network(4400); return err == nil })
}
