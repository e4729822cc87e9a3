package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/migrations"
	"github.com/l2lisp/l2lisp/store"
)

var quiet = slog.New(slog.DiscardHandler)

func open(t *testing.T, file string, version int64) *gorm.DB {
	t.Helper()
	db, err := store.OpenAt(context.Background(), file, version, quiet)
	if err != nil {
		t.Fatalf("OpenAt(%s, %d): %v", file, version, err)
	}
	t.Cleanup(func() { closeDB(t, db) })
	return db
}

func closeDB(t *testing.T, db *gorm.DB) {
	t.Helper()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	_ = sqlDB.Close() // also called again by the cleanup: harmless
}

func schemaVersion(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var v int64
	if err := db.Raw("SELECT MAX(version_id) FROM goose_db_version WHERE is_applied").Scan(&v).Error; err != nil {
		t.Fatal(err)
	}
	return v
}

// newestVersion is the number of the last SQLite migration.
func newestVersion(t *testing.T) int64 {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "sqlite/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	var newest int64
	for _, f := range files {
		n, err := strconv.ParseInt(strings.SplitN(path.Base(f), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", f, err)
		}
		newest = max(newest, n)
	}
	return newest
}

func columns(t *testing.T, db *gorm.DB, table string) map[string]bool {
	t.Helper()
	var cols []struct{ Name string }
	if err := db.Raw("SELECT name FROM pragma_table_info(?)", table).Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, c := range cols {
		out[c.Name] = true
	}
	return out
}

// v1Rows are rows as version 1 of the schema held them.
var v1Rows = []string{
	`INSERT INTO networks (instance_id, name, created_at) VALUES (4100, 'blue', '2025-01-02 03:04:05+00:00')`,
	`INSERT INTO sites (name, auth_key, networks, eid_prefixes, created_at, updated_at)
	 VALUES ('dc1', 'key-of-dc1', '[4100]', '["198.51.100.0/24"]', '2025-01-02 03:04:05+00:00', '2025-01-02 03:04:05+00:00')`,
	`INSERT INTO xtrs (name, site, rloc, ovsdb, bridge, datapath_type, openflow_target, datapath_id, priority, weight, created_at)
	 VALUES ('dc1-edge', 'dc1', '192.0.2.1', 'unix:/run/db.sock', 'br-int', 'netdev', '', 5490722043372189870, 1, 100, '2025-01-02 03:04:05+00:00')`,
	`INSERT INTO ports (xtr, name, instance_id, of_port, created_at) VALUES ('dc1-edge', 'dc1-h1', 4100, 100, '2025-01-02 03:04:05+00:00')`,
	`INSERT INTO mappings (instance_id, eid, family, locators, ttl, origin, site, version, updated_at)
	 VALUES (4100, '02:00:00:00:00:01', 'mac', '[{"address":"192.0.2.1","priority":1,"weight":100,"up":true}]', 1440, 'static', 'dc1', 3, '2025-01-02 03:04:05+00:00')`,
	`INSERT INTO events (time, type, instance_id, eid, site, data) VALUES ('2025-01-02 03:04:05+00:00', 'network.created', 4100, '', '', '{"instance_id":4100}')`,
	`INSERT INTO events (time, type) VALUES ('2025-01-02 03:04:06+00:00', 'xtr.up')`,
}

func TestMigrateFromVersion1(t *testing.T) {
	file := filepath.Join(t.TempDir(), "l2lisp.db")
	db := open(t, file, 1)
	if v := schemaVersion(t, db); v != 1 {
		t.Fatalf("schema version after OpenAt(1) = %d", v)
	}
	if columns(t, db, "mappings")["xtr"] {
		t.Fatalf("version 1 already has mappings.xtr")
	}
	for _, q := range v1Rows {
		if err := db.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	closeDB(t, db)

	db = open(t, file, -1)
	newest := newestVersion(t)
	if v := schemaVersion(t, db); v != newest || v < 2 {
		t.Errorf("schema version after Open = %d, want %d (the newest migration)", v, newest)
	}
	for _, c := range []string{"xtr", "port", "no_proxy", "expires_at", "mac", "frozen"} {
		if !columns(t, db, "mappings")[c] {
			t.Errorf("mappings.%s missing after the migration", c)
		}
	}
	checkMigratedRows(t, db)
	// The feed keeps counting after the migration.
	ev := store.Event{Time: time.Now().UTC(), Type: "xtr.down"}
	if err := db.Create(&ev).Error; err != nil || ev.ID != 3 {
		t.Errorf("new event id %d, %v", ev.ID, err)
	}
	closeDB(t, db)

	// Opening the newest schema again changes nothing.
	db = open(t, file, -1)
	if v := schemaVersion(t, db); v != newest {
		t.Errorf("schema version after a second Open = %d", v)
	}
	var count int64
	db.Model(&store.Mapping{}).Count(&count)
	if count != 1 {
		t.Errorf("%d mappings after reopening", count)
	}
}

// checkMigratedRows finds the v1Rows intact and the new columns at their defaults.
func checkMigratedRows(t *testing.T, db *gorm.DB) {
	t.Helper()
	var n store.Network
	if err := db.First(&n, "instance_id = ?", 4100).Error; err != nil || n.Name != "blue" || n.Encapsulation != "lisp-gpe" ||
		!n.CreatedAt.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("network = %+v, %v", n, err)
	}
	var s store.Site
	if err := db.First(&s, "name = ?", "dc1").Error; err != nil || s.AuthKey != "key-of-dc1" ||
		s.Networks != "[4100]" || s.EIDPrefixes != `["198.51.100.0/24"]` {
		t.Errorf("site = %+v, %v", s, err)
	}
	var x store.XTR
	if err := db.First(&x, "name = ?", "dc1-edge").Error; err != nil || x.RLOC != "192.0.2.1" ||
		x.DatapathID != 5490722043372189870 || x.DatapathType != "netdev" || x.Weight != 100 {
		t.Errorf("xtr = %+v, %v", x, err)
	}
	var p store.Port
	if err := db.First(&p, "xtr = ? AND name = ?", "dc1-edge", "dc1-h1").Error; err != nil || p.OFPort != 100 || p.InstanceID != 4100 {
		t.Errorf("port = %+v, %v", p, err)
	}
	var m store.Mapping
	if err := db.First(&m, "instance_id = ? AND eid = ?", 4100, "02:00:00:00:00:01").Error; err != nil {
		t.Fatalf("mapping: %v", err)
	}
	if m.Version != 3 || m.Origin != "static" || m.Site != "dc1" || m.TTL != 1440 || !strings.Contains(m.Locators, "192.0.2.1") {
		t.Errorf("mapping = %+v", m)
	}
	if m.XTR != "" || m.Port != "" || m.NoProxy || m.ExpiresAt != nil || m.MAC != "" || m.Frozen {
		t.Errorf("new mapping columns are not at their defaults: xtr %q port %q no_proxy %v expires_at %v mac %q frozen %v",
			m.XTR, m.Port, m.NoProxy, m.ExpiresAt, m.MAC, m.Frozen)
	}
	var evs []store.Event
	if err := db.Order("id").Find(&evs).Error; err != nil || len(evs) != 2 {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	if evs[0].ID != 1 || evs[0].Type != "network.created" || evs[0].InstanceID == nil || *evs[0].InstanceID != 4100 ||
		evs[1].ID != 2 || evs[1].InstanceID != nil || evs[1].Data != "{}" {
		t.Errorf("events = %+v", evs)
	}
}

// TestOpenSettings checks that the connection settings of the DSN apply,
// also when the path has characters that mean something in a URI.
func TestOpenSettings(t *testing.T) {
	for i, name := range []string{"l2lisp.db", "with space.db", "a?b.db", "a#b.db", "100%.db", "a&b=c.db"} {
		// The subtest name stays plain: TempDir is named after it, and a
		// '#' there would send a mis-parsed path outside the directory.
		t.Run(fmt.Sprintf("name%d", i), func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, name)
			db := open(t, file, -1)
			var mode string
			var fk int
			db.Raw("PRAGMA journal_mode").Scan(&mode)
			db.Raw("PRAGMA foreign_keys").Scan(&fk)
			if mode != "wal" || fk != 1 {
				t.Errorf("Open(%q): journal_mode %q foreign_keys %d, want wal and 1", name, mode, fk)
			}
			if _, err := os.Stat(file); err != nil {
				ents, _ := os.ReadDir(dir)
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("Open(%q): no database at that path; the directory holds %q", name, names)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	garbage := bytes.Repeat([]byte("this is not a database\n"), 400)
	if err := os.WriteFile(notDB, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, dsn string
		want      []string // substrings of the error
	}{
		{"missing directory", filepath.Join(dir, "missing", "sub", "l2lisp.db"), []string{"does not exist", filepath.Join(dir, "missing", "sub")}},
		{"parent is a file", filepath.Join(notDB, "l2lisp.db"), []string{notDB}},
		{"not a database", notDB, []string{"not a database"}},
		{"a directory", dir, []string{dir}},
		{"empty", "", []string{"empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := store.Open(context.Background(), c.dsn, quiet)
			if err == nil {
				closeDB(t, db)
				t.Fatalf("Open(%q) succeeded", c.dsn)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open(%q): error %q does not mention %q", c.dsn, err, w)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("Open created the missing directory")
	}
	if b, err := os.ReadFile(notDB); err != nil || !bytes.Equal(b, garbage) {
		t.Errorf("Open modified the file that is not a database")
	}
}
