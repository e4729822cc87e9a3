package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// The election runs against a real PostgreSQL database (a fresh one per
// test, on the server L2LISP_TEST_POSTGRES names).

const testLease = time.Second

func pgDSN(t *testing.T) string {
	t.Helper()
	if os.Getenv(storetest.Env) == "" {
		t.Skipf("needs PostgreSQL (%s)", storetest.Env)
	}
	return storetest.Postgres(t)
}

func openDB(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// join starts replica i on its own connection pool.
func join(t *testing.T, dsn string, i int) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), Config{DB: openDB(t, dsn), ID: fmt.Sprintf("r%d", i),
		Address: fmt.Sprintf("127.0.0.1:%d", 8080+i), Elect: true, Lease: testLease,
		Applied: func() int64 { return int64(100 + i) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// leaderOf waits until exactly one of cs is leader and returns it.
func leaderOf(t *testing.T, within time.Duration, cs ...*Cluster) *Cluster {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var leaders []*Cluster
		for _, c := range cs {
			if c.IsLeader() {
				leaders = append(leaders, c)
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("%d leaders at once", len(leaders))
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader within %v", within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func others(all []*Cluster, not *Cluster) []*Cluster {
	var out []*Cluster
	for _, c := range all {
		if c != not {
			out = append(out, c)
		}
	}
	return out
}

func TestOneLeaderAndTheListOfReplicas(t *testing.T) {
	dsn := pgDSN(t)
	cs := []*Cluster{join(t, dsn, 1), join(t, dsn, 2), join(t, dsn, 3)}
	l := leaderOf(t, 5*time.Second, cs...)
	gen := l.State().Generation
	if gen < uint64(time.Now().Add(-time.Hour).UnixMilli()) {
		t.Errorf("generation %d is not derived from the database clock", gen)
	}
	// Every standby learns the term's generation at its next look.
	time.Sleep(testLease / 2)
	for _, c := range others(cs, l) {
		if st := c.State(); st.Leader || !st.Elected || st.Generation != gen || st.Holder != l.ID() {
			t.Errorf("standby %s: %+v, want a standby of term %d held by %s", c.ID(), st, gen, l.ID())
		}
	}
	reps, err := cs[0].Replicas(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 3 {
		t.Fatalf("%d replicas listed: %+v", len(reps), reps)
	}
	for i, r := range reps {
		wantRole := "standby"
		if r.ID == l.ID() {
			wantRole = "leader"
		}
		if r.ID != fmt.Sprintf("r%d", i+1) || r.Role != wantRole || r.AppliedEventID != int64(101+i) ||
			r.Address == "" || time.Since(r.Heartbeat) > 5*time.Second || r.Self != (i == 0) {
			t.Errorf("replica %d: %+v (leader %s)", i, r, l.ID())
		}
	}
}

// TestTakeoverAfterCrash: a leader that stops without a word is replaced
// once its lease runs out, in a new term with a larger generation.
func TestTakeoverAfterCrash(t *testing.T) {
	dsn := pgDSN(t)
	cs := []*Cluster{join(t, dsn, 1), join(t, dsn, 2), join(t, dsn, 3)}
	old := leaderOf(t, 5*time.Second, cs...)
	gen := old.State().Generation
	old.halt()
	crashed := time.Now()
	// The halted replica's own view runs out too (its clock still runs).
	next := leaderOf(t, 5*testLease, others(cs, old)...)
	took := time.Since(crashed)
	t.Logf("new leader %s %v after the crash (lease %v)", next.ID(), took.Round(time.Millisecond), testLease)
	if took > testLease*5/4+500*time.Millisecond {
		t.Errorf("takeover took %v, want within 1.25 x the lease plus slack", took)
	}
	if g := next.State().Generation; g <= gen {
		t.Errorf("new term's generation %d is not above %d", g, gen)
	}
	if old.IsLeader() {
		t.Errorf("the halted replica still counts itself leader")
	}
	reps, err := next.Replicas(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		if r.ID == old.ID() && r.Role != "down" {
			t.Errorf("the crashed replica is listed %q", r.Role)
		}
	}
}

// TestResignHandsOver: a leader that shuts down gives the lease up, and a
// standby takes it at its next look instead of waiting for the deadline.
func TestResignHandsOver(t *testing.T) {
	dsn := pgDSN(t)
	cs := []*Cluster{join(t, dsn, 1), join(t, dsn, 2)}
	old := leaderOf(t, 5*time.Second, cs...)
	old.Close()
	stopped := time.Now()
	next := leaderOf(t, 5*testLease, others(cs, old)...)
	if took := time.Since(stopped); took > testLease/2+300*time.Millisecond {
		t.Errorf("handover after a clean stop took %v, want about a quarter lease", took)
	}
	reps, _ := next.Replicas(context.Background())
	for _, r := range reps {
		if r.ID == old.ID() && r.Role != "stopped" {
			t.Errorf("the stopped replica is listed %q", r.Role)
		}
	}
}

// TestCutOffLeaderStopsFirst: a leader that loses the database stops
// counting itself leader before any other replica can become leader.
func TestCutOffLeaderStopsFirst(t *testing.T) {
	dsn := pgDSN(t)
	cs := []*Cluster{join(t, dsn, 1), join(t, dsn, 2)}
	old := leaderOf(t, 5*time.Second, cs...)
	next := others(cs, old)[0]
	sqlDB, _ := old.cfg.DB.DB()
	_ = sqlDB.Close() // every later call of the old leader fails
	var oldStopped, nextStarted time.Time
	deadline := time.Now().Add(10 * testLease)
	for nextStarted.IsZero() && time.Now().Before(deadline) {
		now := time.Now()
		if oldStopped.IsZero() && !old.IsLeader() {
			oldStopped = now
		}
		if next.IsLeader() {
			nextStarted = now
			if old.IsLeader() {
				t.Fatalf("two leaders: the cut-off one had not stepped down")
			}
		}
		time.Sleep(time.Millisecond)
	}
	if nextStarted.IsZero() || oldStopped.IsZero() {
		t.Fatalf("no handover: old stopped %v, next started %v", oldStopped, nextStarted)
	}
	gap := nextStarted.Sub(oldStopped)
	t.Logf("the cut-off leader stepped down %v before the next one took over", gap.Round(time.Millisecond))
	if gap <= 0 {
		t.Errorf("the next leader started %v before the old one stopped", -gap)
	}
}

// TestSingleNode: SQLite, or no election, gives a fixed role.
func TestSingleNode(t *testing.T) {
	db := openDB(t, t.TempDir()+"/l2lisp.db")
	c, err := Start(context.Background(), Config{DB: db, ID: "solo", Address: "127.0.0.1:8080", Leader: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st := c.State(); !st.Leader || st.Elected || st.Generation != 0 {
		t.Errorf("single node state %+v", st)
	}
	reps, err := c.Replicas(context.Background())
	if err != nil || len(reps) != 1 || reps[0].Role != "leader" || !reps[0].Self {
		t.Errorf("single node lists %+v, %v", reps, err)
	}
	if _, err := Start(context.Background(), Config{DB: db, ID: "x", Elect: true}); err == nil {
		t.Errorf("an election on SQLite was accepted")
	}
}
