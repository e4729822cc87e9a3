package controller

import (
	"sync"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// The writer hands the events it has just committed to this replica's
// follower, with the records they carry already decoded, so that the
// follower applies its own replica's changes without reading them back
// from the database and decoding them again. They are the very rows of
// the events table, and the follower applies them in id order exactly as
// it would have read them: where it takes them from is all that differs.
// Events of other replicas, and anything the hand-off misses, are read
// from the database as before.

// maxHanded bounds the events waiting in the hand-off; past it the oldest
// are dropped (the follower then reads them from the database).
const maxHanded = 1 << 17

// handoff holds runs of committed events with consecutive ids.
type handoff struct {
	mu   sync.Mutex
	runs [][]Event
	n    int
}

// put records the events of one commit (ids consecutive, as handed out
// by ReserveEventIDs) with the record of each mapping event when known.
func (h *handoff) put(evs []store.Event, recs []*mapping.Record) {
	if len(evs) == 0 {
		return
	}
	// The data stays as stored until the follower takes the run (expand):
	// this runs on the writer's goroutine, between two commits.
	run := make([]Event, len(evs))
	for i, r := range evs {
		run[i] = storedEvent(r)
		if i < len(recs) {
			run[i].rec = recs[i]
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs = append(h.runs, run)
	h.n += len(run)
	for h.n > maxHanded && len(h.runs) > 1 {
		h.n -= len(h.runs[0])
		h.runs = h.runs[1:]
	}
}

// empty says whether nothing waits in the hand-off.
func (h *handoff) empty() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.runs) == 0
}

// take returns the handed events from id next on, in order, up to the
// end of the first run that holds next; nil if no run does. Runs wholly
// before next are dropped.
func (h *handoff) take(next int64) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.runs) > 0 {
		run := h.runs[0]
		first, last := run[0].ID, run[len(run)-1].ID
		switch {
		case last < next:
			h.n -= len(run)
			h.runs = h.runs[1:]
			continue
		case first > next:
			return nil // a gap: someone else's events come first
		}
		h.n -= len(run)
		h.runs = h.runs[1:]
		run = run[next-first:]
		for i := range run {
			run[i].expand()
		}
		return run
	}
	return nil
}

// MappingRecord is the record a mapping event carries (mapping.created,
// .updated, .moved, .deleted): the one decoded already when at hand.
// Callers must not modify it.
func (e Event) MappingRecord() (mapping.Record, error) {
	if e.rec != nil {
		return *e.rec, nil
	}
	return e.decodeRecord()
}
