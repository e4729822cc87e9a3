package controller_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

var quiet = slog.New(slog.DiscardHandler)

// newController opens (or shares) the SQLite file at path.
func newController(t testing.TB, path string) *controller.Controller {
	t.Helper()
	db, err := store.Open(context.Background(), path, quiet)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controller.New(context.Background(), db, quiet)
	if err != nil {
		t.Fatalf("controller.New: %v", err)
	}
	t.Cleanup(func() {
		ctl.Close()
		_ = sqlDB.Close()
	})
	return ctl
}

// wantKind checks that err is a controller error of kind and field.
func wantKind(t *testing.T, what string, err error, kind controller.Kind, field string) {
	t.Helper()
	e, ok := controller.AsError(err)
	if !ok {
		t.Errorf("%s: error %v, want a %s error on %s", what, err, kind, field)
		return
	}
	if e.Kind != kind || e.Field != field || e.Message == "" {
		t.Errorf("%s: %s error on %q (%s), want %s on %q", what, e.Kind, e.Field, e.Message, kind, field)
	}
}

func TestNetworkValidation(t *testing.T) {
	ctl := newController(t, filepath.Join(t.TempDir(), "l2lisp.db"))
	ctx := context.Background()
	for i, c := range []struct {
		iid   int64
		name  string
		field string // "": valid
	}{
		{0, "zero", ""},
		{16777215, "max-iid", ""},
		{4100, "a", ""},
		{4101, "Blue_1.x-y", ""},
		{4102, "9lives", ""},
		{4103, strings.Repeat("n", 63), ""},
		{-1, "neg", "instance_id"},
		{16777216, "over", "instance_id"},
		{1 << 40, "huge", "instance_id"},
		{4200, "", "name"},
		{4200, strings.Repeat("n", 64), "name"},
		{4200, "-lead", "name"},
		{4200, ".lead", "name"},
		{4200, "_lead", "name"},
		{4200, "has space", "name"},
		{4200, "slash/y", "name"},
		{4200, "colon:y", "name"},
		{4200, "trail\n", "name"},
		{4200, "ünï", "name"},
	} {
		n, err := ctl.CreateNetwork(ctx, c.iid, c.name)
		if c.field == "" {
			if err != nil || n.InstanceID != uint32(c.iid) || n.Name != c.name {
				t.Errorf("case %d: CreateNetwork(%d, %q) = %+v, %v", i, c.iid, c.name, n, err)
			}
			continue
		}
		wantKind(t, "CreateNetwork("+c.name+")", err, controller.KindInvalid, c.field)
	}
	if got := len(ctl.Networks()); got != 6 {
		t.Errorf("%d networks, want the 6 valid ones", got)
	}
	_, err := ctl.CreateNetwork(ctx, 4100, "other")
	wantKind(t, "duplicate instance-id", err, controller.KindConflict, "instance_id")
	_, err = ctl.CreateNetwork(ctx, 4300, "a")
	wantKind(t, "duplicate name", err, controller.KindConflict, "name")
}

func int64p(v int64) *int64 { return &v }

