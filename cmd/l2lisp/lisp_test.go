package main

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// freeUDPPort finds a loopback port nothing listens on (racy, but only
// this test picks it).
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	_ = c.Close()
	return addr
}

// TestLISPCommands runs the serve-side startLISP and the lig, register and
// bench commands against it.
func TestLISPCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "l2lisp.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controller.New(ctx, db, log)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	if _, err := ctl.CreateNetwork(ctx, 100, "blue"); err != nil {
		t.Fatal(err)
	}
	key, nets, pfx := "cmd-test-key", []int64{100}, []string{"10.0.0.0/8"}
	if _, err := ctl.CreateSite(ctx, controller.SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets, EIDPrefixes: &pfx}); err != nil {
		t.Fatal(err)
	}
	addr := freeUDPPort(t)
	stop, err := startLISP(ctx, ctl, serveConfig{lispListen: addr, registrationTTL: time.Minute, lispReplyRate: -1}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	cases := []struct {
		name string
		cmd  command
		args []string
		ok   bool
	}{
		{"register sha1", cmdRegister, []string{"--ms", addr, "--key", key, "--alg", "sha1", "--iid", "100",
			"--eid", "10.0.0.0/30", "--rloc", "192.0.2.1", "--rloc", "192.0.2.2", "--notify"}, true},
		{"register sha256", cmdRegister, []string{"--ms", addr, "--key", key, "--iid", "100",
			"--eid", "10.0.0.4/30", "--rloc", "192.0.2.3", "--notify"}, true},
		{"register wrong key", cmdRegister, []string{"--ms", addr, "--key", "wrong-key", "--iid", "100",
			"--eid", "10.0.0.8/30", "--rloc", "192.0.2.3", "--notify", "--timeout", "200ms", "--retries", "-1"}, false},
		{"register without rloc", cmdRegister, []string{"--ms", addr, "--key", key, "--eid", "10.0.0.8/30"}, false},
		{"lig positive", cmdLig, []string{"--mr", addr, "--iid", "100", "10.0.0.1"}, true},
		{"lig negative ecm", cmdLig, []string{"--mr", addr, "--iid", "100", "--ecm", "10.9.9.9"}, true},
		{"lig no eid", cmdLig, []string{"--mr", addr}, false},
		{"bench map-request", cmdBench, []string{"map-request", "--target", addr, "--iid", "100", "--eids", "4",
			"--duration", "300ms", "--concurrency", "2"}, true},
		{"bench map-register", cmdBench, []string{"map-register", "--target", addr, "--key", key, "--iid", "100",
			"--eids", "4", "--duration", "300ms", "--concurrency", "2"}, true},
		{"bench unknown", cmdBench, []string{"map-nothing"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cmd(ctx, c.args)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
		})
	}
	if _, ok := ctl.Index().Get(mapping.PrefixEID(100, mustPrefix(t, "10.0.0.4/30"))); !ok {
		t.Fatal("registered EID missing")
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
