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

// mappingCols are the columns of the mappings table in the order the
// multi-row statements bind them.
const mappingCols = "instance_id,eid,family,locators,ttl,origin,site,xtr,port,no_proxy,mac,frozen,version,updated_at,expires_at"

// mappingUpdate sets every column but the key from the new row.
const mappingUpdate = "family=excluded.family,locators=excluded.locators,ttl=excluded.ttl,origin=excluded.origin," +
	"site=excluded.site,xtr=excluded.xtr,port=excluded.port,no_proxy=excluded.no_proxy,mac=excluded.mac," +
	"frozen=excluded.frozen,version=excluded.version,updated_at=excluded.updated_at,expires_at=excluded.expires_at"

const eventCols = "id,time,type,instance_id,eid,site,xtr,data,actor"

// Rows per statement: 15 x 1000 and 9 x 2000 parameters.
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
		b.WriteString(insert + "mappings (" + mappingCols + ") VALUES ")
		values(&b, k.n, 15, k.pg)
		b.WriteString(" ON CONFLICT (instance_id, eid) DO UPDATE SET " + mappingUpdate)
	case stmtEvents:
		b.WriteString(insert + "events (" + eventCols + ") VALUES ")
		values(&b, k.n, 9, k.pg)
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

// param writes placeholder number p: ? for SQLite, $p for PostgreSQL.
func param(b *strings.Builder, p int, pg bool) {
	if pg {
		b.WriteString("$" + strconv.Itoa(p))
	} else {
		b.WriteByte('?')
	}
}

// values writes n groups of k placeholders: ? for SQLite, $1... for
// PostgreSQL.
func values(b *strings.Builder, n, k int, pg bool) {
	p := 0
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range k {
			if j > 0 {
				b.WriteByte(',')
			}
			if p++; pg {
				b.WriteString("$" + strconv.Itoa(p))
			} else {
				b.WriteByte('?')
			}
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
// ones, with one statement per chunk.
func UpsertMappings(tx *gorm.DB, rows []Mapping) error {
	for len(rows) > 0 {
		chunk := rows[:chunkLen(len(rows), mappingChunk)]
		rows = rows[len(chunk):]
		args := make([]any, 0, 15*len(chunk))
		tf := timeText{pg: IsPostgres(tx)}
		te := tf // expiries run apart from update times
		for i := range chunk {
			r := &chunk[i]
			var exp any
			if r.ExpiresAt != nil {
				exp = te.arg(*r.ExpiresAt)
			}
			args = append(args, int64(r.InstanceID), r.EID, r.Family, r.Locators, int64(r.TTL), r.Origin, r.Site, r.XTR, r.Port,
				r.NoProxy, r.MAC, r.Frozen, int64(r.Version), tf.arg(r.UpdatedAt), exp)
		}
		if err := execRaw(tx, stmtKey{kind: stmtUpsert, n: len(chunk)}, args); err != nil {
			return fmt.Errorf("write %d mappings: %w", len(chunk), err)
		}
	}
	return nil
}

// InsertEvents inserts events whose ids are already set.
func InsertEvents(tx *gorm.DB, evs []Event) error {
	for len(evs) > 0 {
		chunk := evs[:chunkLen(len(evs), eventChunk)]
		evs = evs[len(chunk):]
		args := make([]any, 0, 9*len(chunk))
		tf := timeText{pg: IsPostgres(tx)}
		for i := range chunk {
			e := &chunk[i]
			var iid any
			if e.InstanceID != nil {
				iid = int64(*e.InstanceID)
			}
			args = append(args, e.ID, tf.arg(e.Time), e.Type, iid, e.EID, e.Site, e.XTR, e.Data, e.Actor)
		}
		if err := execRaw(tx, stmtKey{kind: stmtEvents, n: len(chunk)}, args); err != nil {
			return fmt.Errorf("write %d events: %w", len(chunk), err)
		}
	}
	return nil
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
