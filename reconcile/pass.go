package reconcile

import (
	"context"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/metrics"
)

// SyncStatus is the reconciler's per-xTR record: when its switch last
// reflected the database, and what went wrong since.
type SyncStatus struct {
	LastSync  time.Time // last successful flow sync
	LastError string    // of the last failed attempt, cleared by a success
	Failures  int       // consecutive failed attempts
	retryAt   time.Time // no new attempt before this (backoff)
}

// job is the work of one pass for one xTR.
type job struct {
	name    string
	flows   bool                 // sync flows
	changed map[mapping.EID]bool // nil: in full
	ovs     bool                 // provision over OVSDB
}

// pass starts a sync for every marked xTR that has none under way and is
// not backing off. It does not wait for them: a slow switch delays only
// its own next pass.
func (r *Reconciler) pass(ctx context.Context) {
	ctx, ok := r.termContext(ctx)
	if !ok {
		return
	}
	now := time.Now()
	r.mu.Lock()
	pos := r.marked
	var jobs []job
	take := func(name string) {
		if r.busy[name] || (r.status[name] != nil && now.Before(r.status[name].retryAt)) {
			return
		}
		_, full := r.dirtyFlow[name]
		eids, partial := r.dirtyEIDs[name]
		j := job{name: name, ovs: r.dirtyOVS[name], flows: full || partial}
		if !full {
			j.changed = eids
		}
		delete(r.dirtyFlow, name)
		delete(r.dirtyEIDs, name)
		delete(r.dirtyOVS, name)
		r.busy[name] = true
		jobs = append(jobs, j)
	}
	for name := range r.dirtyFlow {
		take(name)
	}
	for name := range r.dirtyEIDs {
		take(name)
	}
	for name := range r.dirtyOVS {
		take(name)
	}
	r.advanceIdle(pos)
	r.mu.Unlock()
	for _, j := range jobs {
		r.wg.Add(1)
		go r.work(ctx, j, pos)
	}
}

// work runs one xTR's job on a worker slot, then releases the xTR and asks
// for a pass if it was marked again meanwhile.
func (r *Reconciler) work(ctx context.Context, j job, pos int64) {
	defer r.wg.Done()
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		r.release(j.name, nil)
		return
	}
	defer func() { <-r.sem }()
	if j.ovs {
		r.provision(ctx, j.name)
	}
	var err error
	if j.flows {
		err = r.syncFlows(ctx, j.name, pos, j.changed)
	}
	r.release(j.name, err)
}

// release ends an xTR's sync: a failure is retried in full after a backoff
// that doubles per consecutive failure.
func (r *Reconciler) release(name string, err error) {
	r.mu.Lock()
	delete(r.busy, name)
	if r.inactive {
		// Cancelled by the end of the term: no failure, nothing to retry.
		r.mu.Unlock()
		return
	}
	st := r.status[name]
	if st == nil {
		st = &SyncStatus{}
		r.status[name] = st
	}
	if err != nil {
		st.Failures++
		st.LastError = err.Error()
		st.retryAt = time.Now().Add(min(retryEvery<<min(st.Failures-1, 10), maxBackoff))
		r.dirtyFlow[name] = true
		delete(r.dirtyEIDs, name)
	} else if st.Failures > 0 || st.LastError != "" {
		st.Failures, st.LastError, st.retryAt = 0, "", time.Time{}
	}
	again := err == nil && (r.dirtyFlow[name] || r.dirtyEIDs[name] != nil || r.dirtyOVS[name])
	r.wakeLocked()
	r.mu.Unlock()
	if again {
		r.Kick()
	}
}

// Status reports the reconciler's record of one xTR.
func (r *Reconciler) Status(name string) SyncStatus {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.status[name]; st != nil {
		return *st
	}
	return SyncStatus{}
}

// syncFlows pushes one xTR's flows, only those of the changed MAC EIDs
// when given and possible. A deleted or unconnected xTR is no error: OVSDB
// removal takes its bridge away, and a connection syncs in full.
func (r *Reconciler) syncFlows(ctx context.Context, name string, pos int64, changed map[mapping.EID]bool) error {
	x, err := r.Ctl.XTR(name)
	if err != nil {
		r.setIncr(name, nil)
		return nil
	}
	sw, ok := r.Switch(x.DatapathID)
	if !ok {
		r.setIncr(name, nil) // what it holds on return is read back
		r.mu.Lock()
		delete(r.synced, name) // reflects nothing until it syncs again
		r.mu.Unlock()
		r.forgetDF(name)
		return nil
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, r.SyncTimeout)
	defer cancel()
	more, full, err := r.prepareCache(sctx, name, sw)
	if err != nil {
		r.Log.Warn("map-cache", "xtr", name, "err", err)
		return err
	}
	if full {
		changed = nil
	} else if changed != nil {
		for _, e := range more {
			changed[e] = true
		}
	}
	res, done, err := r.syncDelta(sctx, name, sw, changed)
	if !done && err == nil {
		res, err = r.syncFull(sctx, name, sw)
	}
	if err != nil {
		r.setIncr(name, nil)
		r.Log.Warn("sync flows", "xtr", name, "err", err)
		return err
	}
	r.afterSync(ctx, name, sw, pos)
	metrics.ReconcileSeconds.Observe(time.Since(start).Seconds())
	metrics.FlowModsSent.Add(float64(res.Added + res.Modified + res.Deleted + res.GroupsChanged))
	if res.Added+res.Modified+res.Deleted+res.GroupsChanged > 0 {
		r.Log.Debug("synced flows", "xtr", name, "added", res.Added, "modified", res.Modified,
			"deleted", res.Deleted, "groups", res.GroupsChanged, "took", time.Since(start), "delta", done)
	}
	r.mu.Lock()
	if pos > r.synced[name] {
		r.synced[name] = pos
	}
	if r.status[name] == nil {
		r.status[name] = &SyncStatus{}
	}
	r.status[name].LastSync = time.Now()
	r.cond.Broadcast()
	r.mu.Unlock()
	return nil
}

// advanceIdle notes that every switch synced before, with nothing marked
// and no sync under way, reflects the feed up to pos: no event since its
// last sync concerned it (interest-based fan-out marks only the switches
// a change affects). Called with r.mu held.
func (r *Reconciler) advanceIdle(pos int64) {
	moved := false
	for name, at := range r.synced {
		if at < pos && !r.busy[name] && !r.dirtyFlow[name] && r.dirtyEIDs[name] == nil && !r.dirtyOVS[name] {
			r.synced[name] = pos
			moved = true
		}
	}
	if moved {
		r.cond.Broadcast()
	}
}

// rereadAll makes every connected switch's next sync read its flows back
// and compare them in full: the periodic resync that catches drift.
func (r *Reconciler) rereadAll() {
	for _, x := range r.Ctl.XTRs() {
		if sw, ok := r.Switch(x.DatapathID); ok {
			if rr, ok := sw.(interface{ Reread() }); ok {
				rr.Reread()
			}
		}
		r.markFlows(x.Name)
	}
}

// WaitSynced blocks until xTR name's switch reflects the feed up to event
// id pos, or ctx ends. It returns false on timeout.
func (r *Reconciler) WaitSynced(ctx context.Context, name string, pos int64) bool {
	r.init()
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.synced[name] < pos {
		if ctx.Err() != nil {
			return false
		}
		r.cond.Wait()
	}
	return true
}
