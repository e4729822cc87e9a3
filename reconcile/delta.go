package reconcile

import (
	"context"
	"errors"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// maxDeltaEIDs is how many changed EIDs one switch may collect before a
// pass recomputes it in full: past that, a full pass costs no more.
const maxDeltaEIDs = 4096

// markMapping marks the xTRs serving iid for a change of the EID given in
// its text form: just that EID for a MAC EID, in full otherwise (IP
// records feed the ARP responder, part of every switch's base flows).
func (r *Reconciler) markMapping(iid uint32, eidText string) {
	names := r.Ctl.XTRsServing(iid)
	e, err := mapping.ParseEID(iid, eidText)
	if err != nil || e.Family() != mapping.FamilyMAC {
		r.markFlows(names...)
		return
	}
	r.markEID(names, e)
}

// baseView is the controller's base view with this reconciler's settings.
func (r *Reconciler) baseView(name string) (pipeline.SwitchView, bool) {
	v, ok := r.Ctl.BaseView(name)
	v.MapCache = r.MapCache.view()
	return v, ok
}

func (r *Reconciler) setIncr(name string, in *pipeline.Incremental) {
	r.mu.Lock()
	if in == nil {
		delete(r.incr, name)
	} else {
		r.incr[name] = in
	}
	r.mu.Unlock()
}

// syncDelta sends a switch only the flows and groups of the changed MAC
// EIDs. done is false, with no error, when it cannot: no changed EIDs
// given, no compiled state kept, the rest of the view changed since it was
// compiled, or the switch's installed state unknown. The caller then syncs
// in full.
func (r *Reconciler) syncDelta(ctx context.Context, name string, sw FlowSyncer, changed map[mapping.EID]bool) (res openflow.SyncResult, done bool, err error) {
	if changed == nil {
		return res, false, nil
	}
	r.mu.Lock()
	in := r.incr[name]
	delete(r.incr, name) // put back only once the switch has it
	r.mu.Unlock()
	if in == nil {
		return res, false, nil
	}
	base, ok := r.baseView(name)
	if ok {
		base = r.gateDF(name, base)
	}
	if !ok || !in.Fits(base) {
		return res, false, nil
	}
	x, err := r.Ctl.XTR(name)
	if err != nil {
		return res, false, nil
	}
	d, ok := in.Update(r.changes(x, changed))
	if !ok {
		return res, false, nil
	}
	if !d.Empty() {
		res, err = sw.Apply(ctx, d)
		if errors.Is(err, openflow.ErrNeedSync) {
			return res, false, nil
		}
		if err != nil {
			return res, false, err
		}
	}
	r.setIncr(name, in)
	return res, true, nil
}

// syncFull compiles the whole view and syncs it, keeping the compiled
// state for later deltas.
func (r *Reconciler) syncFull(ctx context.Context, name string, sw FlowSyncer) (openflow.SyncResult, error) {
	r.setIncr(name, nil)
	view, _ := r.Ctl.ViewWith(name, r.cachedFor(name))
	view.MapCache = r.MapCache.view()
	view = r.gateDF(name, view)
	in, ok := pipeline.NewIncremental(view)
	var flows []openflow.Flow
	var groups []openflow.GroupEntry
	if ok {
		flows, groups = in.Unordered()
	} else {
		flows, groups = pipeline.Compile(view)
	}
	res, err := sw.Sync(ctx, flows, groups)
	if err == nil && ok {
		r.setIncr(name, in)
	}
	return res, err
}
