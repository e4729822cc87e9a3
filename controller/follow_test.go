package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// These tests force the races of a shared change feed on every database
// (PostgreSQL when L2LISP_TEST_POSTGRES is set): a writer replica a, an
// observing replica b whose follower the test drives step by step, and a
// third "replica" writing raw transactions through its own connection.

var quietLog = slog.New(slog.DiscardHandler)

func openDB(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, quietLog)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// replicas starts a full replica a and a replica b with no background
// work: b applies the feed only when the test calls followOnce or catchUp.
func replicas(t *testing.T, dsn string) (a, b *Controller) {
	t.Helper()
	ctx := context.Background()
	a, err := New(ctx, openDB(t, dsn), quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	b, err = open(ctx, openDB(t, dsn), quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return a, b
}

// rawEvent writes one event the way a commit does, inside tx.
func rawEvent(t *testing.T, tx *gorm.DB, typ string, iid uint32, eid, data string) int64 {
	t.Helper()
	id, err := store.ReserveEventIDs(tx, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev := store.Event{ID: id, Time: time.Now().UTC(), Type: typ, InstanceID: &iid, EID: eid, Data: data}
	if err := tx.Create(&ev).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

func mustNetwork(t *testing.T, c *Controller, iid int64) {
	t.Helper()
	if _, err := c.CreateNetwork(context.Background(), iid, fmt.Sprintf("net%d", iid)); err != nil {
		t.Fatalf("create network %d: %v", iid, err)
	}
}

// pgDSN is a fresh PostgreSQL database; the test is skipped without one.
func pgDSN(t *testing.T) string {
	t.Helper()
	if os.Getenv(storetest.Env) == "" {
		t.Skipf("needs PostgreSQL (%s)", storetest.Env)
	}
	return storetest.Postgres(t)
}

func rebuilds() float64 {
	var m dto.Metric
	_ = metrics.FeedRebuilds.Write(&m)
	return m.GetCounter().GetValue()
}

func followAll(t *testing.T, b *Controller) int {
	t.Helper()
	n, err := b.followOnce()
	if err != nil {
		t.Fatalf("followOnce: %v", err)
	}
	return n
}

func TestFeedRolledBackWriterLeavesNoHole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		a, b := replicas(t, dsn)
		mustNetwork(t, a, 4100)
		first := a.LastEventID()
		followAll(t, b)

		// Another writer takes the next id and rolls back.
		tx := openDB(t, dsn).Begin()
		taken := rawEvent(t, tx, EvNetworkCreated, 4999, "", "{}")
		if err := tx.Rollback().Error; err != nil {
			t.Fatal(err)
		}
		if taken != first+1 {
			t.Fatalf("the rolled-back writer got id %d, want %d", taken, first+1)
		}
		mustNetwork(t, a, 4200)
		if got := a.LastEventID(); got != first+1 {
			t.Fatalf("the next committed event has id %d, want %d: the rolled-back id left a hole", got, first+1)
		}
		// b applies it in one step: there is no hole to wait on.
		if n := followAll(t, b); n != 1 || b.LastEventID() != first+1 {
			t.Fatalf("b applied %d events, at %d; want 1, at %d", n, b.LastEventID(), first+1)
		}
		if _, err := b.Network(4200); err != nil {
			t.Errorf("b misses network 4200: %v", err)
		}
	})
}

// TestFeedLateCommitIsNotSkipped: a writer that took its id first and
// commits late holds back the writers after it, so no reader can see a
// larger id before it.
func TestFeedLateCommitIsNotSkipped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		a, b := replicas(t, dsn)
		mustNetwork(t, a, 4100)
		followAll(t, b)
		events, cancel := b.Subscribe(16)
		defer cancel()

		slow := openDB(t, dsn).Begin()
		if err := slow.Create(&store.Network{InstanceID: 4300, Name: "late", Encapsulation: "lisp-gpe", CreatedAt: time.Now().UTC()}).Error; err != nil {
			t.Fatal(err)
		}
		slowID := rawEvent(t, slow, EvNetworkCreated, 4300, "", "{}")
		fast := make(chan error, 1)
		go func() {
			_, err := a.CreateNetwork(context.Background(), 4400, "fast")
			fast <- err
		}()
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-fast:
			t.Fatalf("the second writer committed (%v) while the first, with the smaller id, was open", err)
		default:
		}
		if n := followAll(t, b); n != 0 {
			t.Fatalf("b applied %d events while the first writer was open", n)
		}
		if err := slow.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if err := <-fast; err != nil {
			t.Fatal(err)
		}
		if got := a.LastEventID(); got != slowID+1 {
			t.Fatalf("the second writer's event has id %d, want %d", got, slowID+1)
		}
		for followAll(t, b) > 0 {
		}
		for _, want := range []int64{slowID, slowID + 1} {
			if ev := <-events; ev.ID != want {
				t.Fatalf("b published event %d, want %d", ev.ID, want)
			}
		}
		for _, iid := range []uint32{4300, 4400} {
			if _, err := b.Network(iid); err != nil {
				t.Errorf("b misses network %d: %v", iid, err)
			}
		}
	})
}

