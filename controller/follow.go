package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/store"
)

// Every replica follows the change feed, the events table, in id order.
// Ids are handed out at commit under one row lock (store.ReserveEventIDs),
// so they are gapless and in commit order: the follower reads "id > last
// applied", never waits on a hole a rolled-back transaction left, and never
// skips an event that committed after a larger id, because there is none.
// Anything else (a hole because events were deleted before this replica
// read them, an event it cannot apply) means the in-memory state may no
// longer match the database, and the replica rebuilds it from the database
// instead of going on.

// pollInterval is how often the follower looks for changes written by other
// replicas; changes of this replica wake it at once.
const pollInterval = 250 * time.Millisecond

// Deadlines of the follower's database calls.
const (
	readTimeout    = 10 * time.Second
	rebuildTimeout = 5 * time.Minute
)

// errDrift marks what makes the in-memory state untrustworthy.
var errDrift = errors.New("the in-memory state may differ from the database")

// commitTimeout bounds one write transaction.
const commitTimeout = 30 * time.Second

// guardTx limits, on PostgreSQL, how long a writer that stops talking in
// the middle of its transaction (paused, cut off) keeps its locks, the
// feed position's among them: every replica's writes wait for that lock.
func guardTx(tx *gorm.DB) error {
	if !store.IsPostgres(tx) {
		return nil
	}
	if err := tx.Exec("SET LOCAL idle_in_transaction_session_timeout = '5s'").Error; err != nil {
		return fmt.Errorf("guard transaction: %w", err)
	}
	return nil
}

// appendEvents gives evs their ids and inserts them. Called last in the
// writing transaction, so the feed position's row lock is held only for
// the insert and the commit.
func appendEvents(tx *gorm.DB, evs []store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	last, err := store.ReserveEventIDs(tx, len(evs))
	if err != nil {
		return err
	}
	first := last - int64(len(evs)) + 1
	for k := range evs {
		evs[k].ID = first + int64(k)
	}
	if err := store.InsertEvents(tx, evs); err != nil {
		return err
	}
	return notifyFeed(tx)
}

// follower applies the change feed to the in-memory state, in id order.
func (c *Controller) follower() {
	defer c.wg.Done()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		others := true
		select {
		case <-c.nudges:
			others = c.foreign.Swap(false)
		case <-t.C:
		case <-c.closed:
			return
		}
		c.follow(others)
	}
}

// catchUp applies every event committed so far, rebuilding the state from
// the database when an event cannot be applied. A failed read or rebuild
// is retried on the next round; nothing is skipped meanwhile.
func (c *Controller) catchUp() { c.follow(true) }

// follow is catchUp. Woken only by this replica's own commits (others
// false), it applies what the hand-off holds and stops there, asking the
// database nothing: on SQLite that read would wait for the writer's next
// transaction on the one connection, and then find that transaction's
// events before the hand-off does, so that under a steady load the
// follower would read and decode every event again. With others, it reads
// the database until it has seen all that was committed (a short page),
// and goes on with the hand-off from there.
func (c *Controller) follow(others bool) {
	for {
		c.mu.RLock()
		last := c.applied
		c.mu.RUnlock()
		var n int
		var err error
		if evs := c.handed.take(last + 1); evs != nil {
			n, err = c.applyRun(evs)
		} else {
			if !others && c.handed.empty() {
				return
			}
			// others, or a gap in the hand-off (its oldest runs dropped)
			n, err = c.readFeed(last)
			others = others && n == feedPage
		}
		if errors.Is(err, errDrift) {
			c.log.Warn("change feed: rebuilding the state from the database", "err", err)
			if err := c.rebuild(); err != nil {
				c.log.Error("change feed: rebuild failed; retrying", "err", err)
				return
			}
			others = true
			continue
		}
		if err != nil {
			c.log.Error("change feed", "err", err)
			return
		}
		if n == 0 {
			return
		}
	}
}

// followOnce reads and applies the next events. It stops at the first one
// it cannot apply, or at a hole in the ids, with an errDrift error.
func (c *Controller) followOnce() (int, error) {
	c.mu.RLock()
	last := c.applied
	c.mu.RUnlock()
	if evs := c.handed.take(last + 1); evs != nil {
		return c.applyRun(evs)
	}
	return c.readFeed(last)
}

