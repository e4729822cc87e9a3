package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Multi-row statements for the write paths that take many rows at once
// (new EIDs from Map-Registers, the REST API and imports). They bypass
// gorm's reflection: at tens of thousands of rows a second its per-row
// statement building costs more than the database. Chunks stay under
// both databases' limits on bound parameters (SQLite 32766, PostgreSQL
// 65535).

// The multi-row statements bind the values that a group of rows shares
// once for the whole statement, and only the others for each row (SQLite's
// driver pays a C call, and for text a copy, for each value bound). The
// rows of a batch of Map-Registers share their instance-id and kind of
// record. Values that differ between the sites of one batch, between
// registrations or between the ordinary changes of one commit (times) are
// bound per row, so that any batch makes few groups. The columns come in
// two lists: those given once, then those given per row.
const (
	mappingShared = "instance_id,family,ttl,origin,port,no_proxy,mac,frozen"
	mappingPerRow = "eid,locators,site,xtr,version,updated_at,expires_at"
	eventShared   = "type,instance_id"
	eventPerRow   = "id,time,eid,site,xtr,data,actor"
)

// How many values each list binds.
var (
	mappingSharedN, mappingRowN = columns(mappingShared), columns(mappingPerRow)
	eventSharedN, eventRowN     = columns(eventShared), columns(eventPerRow)
)

// columns counts the columns of a comma-separated list.
func columns(list string) int { return strings.Count(list, ",") + 1 }

// mappingCols are the columns of the mappings table in the order
// FindMappings reads them.
const mappingCols = "instance_id,eid,family,locators,ttl,origin,site,xtr,port,no_proxy,mac,frozen,version,updated_at,expires_at"

// mappingUpdate sets every column but the key from the new row.
const mappingUpdate = "family=excluded.family,locators=excluded.locators,ttl=excluded.ttl,origin=excluded.origin," +
	"site=excluded.site,xtr=excluded.xtr,port=excluded.port,no_proxy=excluded.no_proxy,mac=excluded.mac," +
	"frozen=excluded.frozen,version=excluded.version,updated_at=excluded.updated_at,expires_at=excluded.expires_at"

// Rows per statement: at most 8 + 7 x 1000 and 2 + 7 x 2000 parameters.
const (
	mappingChunk = 1000
	eventChunk   = 2000
	keyChunk     = 512 // a power of two: chunks are padded up to one (FindMappings)
)

// stmtKey names one statement text: which statement, how many rows, and
// the placeholder style (PostgreSQL numbers them).
type stmtKey struct {
	kind, n int
	pg      bool
}

// stmts keeps the text of each multi-row statement built, so a steady
// stream of same-sized chunks builds it once.
var stmts struct {
	mu sync.Mutex
	m  map[stmtKey]string
}

const (
	stmtUpsert = iota
	stmtEvents
	stmtFind // the rows of n EIDs of one instance-id
)

func statement(k stmtKey) string {
	stmts.mu.Lock()
	defer stmts.mu.Unlock()
	if s, ok := stmts.m[k]; ok {
		return s
	}
	if stmts.m == nil {
		stmts.m = map[stmtKey]string{}
	}
	var b strings.Builder
	// OR FAIL: on a constraint error the statement stops without undoing
	// its earlier rows, so SQLite keeps no statement journal for it (with
	// ABORT, the default, it copies every page the statement changes). The
	// writer then rolls the whole transaction back (controller/bulk.go).
	insert := "INSERT INTO "
	if !k.pg {
		insert = "INSERT OR FAIL INTO "
	}
	switch k.kind {
	case stmtUpsert:
		b.WriteString(insert + "mappings (" + mappingShared + "," + mappingPerRow + ") VALUES ")
		values(&b, k.n, mappingSharedN, mappingRowN, k.pg)
		b.WriteString(" ON CONFLICT (instance_id, eid) DO UPDATE SET " + mappingUpdate)
	case stmtEvents:
		b.WriteString(insert + "events (" + eventShared + "," + eventPerRow + ") VALUES ")
		values(&b, k.n, eventSharedN, eventRowN, k.pg)
	case stmtFind:
		b.WriteString("SELECT " + mappingCols + " FROM mappings WHERE instance_id = ")
		param(&b, 1, k.pg)
		b.WriteString(" AND eid IN (")
		for i := range k.n {
			if i > 0 {
				b.WriteByte(',')
			}
			param(&b, i+2, k.pg)
		}
		b.WriteByte(')')
	}
	s := b.String()
	stmts.m[k] = s
	return s
}