// TestFeedRollbackUnderWaitingWriter: when the open writer rolls back
// instead, the waiting one gets its id: still no hole.
func TestFeedRollbackUnderWaitingWriter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		a, b := replicas(t, dsn)
		mustNetwork(t, a, 4100)
		followAll(t, b)
		slow := openDB(t, dsn).Begin()
		slowID := rawEvent(t, slow, EvNetworkCreated, 4999, "", "{}")
		fast := make(chan error, 1)
		go func() { _, err := a.CreateNetwork(context.Background(), 4400, "fast"); fast <- err }()
		time.Sleep(200 * time.Millisecond)
		if err := slow.Rollback().Error; err != nil {
			t.Fatal(err)
		}
		if err := <-fast; err != nil {
			t.Fatal(err)
		}
		if got := a.LastEventID(); got != slowID {
			t.Fatalf("the waiting writer's event has id %d, want the rolled-back %d", got, slowID)
		}
		if n := followAll(t, b); n != 1 {
			t.Fatalf("b applied %d events, want 1", n)
		}
	})
}

// TestFeedRebuildsOnApplyError: an event b cannot apply makes it reload
// the state from the database, drop its subscribers and go on from there.
func TestFeedRebuildsOnApplyError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		a, b := replicas(t, dsn)
		mustNetwork(t, a, 4100)
		followAll(t, b)
		// b has drifted: it holds a record the database does not.
		ghost, _ := mapping.ParseEID(4100, "02:00:00:00:00:66")
		b.idx.Put(mapping.Record{EID: ghost, Origin: mapping.OriginStatic, Version: 1})
		events, cancel := b.Subscribe(16)
		defer cancel()

		eid, _ := mapping.ParseEID(4100, "02:00:00:00:00:09")
		rec := mapping.Record{EID: eid, TTL: 1440, Origin: mapping.OriginStatic, Site: "dc1", Version: 1,
			Locators:  []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.9"), Priority: 1, Weight: 100, Up: true}},
			UpdatedAt: time.Now().UTC()}
		tx := openDB(t, dsn).Begin()
		if err := saveRow(tx, rec); err != nil {
			t.Fatal(err)
		}
		bad := rawEvent(t, tx, EvMappingCreated, 4100, eid.Address(), `{"eid": not json`)
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		before := rebuilds()
		b.catchUp()
		// (a's own follower meets the event too and may count as well.)
		if got := rebuilds() - before; got < 1 {
			t.Fatalf("l2lisp_feed_rebuilds_total did not grow")
		}
		if b.LastEventID() != bad {
			t.Errorf("b at %d after the rebuild, want %d", b.LastEventID(), bad)
		}
		if r, ok := b.Record(eid); !ok || len(r.Locators) != 1 || r.Locators[0].Addr != netip.MustParseAddr("192.0.2.9") {
			t.Errorf("after the rebuild b has %+v, %v; want the record from the database", r, ok)
		}
		if _, ok := b.Record(ghost); ok {
			t.Errorf("the record the database does not hold survived the rebuild")
		}
		if _, open := <-events; open {
			t.Errorf("the subscription was not dropped by the rebuild")
		}
		// The feed goes on normally: a new subscriber gets the next
		// event, not a dropped channel.
		events, cancel2 := b.Subscribe(16)
		defer cancel2()
		mustNetwork(t, a, 4200)
		b.catchUp()
		if _, err := b.Network(4200); err != nil || b.LastEventID() != a.LastEventID() {
			t.Errorf("after the rebuild b misses later events: %v, at %d of %d", err, b.LastEventID(), a.LastEventID())
		}
		if ev, open := <-events; !open || ev.ID != a.LastEventID() {
			t.Errorf("after the rebuild b published %+v (open %v), want event %d", ev, open, a.LastEventID())
		}
	})
}

