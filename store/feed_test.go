package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// TestFeedPositionAfterMigration: the feed goes on after every id handed
// out before the migration, also those of events deleted since, and the
// ids it hands out next follow on without a gap.
func TestFeedPositionAfterMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		db := open(t, dsn, 3)
		for i := 0; i < 3; i++ {
			// Raw SQL: the model has columns later migrations add.
			if err := db.Exec("INSERT INTO events (time, type, data) VALUES (?, ?, ?)", time.Now().UTC(), "xtr.up", "{}").Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Where("id > 1").Delete(&store.Event{}).Error; err != nil {
			t.Fatal(err)
		}
		closeDB(t, db)
		db = open(t, dsn, -1)
		last, err := store.LastEventID(context.Background(), db)
		if err != nil || last != 3 {
			t.Fatalf("feed position after the migration %d, %v; want 3", last, err)
		}
		tx := db.Begin()
		got, err := store.ReserveEventIDs(tx, 2)
		if err != nil {
			t.Fatal(err)
		}
		tx.Rollback()
		if got != 5 {
			t.Errorf("reserving 2 ids gave up to %d, want 5", got)
		}
		if last, _ := store.LastEventID(context.Background(), db); last != 3 {
			t.Errorf("a rolled-back reservation moved the position to %d", last)
		}
	})
}
