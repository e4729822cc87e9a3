package store

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestChunkLen(t *testing.T) {
	var cuts []int
	for n := 2300; n > 0; {
		c := chunkLen(n, 1000)
		cuts, n = append(cuts, c), n-c
	}
	if want := []int{1000, 1000, 256, 32, 8, 4}; !slices.Equal(cuts, want) {
		t.Errorf("2300 rows cut into %v, want %v", cuts, want)
	}
	for _, c := range cuts {
		if !slices.Contains(chunkSizes(1000), c) {
			t.Errorf("chunk of %d has no prepared statement", c)
		}
	}
}

// TestBulkPrepared writes rows through the prepared statements of a
// SQLite database, in sizes that take several of them, and reads them
// back.
func TestBulkPrepared(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "l2lisp.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if err := db.Exec("INSERT INTO networks (instance_id, name, created_at) VALUES (7, 'n7', ?)", time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	rows := make([]Mapping, 1300)
	for i := range rows {
		rows[i] = Mapping{InstanceID: 7, EID: fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff), Family: "mac",
			Locators: "[]", Origin: "static", Version: 1, UpdatedAt: now}
	}
	tx := db.Begin()
	if preparedFor(tx, stmtKey{kind: stmtUpsert, n: 256}) == nil || preparedFor(tx, stmtKey{kind: stmtEvents, n: 2000}) == nil {
		t.Fatal("the bulk statements are not prepared")
	}
	if err := UpsertMappings(tx, rows); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.Model(&Mapping{}).Where("instance_id = 7").Count(&n).Error; err != nil || n != 1300 {
		t.Fatalf("%d rows, %v; want 1300", n, err)
	}
}