// param writes placeholder number p: ?p for SQLite, $p for PostgreSQL.
func param(b *strings.Builder, p int, pg bool) {
	if pg {
		b.WriteByte('$')
	} else {
		b.WriteByte('?')
	}
	b.WriteString(strconv.Itoa(p))
}

// values writes n rows of placeholders: each row the shared ones (1 to
// shared), then its own per values.
func values(b *strings.Builder, n, shared, per int, pg bool) {
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range shared + per {
			if j > 0 {
				b.WriteByte(',')
			}
			p := j + 1
			if j >= shared {
				p = shared + i*per + (j - shared) + 1
			}
			param(b, p, pg)
		}
		b.WriteByte(')')
	}
}

// execRaw runs a statement on the transaction's connection directly,
// without gorm's per-argument statement building; on SQLite with the
// statement prepared once (prepareBulk) when one of that size is.
func execRaw(tx *gorm.DB, k stmtKey, args []any) error {
	k.pg = IsPostgres(tx)
	ctx := tx.Statement.Context
	if st := preparedOn(tx, k); st != nil {
		_, err := st.ExecContext(ctx, args...)
		return err
	}
	_, err := tx.Statement.ConnPool.ExecContext(ctx, statement(k), args...)
	return err
}

// queryRaw is execRaw for a statement that returns rows.
func queryRaw(tx *gorm.DB, k stmtKey, args []any) (*sql.Rows, error) {
	k.pg = IsPostgres(tx)
	ctx := tx.Statement.Context
	if st := preparedOn(tx, k); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Statement.ConnPool.QueryContext(ctx, statement(k), args...)
}

// preparedOn is statement k, prepared, bound to tx's transaction; nil if
// it is not prepared or tx is not in a transaction.
func preparedOn(tx *gorm.DB, k stmtKey) *sql.Stmt {
	st := preparedFor(tx, k)
	if st == nil {
		return nil
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil
	}
	return sqlTx.StmtContext(tx.Statement.Context, st)
}

// SQLite parses a statement each time it is run unprepared, and parsing
// one of a thousand rows of placeholders cost a tenth of the writer's
// time in bulk imports. Chunks are therefore cut to a few sizes (the
// largest, then powers of two), whose statements are prepared once per
// database when it is opened. PostgreSQL's driver caches its statements
// itself.
var prepared sync.Map // *sql.DB -> map[stmtKey]*sql.Stmt

// chunkLen is how many of n remaining rows the next statement takes:
// max, or the largest power of two not above n.
func chunkLen(n, max int) int {
	if n >= max {
		return max
	}
	c := 1
	for c*2 <= n {
		c *= 2
	}
	return c
}

// chunkSizes are the sizes chunkLen cuts to, up to max.
func chunkSizes(max int) []int {
	out := []int{max}
	for c := 1; c < max; c *= 2 {
		out = append(out, c)
	}
	return out
}

// prepareBulk prepares the bulk statements of a SQLite database; on
// failure the statements are simply parsed at each use.
func prepareBulk(ctx context.Context, db *sql.DB, log *slog.Logger) {
	m := map[stmtKey]*sql.Stmt{}
	for kind, max := range map[int]int{stmtUpsert: mappingChunk, stmtEvents: eventChunk, stmtFind: keyChunk} {
		for _, n := range chunkSizes(max) {
			k := stmtKey{kind: kind, n: n}
			st, err := db.PrepareContext(ctx, statement(k))
			if err != nil {
				log.Debug("bulk statements left unprepared", "err", err)
				for _, st := range m {
					_ = st.Close()
				}
				return
			}
			m[k] = st
		}
	}
	prepared.Store(db, m)
}

