package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// TestBulkFailureRetriesUnitByUnit: when the database refuses the bulk
// insert of one unit's row (a trigger here, standing for any database
// error the rules cannot foresee), the writer runs the batch again with
// each unit under its own savepoint. Only that unit fails; the other
// units and an ordinary op of the same batch are committed, with their
// events, on SQLite and on PostgreSQL.
func TestBulkFailureRetriesUnitByUnit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openDB(t, dsn)
		c, err := New(ctx, db, quietLog)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		addSites(t, c, "dc1")
		refuseEID(t, db, "10.0.0.66/32")

		network := writeOp{ctx: ctx, done: make(chan writeResult, 1), fn: func(tx *gorm.DB) ([]store.Event, error) {
			n := store.Network{InstanceID: 8, Name: "eight", Encapsulation: "lisp-gpe", ForwardingMode: "push", CreatedAt: time.Now().UTC()}
			if err := tx.Create(&n).Error; err != nil {
				return nil, err
			}
			ev := newEvent(EvNetworkCreated, map[string]any{"instance_id": 8})
			ev.InstanceID = iidPtr(8)
			return []store.Event{ev}, nil
		}}
		regs := regOp("dc1", "10.0.0.65/32", "10.0.0.66/32", "10.0.0.67/32")
		units := regs.units
		before := c.LastEventID()
		c.commit([]writeOp{network, regs}, nil)

		if res := <-network.done; res.err != nil {
			t.Errorf("the ordinary op failed with the bulk write: %v", res.err)
		}
		if res := <-regs.done; res.err != nil {
			t.Fatalf("the batch failed: %v", res.err)
		}
		for i, u := range units {
			refused := i == 1
			if refused != (u.err != nil) {
				t.Errorf("unit %d: err %v, want refused %v", i, u.err, refused)
			}
			if refused && (u.err == nil || !strings.Contains(u.err.Error(), "refused by test")) {
				t.Errorf("unit %d: err %v does not name the database's refusal", i, u.err)
			}
		}
		var eids []string
		if err := db.Model(&store.Mapping{}).Where("instance_id = 7").Order("eid").Pluck("eid", &eids).Error; err != nil {
			t.Fatal(err)
		}
		if strings.Join(eids, " ") != "10.0.0.65/32 10.0.0.67/32" {
			t.Errorf("stored %v, want 10.0.0.65/32 and 10.0.0.67/32", eids)
		}
		var types []string
		if err := db.Model(&store.Event{}).Where("id > ?", before).Order("id").Pluck("type", &types).Error; err != nil {
			t.Fatal(err)
		}
		want := EvNetworkCreated + " " + EvMappingCreated + " " + EvMappingCreated
		if strings.Join(types, " ") != want {
			t.Errorf("events %v, want %s", types, want)
		}
	})
}

// refuseEID makes the database refuse any insert of a mapping row for eid.
func refuseEID(t *testing.T, db *gorm.DB, eid string) {
	t.Helper()
	stmts := []string{"CREATE TRIGGER refuse_eid BEFORE INSERT ON mappings WHEN NEW.eid = '" + eid +
		"' BEGIN SELECT RAISE(ABORT, 'refused by test'); END"}
	if store.IsPostgres(db) {
		stmts = []string{
			"CREATE FUNCTION refuse_eid() RETURNS trigger AS $$ BEGIN IF NEW.eid = '" + eid +
				"' THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
			"CREATE TRIGGER refuse_eid BEFORE INSERT ON mappings FOR EACH ROW EXECUTE FUNCTION refuse_eid()",
		}
	}
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			t.Fatal(err)
		}
	}
}
