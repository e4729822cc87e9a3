package reconcile

import (
	"context"
	"time"
)

// Only the leader among several controller replicas programs the
// switches. A standby's Reconciler is inactive: it follows the change feed
// like any other but starts no sync and keeps no marks (it would throw
// them away anyway). On becoming active it reads every switch back and
// syncs each in full, which sends only the difference: nothing, when the
// previous leader left the switches as the database says.

// SetActive turns switch programming on or off. Turning it off cancels the
// syncs under way at once.
func (r *Reconciler) SetActive(on bool) {
	r.init()
	r.mu.Lock()
	if on == !r.inactive {
		r.mu.Unlock()
		return
	}
	r.inactive = !on
	if !on {
		if r.stopTerm != nil {
			r.stopTerm()
			r.term, r.stopTerm = nil, nil
		}
		clear(r.dirtyFlow)
		clear(r.dirtyOVS)
		clear(r.dirtyEIDs)
		clear(r.incr)
	} else {
		r.cache.forgetAll() // the switches hold it: read back at each first pass
		for _, st := range r.status {
			st.Failures, st.retryAt = 0, time.Time{}
		}
	}
	r.mu.Unlock()
	if on {
		r.rereadAll()
		r.markAll()
		r.Kick()
	}
}

// Active reports whether the Reconciler programs the switches.
func (r *Reconciler) Active() bool {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.inactive
}

// termContext is the context of this term's syncs, cancelled when the
// Reconciler turns inactive; ok is false while it is inactive.
func (r *Reconciler) termContext(ctx context.Context) (context.Context, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inactive {
		clear(r.dirtyFlow)
		clear(r.dirtyOVS)
		clear(r.dirtyEIDs)
		return nil, false
	}
	if r.term == nil || r.term.Err() != nil {
		r.term, r.stopTerm = context.WithCancel(ctx)
	}
	return r.term, true
}