// TestFeedRebuildsOnHole: events deleted before b read them (a retention
// job, an operator) leave a hole; b rebuilds rather than skip it.
func TestFeedRebuildsOnHole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		a, b := replicas(t, dsn)
		mustNetwork(t, a, 4100)
		followAll(t, b)
		mustNetwork(t, a, 4200)
		mustNetwork(t, a, 4300)
		if err := a.db.Where("id = ?", a.LastEventID()-1).Delete(&store.Event{}).Error; err != nil {
			t.Fatal(err)
		}
		events, cancel := b.Subscribe(16)
		defer cancel()
		b.catchUp()
		if _, open := <-events; open {
			t.Errorf("b did not rebuild (its subscription is still open)")
		}
		for _, iid := range []uint32{4200, 4300} {
			if _, err := b.Network(iid); err != nil {
				t.Errorf("b misses network %d: %v", iid, err)
			}
		}
		if b.LastEventID() != a.LastEventID() {
			t.Errorf("b at %d, a at %d", b.LastEventID(), a.LastEventID())
		}
	})
}

// TestFeedNotifiesOtherReplicas: on PostgreSQL a commit wakes the other
// replicas' followers through LISTEN/NOTIFY, without waiting for a poll.
func TestFeedNotifiesOtherReplicas(t *testing.T) {
	dsn := pgDSN(t)
	a, b := replicas(t, dsn)
	b.wg.Add(1)
	go b.listen()
	// b's listener nudges once when it starts listening; then only for
	// commits.
	select {
	case <-b.nudges:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener never started")
	}
	select {
	case <-b.nudges:
		t.Fatal("nudged without a commit")
	case <-time.After(300 * time.Millisecond):
	}
	mustNetwork(t, a, 4100)
	select {
	case <-b.nudges:
	case <-time.After(10 * time.Second):
		t.Fatal("a commit by replica a did not wake replica b")
	}
	if n := followAll(t, b); n != 1 {
		t.Errorf("b applied %d events, want 1", n)
	}
}

// TestFeedPausedWriterLetsGo: a writer that stops talking in the middle
// of its transaction (paused, cut off) while holding the feed position is
// ended by PostgreSQL after a few seconds, and the other replicas' writes
// go on.
func TestFeedPausedWriterLetsGo(t *testing.T) {
	dsn := pgDSN(t)
	a, _ := replicas(t, dsn)
	stuck := openDB(t, dsn).Begin()
	if err := guardTx(stuck); err != nil {
		t.Fatal(err)
	}
	rawEvent(t, stuck, EvNetworkCreated, 4999, "", "{}")
	start := time.Now()
	mustNetwork(t, a, 4100) // waits for the stuck writer's lock
	took := time.Since(start)
	t.Logf("a write waited %v for the silent writer to be cut off", took.Round(time.Millisecond))
	if took < 4*time.Second {
		t.Errorf("the write did not wait for the lock (%v)", took)
	}
	if err := stuck.Commit().Error; err == nil {
		t.Errorf("the silent writer's transaction survived")
	}
}
