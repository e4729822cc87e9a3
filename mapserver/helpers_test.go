package mapserver

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/store"
)

const (
	keyDC1 = "dc1-secret-key"
	keyDC2 = "dc2-secret-key"
	iidA   = 1000
	iidB   = 2000 // a network no site serves
)

func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("LISP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newController opens a real SQLite file with two networks and two sites
// that both serve iidA and overlap in 10.1.0.0/16, told apart by their
// RLOCs:
//
//	dc1: 10.1.0.0/16, MACs 02:00:10:00:00:00/24, RLOCs 192.0.2.0/24
//	dc2: 10.1.0.0/16, 10.2.0.0/16, 2001:db8:2::/48, MACs 02:00:00:00:00:00/20,
//	     RLOCs 198.51.100.0/24
func newController(t testing.TB) *controller.Controller {
	t.Helper()
	ctx := testCtx(t)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "l2lisp.db"), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controller.New(ctx, db, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctl.Close()
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	for _, n := range []struct {
		iid  int64
		name string
	}{{iidA, "blue"}, {iidB, "red"}} {
		if _, err := ctl.CreateNetwork(ctx, n.iid, n.name); err != nil {
			t.Fatal(err)
		}
	}
	mkSite(t, ctl, "dc1", keyDC1, "10.1.0.0/16")
	mkSite(t, ctl, "dc2", keyDC2, "10.1.0.0/16", "10.2.0.0/16", "2001:db8:2::/48")
	setScope(t, ctl, "dc1", []string{"02:00:10:00:00:00/24"}, false, []string{"192.0.2.0/24"})
	setScope(t, ctl, "dc2", []string{"02:00:00:00:00:00/20"}, false, []string{"198.51.100.0/24"})
	return ctl
}

// setScope sets a site's MAC scope and RLOC prefixes.
func setScope(t testing.TB, ctl *controller.Controller, name string, macs []string, anyMAC bool, rlocs []string) {
	t.Helper()
	if _, err := ctl.UpdateSite(testCtx(t), controller.SiteInput{Name: name, MACPrefixes: &macs, AnyMAC: &anyMAC,
		RLOCPrefixes: &rlocs}); err != nil {
		t.Fatal(err)
	}
}

func mkSite(t testing.TB, ctl *controller.Controller, name, key string, prefixes ...string) {
	t.Helper()
	nets := []int64{iidA}
	if _, err := ctl.CreateSite(testCtx(t), controller.SiteInput{Name: name, AuthKey: &key,
		Networks: &nets, EIDPrefixes: &prefixes}); err != nil {
		t.Fatal(err)
	}
}

// startServer runs a server on an ephemeral loopback port.
func startServer(t testing.TB, ctl *controller.Controller, cfg Config) *Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.ReplyRate == 0 {
		cfg.ReplyRate = -1
	}
	cfg.Log = testLog(t)
	s, err := Listen(testCtx(t), ctl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// listenUDPTest opens a UDP socket on a loopback address.
func listenUDPTest(t testing.TB, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
