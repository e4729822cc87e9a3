package store

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/store/storetest"
)

// TestBulkGroupsReadBack writes, in one call each, rows and events whose
// shared values (bound once per statement) differ from row to row and
// interleave, next to runs that share them, on SQLite and PostgreSQL;
// every column reads back as written. It also checks how the rows are
// grouped: a batch of one kind of row is one group whatever its sites,
// xTRs and expiries.
func TestBulkGroupsReadBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		db := openWithNetworks(t, dsn, 7, 8)
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		var rows []Mapping
		var evs []Event
		for i := range 40 {
			r := Mapping{InstanceID: uint32(7 + i%2), EID: fmt.Sprintf("10.0.%d.%d/32", i/7, i), Family: "ipv4",
				Locators: fmt.Sprintf(`[{"addr":"192.0.2.%d"}]`, i), TTL: uint32(3 + i%3), Origin: []string{"registered", "static", "learned"}[i%3],
				Site: fmt.Sprintf("dc%d", i%5), XTR: fmt.Sprintf("192.0.2.%d", i%4), Port: []string{"", "p1"}[i%2], NoProxy: i%6 == 0,
				MAC: []string{"", "02:00:00:00:00:01"}[i%2], Frozen: i%7 == 0, Version: uint64(i + 1), UpdatedAt: t0.Add(time.Duration(i%2) * time.Second)}
			if i%4 != 0 {
				exp := t0.Add(time.Duration(i) * time.Minute)
				r.ExpiresAt = &exp
			}
			rows = append(rows, r)
			var iid *uint32
			if i%3 != 0 {
				v := uint32(7 + i%2)
				iid = &v
			}
			evs = append(evs, Event{ID: int64(1000 + i), Time: t0.Add(time.Duration(i%3) * time.Millisecond), Type: []string{"mapping.created", "mapping.updated"}[i%2],
				InstanceID: iid, EID: r.EID, Site: r.Site, XTR: r.XTR, Data: fmt.Sprintf(`{"n":%d}`, i), Actor: fmt.Sprintf("lisp:dc%d", i%5)})
		}
		writeBulk(t, db, rows, evs)
		var got []Mapping
		if err := db.Order("version").Find(&got).Error; err != nil || len(got) != len(rows) {
			t.Fatalf("%d rows, %v", len(got), err)
		}
		for i := range rows {
			w, g := rows[i], got[i]
			if !w.UpdatedAt.Equal(g.UpdatedAt) || (w.ExpiresAt == nil) != (g.ExpiresAt == nil) ||
				(w.ExpiresAt != nil && !w.ExpiresAt.Equal(*g.ExpiresAt)) {
				t.Errorf("row %d: times %v %v, wrote %v %v", i, g.UpdatedAt, g.ExpiresAt, w.UpdatedAt, w.ExpiresAt)
			}
			w.UpdatedAt, g.UpdatedAt, w.ExpiresAt, g.ExpiresAt = time.Time{}, time.Time{}, nil, nil
			if !reflect.DeepEqual(w, g) {
				t.Errorf("row %d: read %+v, wrote %+v", i, g, w)
			}
		}
		var gotEv []Event
		if err := db.Where("id >= 1000").Order("id").Find(&gotEv).Error; err != nil || len(gotEv) != len(evs) {
			t.Fatalf("%d events, %v", len(gotEv), err)
		}
		for i := range evs {
			w, g := evs[i], gotEv[i]
			if !w.Time.Equal(g.Time) || (w.InstanceID == nil) != (g.InstanceID == nil) || (w.InstanceID != nil && *w.InstanceID != *g.InstanceID) {
				t.Errorf("event %d: time %v iid %v, wrote %v %v", i, g.Time, g.InstanceID, w.Time, w.InstanceID)
			}
			w.Time, g.Time, w.InstanceID, g.InstanceID = time.Time{}, time.Time{}, nil, nil
			if !reflect.DeepEqual(w, g) {
				t.Errorf("event %d: read %+v, wrote %+v", i, g, w)
			}
		}
	})
}

// TestBulkGroups: the rows of a batch of Map-Registers (one instance-id
// and kind; many sites, xTRs, times and expiries) make one group; rows
// that differ in a shared value split, in the order each group first
// appears.
func TestBulkGroups(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var rows []Mapping
	for i := range 10 {
		exp := t0.Add(time.Duration(i) * time.Second)
		rows = append(rows, Mapping{InstanceID: 7, EID: fmt.Sprint(i), Family: "ipv4", Origin: "registered", TTL: 3,
			Site: fmt.Sprint("dc", i), XTR: fmt.Sprint(i), UpdatedAt: t0.Add(time.Duration(i)), ExpiresAt: &exp})
	}
	if g := mappingGroups(rows); len(g) != 1 || len(g[0]) != 10 {
		t.Fatalf("a batch of registrations made %d groups", len(g))
	}
	rows[3].TTL, rows[7].TTL = 60, 60
	rows[5].Family = "mac"
	var shape []string
	for _, g := range mappingGroups(rows) {
		var eids []string
		for _, r := range g {
			eids = append(eids, r.EID)
		}
		shape = append(shape, strings.Join(eids, ","))
	}
	if got, want := strings.Join(shape, " "), "0,1,2,4,6,8,9 3,7 5"; got != want {
		t.Errorf("groups %q, want %q", got, want)
	}
	iid := uint32(7)
	evs := []Event{{ID: 1, Time: t0, Type: "a", InstanceID: &iid}, {ID: 2, Time: t0, Type: "a"},
		{ID: 3, Time: t0.Add(time.Millisecond), Type: "a", InstanceID: &iid, Site: "x"}}
	if g := eventGroups(evs); len(g) != 2 || len(g[0]) != 2 || g[0][1].ID != 3 {
		t.Errorf("event groups %v", g)
	}
}

// TestBulkStatementText: shared values are numbered once and each row's
// own follow, for SQLite (?N) and PostgreSQL ($N).
func TestBulkStatementText(t *testing.T) {
	var b strings.Builder
	values(&b, 2, 2, 3, false)
	if got, want := b.String(), "(?1,?2,?3,?4,?5),(?1,?2,?6,?7,?8)"; got != want {
		t.Errorf("sqlite %s, want %s", got, want)
	}
	b.Reset()
	values(&b, 2, 1, 1, true)
	if got, want := b.String(), "($1,$2),($1,$3)"; got != want {
		t.Errorf("postgres %s, want %s", got, want)
	}
}