// preparedFor is the statement k prepared on tx's database, if it is.
func preparedFor(tx *gorm.DB, k stmtKey) *sql.Stmt {
	if k.pg {
		return nil
	}
	db, ok := tx.Config.ConnPool.(*sql.DB)
	if !ok {
		return nil
	}
	m, ok := prepared.Load(db)
	if !ok {
		return nil
	}
	return m.(map[stmtKey]*sql.Stmt)[k]
}

// UpsertMappings writes rows, inserting new EIDs and replacing existing
// ones: one statement per chunk of each group of rows that share their
// other columns.
func UpsertMappings(tx *gorm.DB, rows []Mapping) error {
	pg := IsPostgres(tx)
	for _, g := range mappingGroups(rows) {
		for len(g) > 0 {
			chunk := g[:chunkLen(len(g), mappingChunk)]
			g = g[len(chunk):]
			tf := timeText{pg: pg}
			te := tf // expiries run apart from update times
			first := chunk[0]
			args := make([]any, 0, mappingSharedN+mappingRowN*len(chunk))
			args = append(args, int64(first.InstanceID), first.Family, int64(first.TTL), first.Origin,
				first.Port, first.NoProxy, first.MAC, first.Frozen)
			for _, r := range chunk {
				var exp any
				if r.ExpiresAt != nil {
					exp = te.arg(*r.ExpiresAt)
				}
				args = append(args, r.EID, r.Locators, r.Site, r.XTR, int64(r.Version), tf.arg(r.UpdatedAt), exp)
			}
			if err := execRaw(tx, stmtKey{kind: stmtUpsert, n: len(chunk)}, args); err != nil {
				return fmt.Errorf("write %d mappings: %w", len(chunk), err)
			}
		}
	}
	return nil
}

// mappingShares are the values of a mapping row that a statement binds
// once for all its rows.
type mappingShares struct {
	iid             uint32
	family, origin  string
	ttl             uint32
	port, mac       string
	noProxy, frozen bool
}

// mappingGroups splits rows into groups that share those values, in the
// order each group first appears.
func mappingGroups(rows []Mapping) [][]*Mapping {
	return groupBy(rows, func(r *Mapping) mappingShares {
		return mappingShares{iid: r.InstanceID, family: r.Family, origin: r.Origin, ttl: r.TTL,
			port: r.Port, mac: r.MAC, noProxy: r.NoProxy, frozen: r.Frozen}
	})
}

// groupBy splits xs into groups of equal key, in the order each group
// first appears.
func groupBy[T any, K comparable](xs []T, key func(*T) K) [][]*T {
	var groups [][]*T
	index := map[K]int{}
	for i := range xs {
		x := &xs[i]
		k := key(x)
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], x)
	}
	return groups
}

// InsertEvents inserts events whose ids are already set: one statement
// per chunk of each group of events that share their type and
// instance-id.
func InsertEvents(tx *gorm.DB, evs []Event) error {
	pg := IsPostgres(tx)
	for _, g := range eventGroups(evs) {
		for len(g) > 0 {
			chunk := g[:chunkLen(len(g), eventChunk)]
			g = g[len(chunk):]
			first := chunk[0]
			var iid any
			if first.InstanceID != nil {
				iid = int64(*first.InstanceID)
			}
			tf := timeText{pg: pg}
			args := make([]any, 0, eventSharedN+eventRowN*len(chunk))
			args = append(args, first.Type, iid)
			for _, e := range chunk {
				args = append(args, e.ID, tf.arg(e.Time), e.EID, e.Site, e.XTR, e.Data, e.Actor)
			}
			if err := execRaw(tx, stmtKey{kind: stmtEvents, n: len(chunk)}, args); err != nil {
				return fmt.Errorf("write %d events: %w", len(chunk), err)
			}
		}
	}
	return nil
}

