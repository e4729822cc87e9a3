package store

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/store/storetest"
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
	db := openWithNetworks(t, filepath.Join(t.TempDir(), "l2lisp.db"), 7)
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

// TestBulkTimesReadBack: the bulk statements give SQLite times as text
// they format themselves; every time must read back as the same instant,
// with or without nanoseconds, in UTC or another zone, and a missing
// expiry as NULL.
func TestBulkTimesReadBack(t *testing.T) {
	db := openWithNetworks(t, filepath.Join(t.TempDir(), "l2lisp.db"), 7)
	times := []time.Time{
		time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC),
		time.Date(2026, 12, 1, 12, 0, 0, 5000, time.FixedZone("", 2*3600)),
		time.Date(2026, 12, 1, 12, 0, 0, 5000, time.FixedZone("", 2*3600)), // a run of equal times
	}
	var rows []Mapping
	var evs []Event
	for i, tm := range times {
		r := Mapping{InstanceID: 7, EID: fmt.Sprintf("10.0.0.%d/32", i), Family: "ipv4", Locators: "[]",
			Origin: "registered", Version: uint64(i + 1), UpdatedAt: tm}
		if i%2 == 1 {
			exp := tm.Add(time.Hour)
			r.ExpiresAt = &exp
		}
		rows = append(rows, r)
		iid := uint32(7)
		evs = append(evs, Event{ID: int64(100 + i), Time: tm, Type: "mapping.created", InstanceID: &iid, EID: r.EID, Data: "{}"})
	}
	writeBulk(t, db, rows, evs)
	var got []Mapping
	if err := db.Order("version").Find(&got).Error; err != nil || len(got) != len(rows) {
		t.Fatalf("%d rows, %v", len(got), err)
	}
	var gotEv []Event
	if err := db.Where("id >= 100").Order("id").Find(&gotEv).Error; err != nil || len(gotEv) != len(evs) {
		t.Fatalf("%d events, %v", len(gotEv), err)
	}
	for i := range rows {
		if !got[i].UpdatedAt.Equal(rows[i].UpdatedAt) {
			t.Errorf("row %d: updated_at %v, wrote %v", i, got[i].UpdatedAt, rows[i].UpdatedAt)
		}
		switch w, g := rows[i].ExpiresAt, got[i].ExpiresAt; {
		case (w == nil) != (g == nil):
			t.Errorf("row %d: expires_at %v, wrote %v", i, g, w)
		case w != nil && !w.Equal(*g):
			t.Errorf("row %d: expires_at %v, wrote %v", i, *g, *w)
		}
		if !gotEv[i].Time.Equal(evs[i].Time) || *gotEv[i].InstanceID != 7 {
			t.Errorf("event %d: time %v iid %v, wrote %v 7", i, gotEv[i].Time, gotEv[i].InstanceID, evs[i].Time)
		}
	}
}

// TestFindMappings reads back rows by key through the padded, prepared
// statements, on SQLite and PostgreSQL: present keys of two instance-ids,
// absent keys, more keys than one statement takes, and every column.
func TestFindMappings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		db := openWithNetworks(t, dsn, 7, 8)
		now := time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC) // PostgreSQL keeps microseconds
		exp := now.Add(time.Hour)
		var rows []Mapping
		for i := range 700 {
			r := Mapping{InstanceID: uint32(7 + i%2), EID: fmt.Sprintf("10.0.%d.%d/32", i>>8, i&0xff), Family: "ipv4",
				Locators: `[{"address":"192.0.2.1"}]`, TTL: uint32(i), Origin: "registered", Site: "dc1", XTR: "192.0.2.9",
				Port: "p", NoProxy: i%3 == 0, MAC: "02:00:00:00:00:01", Frozen: i%5 == 0, Version: uint64(i + 1), UpdatedAt: now}
			if i%2 == 0 {
				r.ExpiresAt = &exp
			}
			rows = append(rows, r)
		}
		tx := db.Begin()
		if err := UpsertMappings(tx, rows); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 3, 700} {
			var keys []MappingKey
			for _, r := range rows[:n] {
				keys = append(keys, MappingKey{r.InstanceID, r.EID}, MappingKey{r.InstanceID, "10.9.9.9/32"})
			}
			got, err := FindMappings(db, keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d keys present: found %d", n, len(got))
			}
			for _, w := range rows[:n] {
				g, ok := got[MappingKey{w.InstanceID, w.EID}]
				if !ok {
					t.Fatalf("%d/%s not found", w.InstanceID, w.EID)
				}
				if !g.UpdatedAt.Equal(w.UpdatedAt) || (g.ExpiresAt == nil) != (w.ExpiresAt == nil) ||
					(g.ExpiresAt != nil && !g.ExpiresAt.Equal(*w.ExpiresAt)) {
					t.Fatalf("%s: times %v %v, wrote %v %v", w.EID, g.UpdatedAt, g.ExpiresAt, w.UpdatedAt, w.ExpiresAt)
				}
				g.UpdatedAt, g.ExpiresAt = w.UpdatedAt, w.ExpiresAt
				if g != w {
					t.Fatalf("read %+v, wrote %+v", g, w)
				}
			}
		}
	})
}

// writeBulk writes rows and evs with the bulk statements, in one
// transaction.
func writeBulk(t *testing.T, db *gorm.DB, rows []Mapping, evs []Event) {
	t.Helper()
	tx := db.Begin()
	if err := UpsertMappings(tx, rows); err != nil {
		t.Fatal(err)
	}
	if err := InsertEvents(tx, evs); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
}

// openWithNetworks opens the database at dsn, closed when the test ends,
// with networks (instance-ids) iids for mapping rows to refer to.
func openWithNetworks(t *testing.T, dsn string, iids ...int) *gorm.DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { _ = sqlDB.Close() })
	for _, iid := range iids {
		if err := db.Exec("INSERT INTO networks (instance_id, name, created_at) VALUES (?, ?, ?)", iid, fmt.Sprint("n", iid), time.Now().UTC()).Error; err != nil {
			t.Fatal(err)
		}
	}
	return db
}
