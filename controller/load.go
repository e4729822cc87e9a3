package controller

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// Loading the mapping table at start (and on a rebuild) is what a cold
// start waits for: a million rows take seconds. Two readers each take half
// of the key range, a page at a time in key order (a primary-key seek, so
// a large table is never held in memory twice), and decode their rows;
// one goroutine hands the records to put in order of arrival.

// loadPage is how many rows one query reads.
const loadPage = 5000

// mappingColumns are the columns a record is made of.
const mappingColumns = "instance_id, eid, locators, ttl, origin, site, xtr, port, no_proxy, mac, frozen, version, updated_at"

// loadMappings reads every mapping and hands each to put (from one
// goroutine at a time).
func (c *Controller) loadMappings(ctx context.Context, put func(mapping.Record)) error {
	sqlDB, err := c.db.DB()
	if err != nil {
		return fmt.Errorf("load mappings: %w", err)
	}
	split, ok, err := c.middleKey(ctx)
	if err != nil {
		return err
	}
	restore := store.MoreReaders(sqlDB, 2)
	defer restore()
	batches := make(chan []mapping.Record, 8)
	g, gctx := errgroup.WithContext(ctx)
	ranges := [][2]*store.MappingKey{{nil, nil}}
	if ok {
		ranges = [][2]*store.MappingKey{{nil, &split}, {&split, nil}}
	}
	for _, rg := range ranges {
		g.Go(func() error { return readRange(gctx, sqlDB, rg[0], rg[1], batches) })
	}
	done := make(chan error, 1)
	go func() { done <- g.Wait(); close(batches) }()
	for b := range batches {
		for _, r := range b {
			put(r)
		}
	}
	return <-done
}

// middleKey is the key of the row in the middle of the table, where the
// second reader starts; false when the table is too small to split.
func (c *Controller) middleKey(ctx context.Context) (store.MappingKey, bool, error) {
	var n int64
	db := c.db.WithContext(ctx)
	if err := db.Model(&store.Mapping{}).Count(&n).Error; err != nil {
		return store.MappingKey{}, false, fmt.Errorf("count mappings: %w", err)
	}
	if n < 4*loadPage {
		return store.MappingKey{}, false, nil
	}
	var rows []store.Mapping
	if err := db.Select("instance_id, eid").Order("instance_id, eid").Offset(int(n / 2)).Limit(1).Find(&rows).Error; err != nil {
		return store.MappingKey{}, false, fmt.Errorf("middle mapping: %w", err)
	}
	if len(rows) == 0 {
		return store.MappingKey{}, false, nil
	}
	return store.MappingKey{InstanceID: rows[0].InstanceID, EID: rows[0].EID}, true, nil
}

// readRange reads the mappings with from <= key < to (nil: unbounded) and
// sends them, decoded, a page at a time.
func readRange(ctx context.Context, db *sql.DB, from, to *store.MappingKey, out chan<- []mapping.Record) error {
	pg := store.IsPostgresDB(db)
	locs := map[string][]mapping.Locator{} // locator sets repeat: decode each once
	last, first := from, true
	for {
		q, args := rangeQuery(pg, last, first, to)
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("load mappings: %w", err)
		}
		batch, err := scanMappings(rows, locs)
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			select {
			case out <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			e := batch[len(batch)-1].EID
			last, first = &store.MappingKey{InstanceID: e.IID, EID: e.Address()}, false
		}
		if len(batch) < loadPage {
			return nil
		}
	}
}

// rangeQuery is the query of the next page: rows from the start (or after
// last) up to to. Row values make both databases seek the primary key.
func rangeQuery(pg bool, last *store.MappingKey, first bool, to *store.MappingKey) (string, []any) {
	q := "SELECT " + mappingColumns + " FROM mappings"
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		if pg {
			return fmt.Sprintf("$%d", len(args))
		}
		return "?"
	}
	if last != nil {
		op := ">"
		if first {
			op = ">=" // the first page of the second half starts at the split row
		}
		conds = append(conds, fmt.Sprintf("(instance_id, eid) %s (%s, %s)", op, arg(last.InstanceID), arg(last.EID)))
	}
	if to != nil {
		conds = append(conds, fmt.Sprintf("(instance_id, eid) < (%s, %s)", arg(to.InstanceID), arg(to.EID)))
	}
	for i, c := range conds {
		if i == 0 {
			q += " WHERE " + c
		} else {
			q += " AND " + c
		}
	}
	return q + fmt.Sprintf(" ORDER BY instance_id, eid LIMIT %d", loadPage), args
}

// scanMappings decodes one page of rows into records.
func scanMappings(rows *sql.Rows, locs map[string][]mapping.Locator) ([]mapping.Record, error) {
	defer rows.Close()
	out := make([]mapping.Record, 0, loadPage)
	var r store.Mapping
	for rows.Next() {
		var updated time.Time
		if err := rows.Scan(&r.InstanceID, &r.EID, &r.Locators, &r.TTL, &r.Origin, &r.Site, &r.XTR, &r.Port,
			&r.NoProxy, &r.MAC, &r.Frozen, &r.Version, &updated); err != nil {
			return nil, fmt.Errorf("load mappings: %w", err)
		}
		r.UpdatedAt = updated
		rec, err := recordFromRowCached(r, locs)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load mappings: %w", err)
	}
	return out, nil
}

// recordFromRowCached is recordFromRow decoding each locator set once.
// The records share the decoded slice: records are read-only.
func recordFromRowCached(r store.Mapping, locs map[string][]mapping.Locator) (mapping.Record, error) {
	set, ok := locs[r.Locators]
	if !ok {
		if err := json.Unmarshal([]byte(r.Locators), &set); err != nil {
			return mapping.Record{}, fmt.Errorf("stored mapping %d %s locators: %w", r.InstanceID, r.EID, err)
		}
		if len(locs) < 1<<16 {
			locs[r.Locators] = set
		}
	}
	r.Locators = "[]"
	rec, err := recordFromRow(r)
	rec.Locators = set
	return rec, err
}
