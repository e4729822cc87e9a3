package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestPageSize: a new database gets sqlitePageSize pages and WAL; a file
// made with SQLite's default pages keeps them (the size cannot change in
// WAL mode) and opens, migrates and takes writes as before.
func TestPageSize(t *testing.T) {
	ctx := context.Background()
	fresh := filepath.Join(t.TempDir(), "new.db")
	db := openWithNetworks(t, fresh, 7)
	if page, mode := pageAndMode(t, db); page != sqlitePageSize || mode != "wal" {
		t.Errorf("new database: page_size %d journal_mode %q, want %d and wal", page, mode, sqlitePageSize)
	}

	old := filepath.Join(t.TempDir(), "old.db")
	plain, err := sql.Open("sqlite3", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ExecContext(ctx, "PRAGMA page_size = 4096; CREATE TABLE made_before (x)"); err != nil {
		t.Fatal(err)
	}
	if err := plain.Close(); err != nil {
		t.Fatal(err)
	}
	db = openWithNetworks(t, old, 7)
	if page, mode := pageAndMode(t, db); page != 4096 || mode != "wal" {
		t.Errorf("existing database: page_size %d journal_mode %q, want 4096 and wal", page, mode)
	}
	var rows []Mapping
	for i := range 50 {
		rows = append(rows, Mapping{InstanceID: 7, EID: fmt.Sprintf("10.0.%d.0/24", i), Family: "ipv4",
			Locators: "[]", Origin: "static", Version: 1, UpdatedAt: time.Now().UTC()})
	}
	writeBulk(t, db, rows, nil)
	var n int64
	if err := db.Model(&Mapping{}).Count(&n).Error; err != nil || n != 50 {
		t.Errorf("existing database: %d mappings after the write (err %v), want 50", n, err)
	}
}

func pageAndMode(t *testing.T, db *gorm.DB) (int, string) {
	t.Helper()
	var page int
	var mode string
	if err := db.Raw("PRAGMA page_size").Scan(&page).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil {
		t.Fatal(err)
	}
	return page, mode
}
