package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

func TestDecide(t *testing.T) {
	learned := func(site, xtr, port string, frozen bool) *mapping.Record {
		return &mapping.Record{Origin: mapping.OriginLearned, Site: site, XTR: xtr, Port: port, Frozen: frozen}
	}
	tests := []struct {
		name string
		old  *mapping.Record
		mate bool // the record's xTR is a live mate of x1
		want string
	}{
		{"new MAC", nil, false, VerdictLearn},
		{"static record", &mapping.Record{Origin: mapping.OriginStatic, Site: "dc2"}, false, VerdictForeign},
		{"registered record", &mapping.Record{Origin: mapping.OriginRegistered, Site: "dc1"}, false, VerdictForeign},
		{"same place", learned("dc1", "x1", "p1", false), false, VerdictNone},
		{"same place, frozen", learned("dc1", "x1", "p1", true), false, VerdictNone},
		{"other port", learned("dc1", "x1", "p2", false), false, VerdictPort},
		{"other xTR of the site", learned("dc1", "x9", "p1", false), false, VerdictPort},
		{"other site", learned("dc2", "x2", "p1", false), false, VerdictMove},
		{"other site, frozen", learned("dc2", "x2", "p1", true), false, VerdictFrozen},
		{"other port, frozen", learned("dc1", "x1", "p2", true), false, VerdictFrozen},
		{"live mate of a multihomed site", learned("dc1", "x9", "p9", false), true, VerdictNone},
		{"live mate, frozen", learned("dc1", "x9", "p9", true), true, VerdictNone},
		{"mate flag of another site ignored", learned("dc2", "x2", "p1", false), true, VerdictMove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decide(tc.old, "dc1", "x1", "p1", tc.mate); got != tc.want {
				t.Errorf("decide = %s, want %s", got, tc.want)
			}
		})
	}
}

var tMAC = mapping.MAC{0x02, 0, 0, 0, 0, 0x01}

// learnEnv is a controller on a fresh SQLite database with one network,
// three sites with an xTR each, and two access ports per xTR.
func learnEnv(t testing.TB) *Controller {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, t.TempDir()+"/l2lisp.db", log)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(ctx, db, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if s, err := db.DB(); err == nil {
			_ = s.Close()
		}
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateNetwork(ctx, 4100, "blue")
	must(err)
	key, nets := "0123456789abcdef", []int64{4100}
	for i := 1; i <= 3; i++ {
		_, err = c.CreateSite(ctx, SiteInput{Name: fmt.Sprintf("dc%d", i), AuthKey: &key, Networks: &nets})
		must(err)
		_, err = c.CreateXTR(ctx, XTRInput{Site: fmt.Sprintf("dc%d", i), Name: fmt.Sprintf("x%d", i),
			RLOC: fmt.Sprintf("192.0.2.%d", i)})
		must(err)
		for p := 1; p <= 2; p++ {
			_, err = c.BindPort(ctx, fmt.Sprintf("x%d", i), fmt.Sprintf("p%d", p), 4100)
			must(err)
		}
	}
	lc := DefaultLearnConfig()
	lc.MaxPerPort = 3
	c.SetLearnConfig(lc)
	return c
}

func sight(xtr, port string, mac mapping.MAC, ip string) Sighting {
	s := Sighting{XTR: xtr, Port: port, IID: 4100, MAC: mac, At: time.Now()}
	if ip != "" {
		s.IP, s.BindMAC = netip.MustParseAddr(ip), mac
	}
	return s
}

