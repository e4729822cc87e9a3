package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/store"
)

// Retention bounds the change feed (the events table). Pruning always
// deletes a prefix of the feed, the oldest ids first, and records how far
// it went in feed_state, so a follower or a client that asks for events
// after a pruned id can tell "deleted" from "not committed yet".
type Retention struct {
	MaxAge   time.Duration // delete events older than this; 0: no age limit
	MaxCount int64         // keep at most about this many events; 0: no count limit
	Every    time.Duration // how often to prune
	Batch    int           // events deleted per transaction
	Deadline time.Duration // bound of one pruning pass
}

// DefaultRetention keeps a week of history, and at most two million events
// (about 1 GB of rows) should a week hold more.
func DefaultRetention() Retention {
	return Retention{MaxAge: 7 * 24 * time.Hour, MaxCount: 2_000_000, Every: 5 * time.Minute,
		Batch: 5000, Deadline: time.Minute}
}

// minRetain protects the newest events whatever the policy: a transaction
// holding an older id may still be committing (PostgreSQL allocates ids
// before commit), and followers wait for such holes to fill.
const minRetain = time.Minute

// RunRetention prunes the feed every r.Every until ctx is done. Every
// replica may run it: pruning is idempotent.
func (c *Controller) RunRetention(ctx context.Context, r Retention) {
	if r.Every <= 0 || (r.MaxAge <= 0 && r.MaxCount <= 0) {
		return
	}
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		n, err := c.Prune(ctx, r, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			c.log.Warn("prune the change feed", "err", err, "deleted", n)
		case n > 0:
			c.log.Info("pruned the change feed", "deleted", n, "max_age", r.MaxAge, "max_count", r.MaxCount)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes the events r does not keep, one batch per transaction,
// until none is left or r.Deadline passes. The newest event always stays,
// so the feed position survives a quiet week. It returns how many it deleted.
func (c *Controller) Prune(ctx context.Context, r Retention, now time.Time) (int64, error) {
	if r.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Deadline)
		defer cancel()
	}
	batch := max(r.Batch, 1)
	var newest store.Event
	if err := c.db.WithContext(ctx).Select("id").Order("id desc").Limit(1).Find(&newest).Error; err != nil {
		return 0, fmt.Errorf("prune: newest event: %w", err)
	}
	countCut := int64(0) // ids up to this are over the count limit
	if r.MaxCount > 0 {
		countCut = newest.ID - r.MaxCount
	}
	ageCut := now.Add(-r.MaxAge)
	safe := now.Add(-minRetain)
	old := func(ev store.Event) bool {
		if ev.ID >= newest.ID || !ev.Time.Before(safe) {
			return false
		}
		return ev.ID <= countCut || (r.MaxAge > 0 && ev.Time.Before(ageCut))
	}
	var total int64
	for {
		through, err := c.PrunedThrough(ctx)
		if err != nil {
			return total, err
		}
		var rows []store.Event
		if err := c.db.WithContext(ctx).Select("id", "time").Where("id > ?", through).Order("id").
			Limit(batch).Find(&rows).Error; err != nil {
			return total, fmt.Errorf("prune: read events: %w", err)
		}
		end := 0 // rows[:end] is the prefix to delete
		for end < len(rows) && old(rows[end]) {
			end++
		}
		if end == 0 {
			return total, nil
		}
		n, err := c.deleteThrough(ctx, rows[end-1].ID)
		total += n
		metrics.EventsPruned.Add(float64(n))
		if err != nil {
			return total, err
		}
		if end < len(rows) || len(rows) < batch {
			return total, nil
		}
	}
}

// deleteThrough deletes every event with id <= id and records it, through
// the single writer.
func (c *Controller) deleteThrough(ctx context.Context, id int64) (int64, error) {
	var n int64
	err := c.write(WithActor(ctx, ActorSystem), func(tx *gorm.DB) ([]store.Event, error) {
		res := tx.Where("id <= ?", id).Delete(&store.Event{})
		if res.Error != nil {
			return nil, fmt.Errorf("prune: delete events: %w", res.Error)
		}
		n = res.RowsAffected
		err := tx.Model(&store.FeedState{}).Where("id = 1 AND pruned_through < ?", id).
			Update("pruned_through", id).Error
		if err != nil {
			return nil, fmt.Errorf("prune: record position: %w", err)
		}
		return nil, nil
	})
	return n, err
}

// PrunedThrough is the highest event id the retention policy deleted:
// events up to it are gone on purpose, not yet to come.
func (c *Controller) PrunedThrough(ctx context.Context) (int64, error) {
	var st store.FeedState
	err := c.db.WithContext(ctx).Where("id = 1").First(&st).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, fmt.Errorf("read feed state: %w", err)
	}
	return st.PrunedThrough, nil
}