// feedPage is how many events one read of the feed takes.
const feedPage = 1000

// readFeed reads the events after last from the database and applies them.
func (c *Controller) readFeed(last int64) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	var rows []store.Event
	if err := c.db.WithContext(ctx).Where("id > ?", last).Order("id").Limit(feedPage).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("read events: %w", err)
	}
	for i, r := range rows {
		if r.ID != last+1 {
			return i, fmt.Errorf("%w: event %d follows %d (events deleted before they were applied?)", errDrift, r.ID, last)
		}
		ev := eventFromRow(r)
		if err := c.apply(&ev); err != nil {
			return i, fmt.Errorf("%w: apply event %d (%s): %w", errDrift, ev.ID, ev.Type, err)
		}
		last = r.ID
		c.advance(last)
		c.publish(ev)
	}
	return len(rows), nil
}

// applyRun applies events this replica committed (handoff.go), which
// follow the last applied one without a gap. The run is applied whole,
// then the position advanced and the events published once: a commit's
// worth of changes costs one wake-up of the waiting writers.
func (c *Controller) applyRun(evs []Event) (int, error) {
	for i := range evs {
		ev := &evs[i]
		if err := c.apply(ev); err != nil {
			if i > 0 {
				c.advance(evs[i-1].ID)
				c.publishAll(evs[:i])
			}
			return i, fmt.Errorf("%w: apply event %d (%s): %w", errDrift, ev.ID, ev.Type, err)
		}
	}
	c.advance(evs[len(evs)-1].ID)
	c.publishAll(evs)
	return len(evs), nil
}

// advance records that the feed is applied up to id.
func (c *Controller) advance(id int64) {
	c.mu.Lock()
	if id > c.applied {
		c.applied = id
		close(c.advanced)
		c.advanced = make(chan struct{})
		metrics.FeedApplied.Set(float64(id))
	}
	c.mu.Unlock()
}

// rebuild reloads the whole state from the database and continues the feed
// from the position read before loading. The mapping index is updated in
// place (records put, then the ones no longer in the database deleted), so
// lookups never see it empty. Subscribers are dropped: they missed the
// changes the rebuild took in, and start over as they do when they fall
// behind.
func (c *Controller) rebuild() error {
	ctx, cancel := c.opContext(rebuildTimeout)
	defer cancel()
	objs, err := c.readObjects(ctx)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	seen := make(map[mapping.EID]struct{}, c.idx.Len())
	hosts := newHostIndex()
	err = c.loadMappings(ctx, func(r mapping.Record) {
		c.idx.Put(r)
		hosts.put(&r)
		seen[r.EID] = struct{}{}
	})
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	var gone []mapping.EID
	c.idx.Range(func(r mapping.Record) bool {
		if _, ok := seen[r.EID]; !ok {
			gone = append(gone, r.EID)
		}
		return true
	})
	for _, e := range gone {
		c.idx.Delete(e)
	}
	side := blank(c.db, c.log)
	side.xtrs = objs.xtrs
	if err := side.loadSide(ctx); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	c.mu.Lock()
	c.networks, c.sites, c.xtrs, c.ports = objs.networks, objs.sites, objs.xtrs, objs.ports
	c.tokens = side.tokens
	c.dropTopology()
	c.mu.Unlock()
	c.hosts.replace(hosts)
	c.lispSubs.replace(&side.lispSubs)
	c.locs.replace(side.locs)
	c.rebuildDown()
	c.advance(objs.pos)
	c.dropSubscribers()
	metrics.FeedRebuilds.Inc()
	c.log.Warn("change feed: state rebuilt from the database", "position", objs.pos, "mappings", len(seen))
	return nil
}

// opContext bounds a background database call by d and by Close.
func (c *Controller) opContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() {
		select {
		case <-c.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// dropSubscribers closes every subscription, as if each had fallen behind.
func (c *Controller) dropSubscribers() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for ch := range c.subs {
		delete(c.subs, ch)
		close(ch)
	}
}
