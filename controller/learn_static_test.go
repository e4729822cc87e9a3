package controller

import (
	"context"
	"net/netip"
	"testing"

	"github.com/l2lisp/l2lisp/mapping"
)

// TestLearningLeavesStaticAlone: a host announcing (or spoofing) the MAC or
// the address of an operator's static mapping changes neither, and does
// not pull the static host's addresses to its own site.
func TestLearningLeavesStaticAlone(t *testing.T) {
	c := learnEnv(t)
	ctx := context.Background()
	static := func(eid, site string) mapping.Record {
		t.Helper()
		rec, _, err := c.CreateMapping(ctx, MappingInput{InstanceID: 4100, EID: eid, Site: site})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	mac := static(tMAC.String(), "dc1")
	ip := static("198.51.100.20", "dc1")
	other := mapping.MAC{0x02, 0, 0, 0, 0, 0x02}
	steps := []struct {
		name    string
		s       Sighting
		verdict string
		bound   bool
	}{
		{"static MAC seen at another site", sight("x2", "p1", tMAC, "198.51.100.5"), VerdictForeign, false},
		{"static address announced by another MAC", sight("x2", "p1", other, "198.51.100.20"), VerdictLearn, false},
		{"static MAC at its own site binds its address", sight("x1", "p1", tMAC, "198.51.100.6"), VerdictForeign, true},
	}
	for _, st := range steps {
		res, err := c.Learn(ctx, st.s)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Verdict != st.verdict || res.Bound != st.bound {
			t.Fatalf("%s: verdict %s bound %v, want %s %v", st.name, res.Verdict, res.Bound, st.verdict, st.bound)
		}
	}
	for _, want := range []mapping.Record{mac, ip} {
		got, ok := c.Index().Get(want.EID)
		if !ok || got.Origin != mapping.OriginStatic || got.Site != "dc1" || got.Version != want.Version {
			t.Errorf("%s after learning: %+v", want.EID, got)
		}
	}
	if rec, ok := c.Index().Get(hostEID(4100, netip.MustParseAddr("198.51.100.5"))); ok {
		t.Errorf("an address was bound to another site's static MAC: %+v", rec)
	}
	if rec, ok := c.Index().Get(hostEID(4100, netip.MustParseAddr("198.51.100.6"))); !ok || rec.Site != "dc1" {
		t.Errorf("the static host's own address was not learned: %+v", rec)
	}
}

// TestSweepSparesStatic: a learned MAC seen stale by the sweep, then
// deleted and made static by an operator (its version starts over at 1),
// is not withdrawn by the sweep.
func TestSweepSparesStatic(t *testing.T) {
	c := learnEnv(t)
	ctx := context.Background()
	if _, err := c.Learn(ctx, sight("x1", "p1", tMAC, "")); err != nil {
		t.Fatal(err)
	}
	stale, ok := c.Index().Get(mapping.MACEID(4100, tMAC))
	if !ok || stale.Version != 1 {
		t.Fatalf("learned: %+v", stale)
	}
	if err := c.DeleteMapping(ctx, 4100, tMAC.String()); err != nil {
		t.Fatal(err)
	}
	rec, _, err := c.CreateMapping(ctx, MappingInput{InstanceID: 4100, EID: tMAC.String(), Site: "dc1"})
	if err != nil || rec.Version != stale.Version {
		t.Fatalf("static: %+v %v", rec, err)
	}
	if done, err := c.sweepOne(ctx, stale); err != nil || done {
		t.Fatalf("sweep of the stale view: withdrew %v, %v", done, err)
	}
	if got, ok := c.Index().Get(rec.EID); !ok || got.Origin != mapping.OriginStatic {
		t.Fatalf("static mapping after the sweep: %+v %v", got, ok)
	}
}
