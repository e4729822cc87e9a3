package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/metrics"
)

// rebuildTimeout bounds the reload of a replica's whole state.
const rebuildTimeout = 5 * time.Minute

// missedPruned reports whether the retention policy deleted events after
// last, which this replica has not applied: it cannot know what they
// changed, so a hole there never fills.
func (c *Controller) missedPruned(last int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	through, err := c.PrunedThrough(ctx)
	return err == nil && through > last
}

// rebuild reloads everything this replica caches from the database, as at
// start, and moves its feed position to the newest event. Subscribers are
// dropped, so they start over too: the reconciler resyncs every switch and
// event-stream clients reconnect (and are told what was pruned).
func (c *Controller) rebuild() error {
	ctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
	defer cancel()
	fresh := blank(c.db, c.log)
	if err := fresh.load(ctx); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	// The index is shared with its readers: bring it in line in place.
	var gone []mapping.EID
	c.idx.Range(func(r mapping.Record) bool {
		if _, ok := fresh.idx.Get(r.EID); !ok {
			gone = append(gone, r.EID)
		}
		return true
	})
	for _, e := range gone {
		c.idx.Delete(e)
	}
	fresh.idx.Range(func(r mapping.Record) bool {
		c.idx.Put(r)
		return true
	})
	c.mu.Lock()
	c.networks, c.sites, c.xtrs, c.ports, c.tokens = fresh.networks, fresh.sites, fresh.xtrs, fresh.ports, fresh.tokens
	c.applied = max(c.applied, fresh.applied)
	close(c.advanced)
	c.advanced = make(chan struct{})
	c.mu.Unlock()
	c.lispSubs.replace(&fresh.lispSubs)
	c.locs.replace(fresh.locs)
	c.rebuildDown()
	c.dropSubscribers()
	metrics.FeedRebuilds.Inc()
	c.log.Warn("events this replica had not applied were pruned; reloaded its state from the database",
		"position", fresh.applied)
	return nil
}

// dropSubscribers closes every subscription, as if each fell behind.
func (c *Controller) dropSubscribers() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for ch := range c.subs {
		delete(c.subs, ch)
		close(ch)
	}
}
