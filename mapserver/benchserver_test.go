package mapserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// Bench fixture: dc-bench holds 10.0.0.0/8 in instance-id 1000; the EIDs
// 10.0.0.0 + i (i < L2LISP_BENCH_EIDS) are stored as registered by
// 127.0.0.1 with RLOC 192.0.2.1 p1 w100, exactly what "l2lisp bench
// map-register --rloc 192.0.2.1" sends, so that those registers are
// refreshes.
const (
	benchKey  = "bench-secret-key"
	benchLocs = `[{"address":"192.0.2.1","priority":1,"weight":100,"up":true}]`
)

// TestBenchServer runs a server for the bench command against a real
// SQLite controller with many EIDs (L2LISP_BENCH_EIDS, default 1000000),
// for L2LISP_BENCH_SECONDS (default 120) or until interrupted. It is a
// harness, not a test: it only runs when L2LISP_BENCH_SERVER is set, e.g.
//
//	L2LISP_BENCH_SERVER=127.0.0.1:4342 go test -run TestBenchServer -timeout 0 -v ./mapserver/
func TestBenchServer(t *testing.T) {
	addr := os.Getenv("L2LISP_BENCH_SERVER")
	if addr == "" {
		t.Skip("set L2LISP_BENCH_SERVER=host:port to run the benchmark server")
	}
	n := envInt("L2LISP_BENCH_EIDS", 1000000)
	secs := envInt("L2LISP_BENCH_SECONDS", 120)
	ctx := context.Background()
	dir := t.TempDir()
	if d := os.Getenv("L2LISP_BENCH_DIR"); d != "" {
		dir = d
	}
	path := filepath.Join(dir, "bench.db")
	db, err := store.Open(ctx, path, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controller.New(ctx, db, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	start := time.Now()
	if err := loadBench(ctx, ctl, db, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("stored %d EIDs (raw SQL rows + index) in %s; index holds %d", n, time.Since(start).Round(time.Millisecond), ctl.Index().Len())
	rate, _ := strconv.ParseFloat(os.Getenv("L2LISP_BENCH_REPLY_RATE"), 64)
	if rate == 0 {
		rate = 1e9 // exercised, but not limiting: all load comes from one address
	}
	s, err := Listen(ctx, ctl, Config{Listen: addr, ReplyRate: rate, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fmt.Printf("BENCH SERVER READY %s key=%s iid=%d eids=%d\n", s.Addr(), benchKey, iidA, n)
	sig, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	select {
	case <-sig.Done():
	case <-time.After(time.Duration(secs) * time.Second):
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// loadBench creates the network and site through the controller, then
// writes the EIDs twice, as a restart would find them: rows inserted with
// raw SQL in large transactions, and records put straight into the index.
// (A restart cannot load them today: controller.loadMappings uses gorm's
// FindInBatches, which fails after the first 5000 rows on the composite
// primary key of mappings.)
func loadBench(ctx context.Context, ctl *controller.Controller, db *gorm.DB, n int) error {
	if _, err := ctl.CreateNetwork(ctx, iidA, "bench"); err != nil {
		return err
	}
	key, nets, pfx := benchKey, []int64{iidA}, []string{"10.0.0.0/8"}
	if _, err := ctl.CreateSite(ctx, controller.SiteInput{Name: "dc-bench", AuthKey: &key, Networks: &nets, EIDPrefixes: &pfx}); err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	exp := now.Add(24 * time.Hour)
	locs := []mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.1"), Priority: 1, Weight: 100, Up: true}}
	const chunk = 50000
	for lo := 0; lo < n; lo += chunk {
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO mappings (instance_id, eid, family, locators, ttl, origin, site,
			version, updated_at, xtr, expires_at) VALUES (?, ?, 'ipv4', ?, 1440, 'registered', 'dc-bench', 1, ?, '127.0.0.1', ?)`)
		if err != nil {
			return err
		}
		for i := lo; i < min(n, lo+chunk); i++ {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], 10<<24+uint32(i))
			p := netip.PrefixFrom(netip.AddrFrom4(a), 32)
			if _, err := st.ExecContext(ctx, iidA, p.String(), benchLocs, now, exp); err != nil {
				return err
			}
			ctl.Index().Put(mapping.Record{EID: mapping.PrefixEID(iidA, p), Locators: locs, TTL: 1440,
				Origin: mapping.OriginRegistered, Site: "dc-bench", XTR: "127.0.0.1", Version: 1, UpdatedAt: now})
		}
		_ = st.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
