package controller

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/store"
)

// TestStatusQueriesUseIndex checks that the lookups of an xTR's last
// status event are answered from the partial index: they must repeat its
// WHERE clause verbatim, and the constants must still match the types.
func TestStatusQueriesUseIndex(t *testing.T) {
	for _, typ := range []string{EvXTRUp, EvXTRDown, EvBFDStatus} {
		if !strings.Contains(statusEvents, "'"+typ+"'") {
			t.Errorf("statusEvents %q lacks %s", statusEvents, typ)
		}
	}
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "l2lisp.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"EXPLAIN QUERY PLAN SELECT type FROM events WHERE xtr = 'x' AND " + statusEvents + " AND type IN ('xtr.up','xtr.down') ORDER BY id desc LIMIT 1",
		"EXPLAIN QUERY PLAN SELECT data FROM events WHERE xtr = 'x' AND " + statusEvents + " AND type = 'bfd.status' ORDER BY id desc LIMIT 1",
	} {
		var rows []struct{ Detail string }
		if err := db.Raw(q).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		var plan []string
		for _, r := range rows {
			plan = append(plan, r.Detail)
		}
		if p := strings.Join(plan, "; "); !strings.Contains(p, "events_xtr_status") {
			t.Errorf("%s: plan %q does not use events_xtr_status", q, p)
		}
	}
}