func TestLearnAndMove(t *testing.T) {
	c := learnEnv(t)
	ctx := context.Background()
	steps := []struct {
		s       Sighting
		verdict string
		bound   bool
		site    string
	}{
		{sight("x1", "p1", tMAC, "198.51.100.1"), VerdictLearn, true, "dc1"},
		{sight("x1", "p1", tMAC, "198.51.100.1"), VerdictNone, false, "dc1"},
		{sight("x1", "p2", tMAC, ""), VerdictPort, false, "dc1"},
		{sight("x2", "p1", tMAC, "198.51.100.1"), VerdictMove, false, "dc2"},
		{sight("x2", "p1", tMAC, "198.51.100.7"), VerdictNone, true, "dc2"},
	}
	for i, st := range steps {
		res, err := c.Learn(ctx, st.s)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if res.Verdict != st.verdict || res.Bound != st.bound || res.Record.Site != st.site {
			t.Fatalf("step %d: verdict %s bound %v site %s, want %s %v %s", i, res.Verdict, res.Bound,
				res.Record.Site, st.verdict, st.bound, st.site)
		}
	}
	ip, ok := c.Index().Get(hostEID(4100, netip.MustParseAddr("198.51.100.1")))
	if !ok || ip.Site != "dc2" || ip.MAC != tMAC || ip.XTR != "x2" {
		t.Fatalf("binding did not follow the MAC: %+v", ip)
	}
	evs, err := c.History(ctx, 4100, tMAC.String(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	if got := strings.Join(types, " "); got != "mapping.created mapping.updated mapping.moved" {
		t.Fatalf("history %s", got)
	}
	for _, ev := range evs {
		if ev.Actor != ActorLearning {
			t.Errorf("%s by %q, want %q", ev.Type, ev.Actor, ActorLearning)
		}
	}
	var moved map[string]any
	_ = json.Unmarshal(evs[2].Data, &moved)
	if moved["from_site"] != "dc1" || moved["site"] != "dc2" || moved["detected_at"] == nil {
		t.Errorf("moved event data %s", evs[2].Data)
	}
}

func TestDuplicateDetection(t *testing.T) {
	c := learnEnv(t)
	ctx := context.Background()
	learn := func(xtr string) LearnResult {
		t.Helper()
		res, err := c.Learn(ctx, sight(xtr, "p1", tMAC, ""))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	learn("x1")
	for i, x := range []string{"x2", "x1", "x2", "x1"} {
		if res := learn(x); res.Verdict != VerdictMove || res.Duplicate {
			t.Fatalf("move %d: %+v", i+1, res)
		}
	}
	res := learn("x3") // fifth move within the window
	if res.Verdict != VerdictMove || !res.Duplicate || !res.Record.Frozen {
		t.Fatalf("fifth move: %+v", res)
	}
	if res := learn("x1"); res.Verdict != VerdictFrozen || res.Record.Site != "dc3" {
		t.Fatalf("move of a frozen MAC: %+v", res)
	}
	rec, err := c.ClearDuplicate(ctx, 4100, tMAC.String())
	if err != nil || rec.Frozen {
		t.Fatalf("clear: %+v %v", rec, err)
	}
	if res := learn("x1"); res.Verdict != VerdictMove || res.Duplicate {
		t.Fatalf("move after clear: %+v", res)
	}
	// The frozen flag survives a restart: it is in the database.
	rows, _, err := c.ListMappings(ctx, MappingFilter{Limit: 10})
	if err != nil || len(rows) != 1 || rows[0].Frozen {
		t.Fatalf("stored %+v %v", rows, err)
	}
	if _, err := c.ClearDuplicate(ctx, 4100, "198.51.100.1"); err == nil {
		t.Error("clearing an IP EID succeeded")
	}
}

func TestLearnLimitAgeSweep(t *testing.T) {
	c := learnEnv(t)
	ctx := context.Background()
	for i := range 5 {
		m := mapping.MAC{0x02, 0, 0, 0, 1, byte(i)}
		res, err := c.Learn(ctx, sight("x1", "p1", m, ""))
		want := VerdictLearn
		if i >= 3 {
			want = VerdictLimit
		}
		if err != nil || res.Verdict != want {
			t.Fatalf("MAC %d: %+v %v, want %s", i, res, err, want)
		}
	}
	if _, err := c.Learn(ctx, sight("x1", "p2", tMAC, "198.51.100.9")); err != nil {
		t.Fatal(err)
	}
	if aged, err := c.Age(ctx, "x1", "p1", 4100, tMAC, time.Second); err != nil || aged {
		t.Fatalf("aged a MAC from the wrong port: %v %v", aged, err)
	}
	if aged, err := c.Age(ctx, "x1", "p2", 4100, tMAC, 300*time.Second); err != nil || !aged {
		t.Fatalf("did not age: %v %v", aged, err)
	}
	if _, ok := c.Index().Get(hostEID(4100, netip.MustParseAddr("198.51.100.9"))); ok {
		t.Error("binding survived its MAC")
	}
	if err := c.UnbindPort(ctx, "x1", "p1"); err != nil {
		t.Fatal(err)
	}
	n, err := c.SweepLearned(ctx, 0)
	if err != nil || n != 3 {
		t.Fatalf("sweep withdrew %d, %v; want 3", n, err)
	}
}