// eventShares are the values of an event row bound once per statement.
type eventShares struct {
	typ    string
	iid    uint32
	iidSet bool
}

// eventGroups splits evs into groups that share those values, in the
// order each group first appears.
func eventGroups(evs []Event) [][]*Event {
	return groupBy(evs, func(e *Event) eventShares {
		k := eventShares{typ: e.Type}
		if e.InstanceID != nil {
			k.iid, k.iidSet = *e.InstanceID, true
		}
		return k
	})
}

// MappingKey names one mapping row.
type MappingKey struct {
	InstanceID uint32
	EID        string // canonical text, as stored
}

// FindMappings reads the rows of the given keys that exist, up to
// keyChunk keys per statement. Each statement's list of keys is padded
// (with its last key again) to a power of two, so that a handful of
// prepared statements serve any number.
func FindMappings(tx *gorm.DB, keys []MappingKey) (map[MappingKey]Mapping, error) {
	byIID := map[uint32][]string{}
	for _, k := range keys {
		byIID[k.InstanceID] = append(byIID[k.InstanceID], k.EID)
	}
	out := make(map[MappingKey]Mapping, len(keys))
	for iid, eids := range byIID {
		for len(eids) > 0 {
			chunk := eids[:min(len(eids), keyChunk)]
			eids = eids[len(chunk):]
			n := 1
			for n < len(chunk) {
				n *= 2
			}
			args := make([]any, 0, n+1)
			args = append(args, int64(iid))
			for i := range n {
				args = append(args, chunk[min(i, len(chunk)-1)])
			}
			if err := findChunk(tx, stmtKey{kind: stmtFind, n: n}, args, out); err != nil {
				return nil, fmt.Errorf("find %d mappings: %w", len(chunk), err)
			}
		}
	}
	return out, nil
}

// findChunk runs one stmtFind and adds the rows it returns to out.
func findChunk(tx *gorm.DB, k stmtKey, args []any, out map[MappingKey]Mapping) error {
	rows, err := queryRaw(tx, k, args)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r Mapping
		var iid, ttl, version int64
		var exp sql.NullTime
		if err := rows.Scan(&iid, &r.EID, &r.Family, &r.Locators, &ttl, &r.Origin, &r.Site, &r.XTR, &r.Port,
			&r.NoProxy, &r.MAC, &r.Frozen, &version, &r.UpdatedAt, &exp); err != nil {
			return err
		}
		r.InstanceID, r.TTL, r.Version = uint32(iid), uint32(ttl), uint64(version)
		if exp.Valid {
			r.ExpiresAt = &exp.Time
		}
		out[MappingKey{r.InstanceID, r.EID}] = r
	}
	return rows.Err()
}

// The arguments of the bulk statements are given in the types the
// drivers take as they are (int64, string): database/sql converts any
// other through reflection, and the SQLite driver formats every
// time.Time anew, for each of thousands of rows.

// sqliteTime is how the SQLite driver writes a time.Time (its first
// timestamp format), so rows written either way read back the same.
const sqliteTime = "2006-01-02 15:04:05.999999999-07:00"

// timeText formats times for SQLite, once for a run of equal times (the
// rows of one write share their time).
type timeText struct {
	pg   bool
	last time.Time
	text string
}

// arg is t as a statement argument: on SQLite the driver's text, on
// PostgreSQL t itself.
func (f *timeText) arg(t time.Time) any {
	if f.pg {
		return t
	}
	if f.text == "" || !t.Equal(f.last) || t.Location() != f.last.Location() {
		f.last, f.text = t, t.Format(sqliteTime)
	}
	return f.text
}