func TestParseLocators(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    []controller.LocatorInput
		want  []mapping.Locator
		field string
	}{
		{"none", nil, []mapping.Locator{}, ""},
		{"defaults", []controller.LocatorInput{{Address: "192.0.2.1"}},
			[]mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.1"), Priority: 1, Weight: 100, Up: true}}, ""},
		{"v6 and limits", []controller.LocatorInput{{Address: "2001:db8::1", Priority: int64p(0), Weight: int64p(255)},
			{Address: "192.0.2.2", Priority: int64p(255), Weight: int64p(0)}},
			[]mapping.Locator{{Addr: netip.MustParseAddr("2001:db8::1"), Priority: 0, Weight: 255, Up: true},
				{Addr: netip.MustParseAddr("192.0.2.2"), Priority: 255, Weight: 0, Up: true}}, ""},
		{"v4-mapped is unmapped", []controller.LocatorInput{{Address: "::ffff:192.0.2.1"}},
			[]mapping.Locator{{Addr: netip.MustParseAddr("192.0.2.1"), Priority: 1, Weight: 100, Up: true}}, ""},
		{"empty", []controller.LocatorInput{{Address: ""}}, nil, "rlocs[0].address"},
		{"name", []controller.LocatorInput{{Address: "edge.example"}}, nil, "rlocs[0].address"},
		{"prefix", []controller.LocatorInput{{Address: "192.0.2.1/32"}}, nil, "rlocs[0].address"},
		{"unspecified v4", []controller.LocatorInput{{Address: "0.0.0.0"}}, nil, "rlocs[0].address"},
		{"unspecified v6", []controller.LocatorInput{{Address: "::"}}, nil, "rlocs[0].address"},
		{"multicast v4", []controller.LocatorInput{{Address: "239.1.1.1"}}, nil, "rlocs[0].address"},
		{"multicast v6", []controller.LocatorInput{{Address: "ff02::1"}}, nil, "rlocs[0].address"},
		{"zone", []controller.LocatorInput{{Address: "fe80::1%eth0"}}, nil, "rlocs[0].address"},
		{"second bad", []controller.LocatorInput{{Address: "192.0.2.1"}, {Address: "x"}}, nil, "rlocs[1].address"},
		{"twice", []controller.LocatorInput{{Address: "192.0.2.1"}, {Address: "192.0.2.1"}}, nil, "rlocs[1].address"},
		{"twice mapped", []controller.LocatorInput{{Address: "192.0.2.1"}, {Address: "::ffff:192.0.2.1"}}, nil, "rlocs[1].address"},
		{"priority -1", []controller.LocatorInput{{Address: "192.0.2.1", Priority: int64p(-1)}}, nil, "rlocs[0].priority"},
		{"priority 256", []controller.LocatorInput{{Address: "192.0.2.1", Priority: int64p(256)}}, nil, "rlocs[0].priority"},
		{"weight -1", []controller.LocatorInput{{Address: "192.0.2.1", Weight: int64p(-1)}}, nil, "rlocs[0].weight"},
		{"weight 256", []controller.LocatorInput{{Address: "192.0.2.1"}, {Address: "192.0.2.2", Weight: int64p(256)}}, nil, "rlocs[1].weight"},
	} {
		got, err := controller.ParseLocators(c.in)
		if c.field != "" {
			wantKind(t, c.name, err, controller.KindInvalid, c.field)
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: ParseLocators = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestSiteCoversAndServes(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		out := []netip.Prefix{}
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	dc1 := controller.Site{Name: "dc1", Networks: []uint32{4100, 0},
		EIDPrefixes: pfx("198.51.100.0/24", "2001:db8:100::/48")}
	for _, c := range []struct {
		site controller.Site
		p    string
		want bool
	}{
		{dc1, "198.51.100.7/32", true},
		{dc1, "198.51.100.0/24", true},
		{dc1, "198.51.100.128/25", true},
		{dc1, "198.51.0.0/16", false},
		{dc1, "198.51.101.0/32", false},
		{dc1, "203.0.113.1/32", false},
		{dc1, "2001:db8:100:1::/64", true},
		{dc1, "2001:db8:100::/48", true},
		{dc1, "2001:db8::/32", false},
		{dc1, "2001:db8:200::1/128", false},
		{dc1, "0.0.0.0/0", false},
		{controller.Site{EIDPrefixes: pfx("2001:db8::/32")}, "198.51.100.7/32", false},
		{controller.Site{EIDPrefixes: pfx("0.0.0.0/0")}, "203.0.113.1/32", true},
		{controller.Site{EIDPrefixes: pfx("0.0.0.0/0")}, "2001:db8::1/128", false},
		{controller.Site{EIDPrefixes: pfx("::/0")}, "2001:db8::1/128", true},
		{controller.Site{}, "203.0.113.1/32", true},
		{controller.Site{EIDPrefixes: []netip.Prefix{}}, "2001:db8::1/128", true},
	} {
		if got := c.site.Covers(netip.MustParsePrefix(c.p)); got != c.want {
			t.Errorf("site %v Covers(%s) = %v, want %v", c.site.EIDPrefixes, c.p, got, c.want)
		}
	}
	for _, c := range []struct {
		site controller.Site
		iid  uint32
		want bool
	}{
		{dc1, 4100, true},
		{dc1, 0, true},
		{dc1, 4200, false},
		{controller.Site{}, 0, false},
		{controller.Site{Networks: []uint32{}}, 4100, false},
	} {
		if got := c.site.Serves(c.iid); got != c.want {
			t.Errorf("site %v Serves(%d) = %v, want %v", c.site.Networks, c.iid, got, c.want)
		}
	}
}

// eventually polls cond until it holds; the deadline only guards a hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicasConverge runs two controllers on one database file: what
// one writes, the other's follower applies from the change feed.
// replicaDatabases are the databases the replica tests run on: a SQLite
// file, and a fresh PostgreSQL database when L2LISP_TEST_POSTGRES names a
// server (scripts/test.sh starts one), so tests never share a schema.
func replicaDatabases(t *testing.T) map[string]string {
	return storetest.Databases(t, t.TempDir())
}

func TestReplicasConverge(t *testing.T) {
	for name, dsn := range replicaDatabases(t) {
		t.Run(name, func(t *testing.T) { testReplicasConverge(t, dsn) })
	}
}

func testReplicasConverge(t *testing.T, path string) {
	a := newController(t, path)
	b := newController(t, path)
	ctx := context.Background()
	if _, err := a.CreateNetwork(ctx, 4100, "blue"); err != nil {
		t.Fatal(err)
	}
	key := "key-of-dc1"
	nets := []int64{4100}
	pfx := []string{"198.51.100.0/24"}
	if _, err := a.CreateSite(ctx, controller.SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets, EIDPrefixes: &pfx}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateXTR(ctx, controller.XTRInput{Site: "dc1", Name: "dc1-edge", RLOC: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CreateMapping(ctx, controller.MappingInput{InstanceID: 4100, EID: "198.51.100.0/28", Site: "dc1"}); err != nil {
		t.Fatal(err)
	}
	eid, _ := mapping.ParseEID(4100, "198.51.100.7")
	eventually(t, "replica b sees network 4100", func() bool {
		ns := b.Networks()
		return len(ns) == 1 && ns[0].InstanceID == 4100 && ns[0].Name == "blue"
	})
	eventually(t, "replica b resolves 198.51.100.7", func() bool {
		r, ok := b.Index().Lookup(eid)
		return ok && r.EID.Address() == "198.51.100.0/28" && len(r.Locators) == 1 &&
			r.Locators[0].Addr == netip.MustParseAddr("192.0.2.1")
	})
	// Objects re-read from the database carry what the feed leaves out.
	eventually(t, "replica b has site dc1 with its key", func() bool {
		s, err := b.Site("dc1")
		return err == nil && s.AuthKey == key && s.Serves(4100)
	})
	eventually(t, "replica b has xTR dc1-edge", func() bool {
		x, err := b.XTR("dc1-edge")
		return err == nil && x.RLOC == netip.MustParseAddr("192.0.2.1")
	})

	// And the other way round, including a deletion.
	if _, _, err := b.CreateMapping(ctx, controller.MappingInput{InstanceID: 4100, EID: "02:00:00:00:00:01", Site: "dc1"}); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteMapping(ctx, 4100, "198.51.100.0/28"); err != nil {
		t.Fatal(err)
	}
	mac, _ := mapping.ParseEID(4100, "02:00:00:00:00:01")
	eventually(t, "replica a applies b's changes", func() bool {
		_, stale := a.Index().Lookup(eid)
		_, found := a.Index().Lookup(mac)
		return !stale && found
	})
	eventually(t, "both replicas at the same feed position", func() bool {
		return a.LastEventID() == b.LastEventID() && a.LastEventID() > 0
	})
	if a.Index().Len() != b.Index().Len() {
		t.Errorf("index sizes differ: %d and %d", a.Index().Len(), b.Index().Len())
	}
	// A conflicting write through the second replica is refused.
	_, err := b.CreateNetwork(ctx, 4100, "again")
	wantKind(t, "duplicate network through replica b", err, controller.KindConflict, "instance_id")
}

// TestReplicaSeesNetworkDeletion: deleting a network through one replica
// removes its mappings from the other replica's index too.
func TestReplicaSeesNetworkDeletion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l2lisp.db")
	a := newController(t, path)
	b := newController(t, path)
	ctx := context.Background()
	if _, err := a.CreateNetwork(ctx, 4100, "blue"); err != nil {
		t.Fatal(err)
	}
	key, nets := "key-of-dc1", []int64{4100}
	if _, err := a.CreateSite(ctx, controller.SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets}); err != nil {
		t.Fatal(err)
	}
	in := controller.MappingInput{InstanceID: 4100, EID: "02:00:00:00:00:01", Site: "dc1",
		RLOCs: []controller.LocatorInput{{Address: "192.0.2.1"}}}
	if _, _, err := a.CreateMapping(ctx, in); err != nil {
		t.Fatal(err)
	}
	mac, _ := mapping.ParseEID(4100, "02:00:00:00:00:01")
	eventually(t, "replica b resolves the MAC", func() bool { _, ok := b.Index().Lookup(mac); return ok })
	if err := a.DeleteNetwork(ctx, 4100); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b drops network 4100", func() bool { return len(b.Networks()) == 0 })
	eventually(t, "both replicas at the same feed position", func() bool { return a.LastEventID() == b.LastEventID() })
	for name, ctl := range map[string]*controller.Controller{"a": a, "b": b} {
		if r, ok := ctl.Index().Lookup(mac); ok {
			t.Errorf("replica %s still resolves %s (version %d) after its network was deleted", name, mac, r.Version)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	err := error(&controller.Error{Kind: controller.KindNotFound, Field: "name", Message: "gone"})
	wrapped := errors.Join(errors.New("context"), err)
	if e, ok := controller.AsError(wrapped); !ok || e.Kind != controller.KindNotFound {
		t.Errorf("AsError through a wrapper = %v, %v", e, ok)
	}
	if err.Error() != "name: gone" {
		t.Errorf("Error() = %q", err.Error())
	}
	if _, ok := controller.AsError(errors.New("plain")); ok {
		t.Errorf("AsError of a plain error succeeded")
	}
}

// TestLoadManyMappings restarts a controller on more mappings than one
// load page holds.
func TestLoadManyMappings(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/l2lisp.db"
	db, err := store.Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO networks (instance_id, name, created_at) VALUES (7, 'n7', CURRENT_TIMESTAMP)").Error; err != nil {
		t.Fatal(err)
	}
	const n = 12345
	err = db.Transaction(func(tx *gorm.DB) error {
		for i := 0; i < n; i++ {
			eid := fmt.Sprintf("02:00:00:%02x:%02x:%02x", i>>16, (i>>8)&0xff, i&0xff)
			if err := tx.Exec("INSERT INTO mappings (instance_id, eid, family, locators, ttl, origin, site, version, updated_at) VALUES (7, ?, 'mac', '[]', 1440, 'static', 's', 1, CURRENT_TIMESTAMP)", eid).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controller.New(ctx, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	if got := ctl.Index().Len(); got != n {
		t.Fatalf("index holds %d mappings, want %d", got, n)
	}
}
