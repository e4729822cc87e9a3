package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/store"
)

// Event is one entry of the change feed: a change of state (a network,
// site, xTR, port or mapping created, updated or deleted) or a happening
// worth an operator's attention (an xTR up or down, a registration refused).
type Event struct {
	ID         int64           `json:"id"`
	Time       time.Time       `json:"time"`
	Type       string          `json:"type"`
	InstanceID *uint32         `json:"instance_id,omitempty"`
	EID        string          `json:"eid,omitempty"`
	Site       string          `json:"site,omitempty"`
	XTR        string          `json:"xtr,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	// Actor made the change: an API token's name, lisp:SITE for a
	// Map-Register, learning, or system.
	Actor string `json:"actor,omitempty"`
	// Prev is, for a mapping event applied by this replica, the record
	// the index held for the EID just before (nil if none): where a host
	// was, for those who must undo that (the switches of its old home).
	Prev *mapping.Record `json:"-"`
	rec  *mapping.Record // the record of a mapping event, decoded (MappingRecord)
}

// Event types.
const (
	EvNetworkCreated   = "network.created"
	EvNetworkUpdated   = "network.updated"
	EvNetworkDeleted   = "network.deleted"
	EvSiteCreated      = "site.created"
	EvSiteUpdated      = "site.updated"
	EvSiteDeleted      = "site.deleted"
	EvXTRCreated       = "xtr.created"
	EvXTRDeleted       = "xtr.deleted"
	EvXTRUp            = "xtr.up"
	EvXTRDown          = "xtr.down"
	EvPortBound        = "port.bound"
	EvPortUnbound      = "port.unbound"
	EvMappingCreated   = "mapping.created"
	EvMappingUpdated   = "mapping.updated"
	EvMappingDeleted   = "mapping.deleted"
	EvMappingMoved     = "mapping.moved"
	EvRegisterRefused  = "registration.refused"
	EvMappingDuplicate = "mapping.duplicate"
	EvTokenCreated     = "token.created"
	EvTokenRevoked     = "token.revoked"
	// EvFeedTruncated is never stored: the event stream sends it in place of
	// events the retention policy deleted (see Retention).
	EvFeedTruncated   = "feed.truncated"
	EvOpenFlowRefused = "openflow.refused" // a switch connection turned away (rate-limited)
)

func newEvent(typ string, data any) store.Event {
	b, _ := json.Marshal(data)
	return store.Event{Time: time.Now().UTC(), Type: typ, Data: string(b)}
}

// eventFromRow is the event a row of the events table holds, with the
// record of a mapping event whole again (expand).
func eventFromRow(r store.Event) Event {
	e := storedEvent(r)
	e.expand()
	return e
}

// storedEvent is the event a row holds, its data as stored.
func storedEvent(r store.Event) Event {
	e := Event{ID: r.ID, Time: r.Time, Type: r.Type, InstanceID: r.InstanceID, EID: r.EID,
		Site: r.Site, XTR: r.XTR, Actor: r.Actor}
	if r.Data != "" && r.Data != "{}" {
		e.Data = json.RawMessage(r.Data)
	}
	return e
}

// changeData marks the data of a mapping event the writer stored in the
// change form (mapping.Record.AppendChangeJSON): the record less what the
// row's own columns hold. Those who read the feed always see the whole
// record, as before; only the stored row is smaller.
const changeData = `{"rlocs":`

// expand makes a mapping event's data in the change form the whole
// record again, from the record decoded already if at hand (the writer's
// hand-off), else from the data and the row's columns. Data that does not
// decode is left as it is: MappingRecord reports it.
func (e *Event) expand() {
	if !strings.HasPrefix(e.Type, "mapping.") || !bytes.HasPrefix(e.Data, []byte(changeData)) {
		return
	}
	if e.rec == nil {
		r, err := e.decodeRecord()
		if err != nil {
			return
		}
		e.rec = &r
	}
	e.Data = e.rec.AppendJSON(make([]byte, 0, 256))
}

// decodeRecord decodes the record of a mapping event from its data and
// columns.
func (e *Event) decodeRecord() (mapping.Record, error) {
	var iid uint32
	if e.InstanceID != nil {
		iid = *e.InstanceID
	}
	r, err := mapping.DecodeChange(e.Data, iid, e.EID, e.Site, e.XTR)
	if err != nil {
		return r, fmt.Errorf("decode record: %w", err)
	}
	return r, nil
}

// writeOp is one change waiting for the writer: fn runs inside the shared
// transaction and returns the events that describe what it did, which are
// stamped with the actor the caller's context names.
type writeOp struct {
	ctx   context.Context
	actor string
	fn    func(tx *gorm.DB) ([]store.Event, error)
	units []*saveUnit // instead of fn: mapping writes taken in bulk (bulk.go)
	done  chan writeResult
}

type writeResult struct {
	lastID int64
	err    error
}

// maxBatch bounds how many changes share one transaction (group commit);
// maxBatchRecords how many mapping records the bulk writes of one
// transaction may carry, so one commit stays short.
const (
	maxBatch        = 256
	maxBatchRecords = 8192
)

// write runs fn in a transaction together with whatever other changes are
// waiting (group commit), records fn's events in the change feed, and
// returns once the change is committed and this replica's follower has
// applied it, so a read right after a write sees it.
func (c *Controller) write(ctx context.Context, fn func(tx *gorm.DB) ([]store.Event, error)) error {
	return c.submit(ctx, writeOp{fn: fn})
}

// submit queues op for the writer and waits as write does.
func (c *Controller) submit(ctx context.Context, op writeOp) error {
	op.ctx, op.actor, op.done = ctx, ActorOf(ctx), make(chan writeResult, 1)
	select {
	case c.writes <- op:
	case <-ctx.Done():
		return fmt.Errorf("write: %w", ctx.Err())
	case <-c.closed:
		return fmt.Errorf("write: controller closed")
	}
	var res writeResult
	select {
	case res = <-op.done:
	case <-c.closed:
		return fmt.Errorf("write: controller closed")
	}
	if res.err != nil {
		return res.err
	}
	return c.waitApplied(ctx, res.lastID)
}

// writer is the single goroutine that writes to the database. It takes a
// batch of the writes waiting, or the one it took while the last was
// written (lookahead.go), and commits it.
func (c *Controller) writer() {
	defer c.wg.Done()
	var next *lookahead
	for {
		if next == nil || len(next.batch) == 0 {
			select {
			case op := <-c.writes:
				next = &lookahead{batch: []writeOp{op}}
			case <-c.closed:
				return
			}
			c.drain(next)
		}
		next = c.commit(next.batch, next)
	}
}

// commit runs a batch in one transaction; each op gets its own savepoint so
// a failing op (a duplicate name, say) changes nothing and costs the others
// nothing. The ops' events are written last, just before the commit, when
// they get their ids (appendEvents). Mapping units are written in bulk
// without a savepoint (one would make SQLite copy every page they touch
// into its statement journal); if the bulk statements fail, the whole
// transaction is run again with each unit under its own savepoint, so only
// the unit at fault fails. pre is the plan made for the batch ahead, if
// any; commit returns the next batch, taken (and maybe planned) meanwhile.
func (c *Controller) commit(batch []writeOp, pre *lookahead) *lookahead {
	t0 := time.Now()
	la := &lookahead{}
	res, err := c.commitTx(batch, false, pre, la)
	pre.wait() // its units are ours again
	if err != nil {
		la.drop()
	}
	if errors.Is(err, errBulk) {
		c.log.Warn("bulk mapping write failed; writing one unit at a time", "err", err)
		res, err = c.commitTx(batch, true, nil, nil)
	}
	if err == nil {
		metrics.CommitSeconds.Observe(time.Since(t0).Seconds())
		metrics.CommitEvents.Observe(float64(len(res.evs)))
		c.handed.put(res.evs, res.recs)
	}
	for i, op := range batch {
		if err != nil {
			res.results[i] = writeResult{err: fmt.Errorf("commit: %w", err)}
		}
		op.done <- res.results[i]
	}
	c.nudge()
	return la
}

// committed is what one run of a batch's transaction produced.
type committed struct {
	results []writeResult
	evs     []store.Event
	recs    []*mapping.Record // the record of each mapping event, if at hand
}

// commitTx runs batch in one transaction, its mapping units in bulk or,
// with oneByOne, each under its own savepoint; pre and la as commitUnits.
func (c *Controller) commitTx(batch []writeOp, oneByOne bool, pre, la *lookahead) (committed, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	var out committed
	err := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := guardTx(tx); err != nil {
			return err
		}
		out = committed{results: make([]writeResult, len(batch))}
		var owners []int // index in batch of each event's op
		var bulk []int   // ops of mapping units, written together after the others
		for i, op := range batch {
			if err := op.ctx.Err(); err != nil {
				// The caller gave up (a client hung up) while the op queued.
				out.results[i].err = fmt.Errorf("write: %w", err)
				continue
			}
			if op.units != nil {
				bulk = append(bulk, i)
				continue
			}
			opEvs, err := runOp(tx, i, op)
			if err != nil {
				if errors.Is(err, errTx) {
					return err
				}
				out.results[i].err = err
				continue
			}
			out.evs = append(out.evs, opEvs...)
			for range opEvs {
				owners = append(owners, i)
				out.recs = append(out.recs, nil)
			}
		}
		b, err := c.commitUnits(tx, batch, bulk, oneByOne, pre, la)
		if err != nil {
			return err
		}
		out.evs, owners, out.recs = append(out.evs, b.evs...), append(owners, b.owners...), append(out.recs, b.recs...)
		if err := appendEvents(tx, out.evs); err != nil {
			return err
		}
		for k, ev := range out.evs {
			out.results[owners[k]].lastID = ev.ID
		}
		return nil
	})
	return out, err
}

// errTx marks a failure of the transaction itself, not of one op; errBulk
// a failure of the bulk mapping statements.
var (
	errTx   = errors.New("transaction")
	errBulk = errors.New("bulk mapping write")
)

// runOp runs op i under its own savepoint, released when it succeeds (an
// open savepoint would journal every later write of the transaction) and
// rolled back to when it fails.
func runOp(tx *gorm.DB, i int, op writeOp) ([]store.Event, error) {
	sp := fmt.Sprintf("op%d", i)
	if err := tx.SavePoint(sp).Error; err != nil {
		return nil, fmt.Errorf("%w: savepoint: %w", errTx, err)
	}
	evs, err := op.fn(tx)
	for j := range evs {
		if evs[j].Actor == "" {
			evs[j].Actor = op.actor
		}
	}
	if err != nil {
		if rerr := tx.RollbackTo(sp).Error; rerr != nil {
			return nil, fmt.Errorf("%w: rollback to savepoint: %w", errTx, rerr)
		}
		return nil, err
	}
	if err := tx.Exec("RELEASE SAVEPOINT " + sp).Error; err != nil {
		return nil, fmt.Errorf("%w: release savepoint: %w", errTx, err)
	}
	return evs, nil
}

// nudgeForeign wakes the follower for events another replica (or anyone
// but this replica's writer) may have committed: it reads the database.
func (c *Controller) nudgeForeign() {
	c.foreign.Store(true)
	c.nudge()
}

func (c *Controller) nudge() {
	select {
	case c.nudges <- struct{}{}:
	default:
	}
}

// waitApplied blocks until the follower has applied event id.
func (c *Controller) waitApplied(ctx context.Context, id int64) error {
	for {
		c.mu.RLock()
		applied, ch := c.applied, c.advanced
		c.mu.RUnlock()
		if applied >= id {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for change %d: %w", id, ctx.Err())
		case <-c.closed:
			return fmt.Errorf("wait for change %d: controller closed", id)
		}
	}
}

// Subscribe returns a channel of every event applied from now on. A
// subscriber that falls more than buf events behind is dropped (its channel
// closed); it can catch up from the database with EventsSince.
func (c *Controller) Subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, buf)
	c.subMu.Lock()
	c.subs[ch] = struct{}{}
	c.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.subMu.Lock()
			if _, ok := c.subs[ch]; ok {
				delete(c.subs, ch)
				close(ch)
			}
			c.subMu.Unlock()
		})
	}
}

func (c *Controller) publish(ev Event) { c.publishAll([]Event{ev}) }

// publishAll sends events in order to every subscriber, under one lock.
func (c *Controller) publishAll(evs []Event) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for ch := range c.subs {
		for _, ev := range evs {
			select {
			case ch <- ev:
				continue
			default:
				delete(c.subs, ch)
				close(ch)
			}
			break
		}
	}
}

// EventsSince reads up to limit events after id from the feed, oldest first.
func (c *Controller) EventsSince(ctx context.Context, id int64, limit int) ([]Event, error) {
	var rows []store.Event
	if err := c.db.WithContext(ctx).Where("id > ?", id).Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = eventFromRow(r)
	}
	return out, nil
}

// LastEventID is the id of the newest event this replica has applied.
func (c *Controller) LastEventID() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.applied
}

// Emit records an event that changes no state (an xTR going down, a
// registration refused) in the feed.
func (c *Controller) Emit(ctx context.Context, typ string, iid *uint32, eid, site, xtr string, data any) error {
	return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		ev := newEvent(typ, data)
		ev.InstanceID, ev.EID, ev.Site, ev.XTR = iid, eid, site, xtr
		return []store.Event{ev}, nil
	})
}

// History lists the mapping events of one EID, oldest first: where the host
// was learned, registered, moved and withdrawn.
func (c *Controller) History(ctx context.Context, iid int64, eidText string, limit int) ([]Event, error) {
	if err := validIID("instance_id", iid); err != nil {
		return nil, err
	}
	eid, err := mapping.ParseEID(uint32(iid), eidText)
	if err != nil {
		return nil, invalid("eid", "malformed EID %q", eidText)
	}
	var rows []store.Event
	err = c.db.WithContext(ctx).Where("instance_id = ? AND eid = ? AND type LIKE ?", eid.IID, eid.Address(), "mapping.%").
		Order("id desc").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = eventFromRow(r)
	}
	return out, nil
}
