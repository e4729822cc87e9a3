package store

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckpointerCopiesLog: while a writer commits, the Checkpointer
// copies the log into the database file, which the writer's own
// connection would not do before its log reached writerCheckpointPages.
// Without the Checkpointer the database file stays at its size after the
// migrations.
func TestCheckpointerCopiesLog(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint("checkpointer=", on), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "l2lisp.db")
			db := openWithNetworks(t, path, 7)
			if err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
				t.Fatal(err)
			}
			before := fileSize(t, path)
			if on {
				defer func(d time.Duration) { checkpointEvery = d }(checkpointEvery)
				checkpointEvery = 10 * time.Millisecond
				cp, err := StartCheckpointer(db, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				defer cp.Close()
			}
			// About 2 MiB of rows in 50 commits, which rewrite the last
			// pages of the table and its indexes each time: well under the
			// log at which the writer's connection would checkpoint itself.
			data := strings.Repeat("x", 400)
			for c := range 50 {
				var rows []Mapping
				for i := range 100 {
					rows = append(rows, Mapping{InstanceID: 7, EID: fmt.Sprintf("10.%d.%d.0/24", c, i), Family: "ipv4",
						Locators: data, Origin: "static", Version: 1, UpdatedAt: time.Now().UTC()})
				}
				tx := db.Begin()
				if err := UpsertMappings(tx, rows); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit().Error; err != nil {
					t.Fatal(err)
				}
			}
			grown := func() bool { return fileSize(t, path) > before+1<<20 }
			deadline := time.Now().Add(10 * time.Second)
			for on && !grown() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if grown() != on {
				t.Errorf("database file %d bytes after the writes, %d before; with checkpointer %v", fileSize(t, path), before, on)
			}
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
