package reconcile

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Announcements to a multihomed site's LAN (pipeline.Announcements): the
// xTR that gains DF of an instance-id, or sees a mate stop carrying
// traffic, re-points the LAN's remote MACs to its uplinks right after its
// own sync. Remote switches may still be sending to the mate until they
// have synced too, and a frame the mate delivers meanwhile points the LAN
// back at it; so a second round follows once every connected switch
// reflects the change (and frames still on the wire have landed). A drain
// is converged only once that round is done (WaitAnnounced).

// announceSettle is how long the second round waits after the last switch
// synced, for frames sent before to arrive.
const announceSettle = 50 * time.Millisecond

// announceTimeout bounds the wait for every switch before the second round.
const announceTimeout = 15 * time.Second

// announceIIDs are the instance-ids a multihomed xTR announces remote
// hosts on after a sync: those it gained as DF, and all it is DF of when a
// mate stopped carrying traffic (down or drained) since its last sync.
func (r *Reconciler) announceIIDs(name string, v pipeline.SwitchView, gained []uint32) []uint32 {
	if len(v.Mates) == 0 {
		return nil
	}
	carrying := map[string]bool{}
	for _, m := range v.Mates {
		if m.Live && v.RLOCState[m.RLOC.Unmap()] != pipeline.RLOCDrained {
			carrying[m.Name] = true
		}
	}
	r.mu.Lock()
	before, seen := r.mh.carrying[name]
	r.mh.carrying[name] = carrying
	r.mu.Unlock()
	left := false
	for m := range before {
		left = left || !carrying[m]
	}
	if seen && left {
		return v.DF
	}
	return gained
}

// afterSync runs once a switch holds what its sync (reflecting the feed up
// to pos) sent: it records the DF instance-ids the switch now holds and
// sends the LAN announcements a DF gain or a mate stopping call for, now
// and once every switch has caught up.
func (r *Reconciler) afterSync(ctx context.Context, name string, sw FlowSyncer, pos int64) {
	gained := r.dfSynced(name)
	base, ok := r.Ctl.BaseView(name)
	if !ok {
		return
	}
	r.mu.Lock()
	base.DF = slices.Sorted(maps.Keys(r.mh.held[name]))
	r.mu.Unlock()
	iids := r.announceIIDs(name, base, gained)
	if len(iids) == 0 {
		return
	}
	if v, ok := r.Ctl.View(name); ok {
		r.announce(ctx, name, sw, v, iids)
	}
	r.mu.Lock()
	r.mh.rounds++
	r.mu.Unlock()
	r.wg.Add(1)
	go r.announceAgain(ctx, name, iids, pos)
}

// announceAgain is the second round of announcements of iids by xTR name,
// once every connected switch reflects the feed up to pos.
func (r *Reconciler) announceAgain(ctx context.Context, name string, iids []uint32, pos int64) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		r.mh.rounds--
		r.cond.Broadcast()
		r.mu.Unlock()
	}()
	wctx, cancel := context.WithTimeout(ctx, announceTimeout)
	r.WaitCaughtUp(wctx, pos)
	cancel()
	select {
	case <-ctx.Done():
		return
	case <-time.After(announceSettle):
	}
	x, err := r.Ctl.XTR(name)
	if err != nil {
		return
	}
	sw, ok := r.Switch(x.DatapathID)
	v, vok := r.Ctl.View(name)
	if !ok || !vok {
		return
	}
	r.mu.Lock()
	held := r.mh.held[name]
	r.mu.Unlock()
	iids = slices.DeleteFunc(slices.Clone(iids), func(iid uint32) bool { return !held[iid] })
	r.announce(ctx, name, sw, v, iids)
}

// WaitCaughtUp blocks until every connected switch reflects the feed up
// to event id pos, or ctx ends; it reports which. A switch reflects it
// when it was synced after pos, or when the reconciler has marked the
// feed through pos and has nothing left to do for it (the events did not
// concern it).
func (r *Reconciler) WaitCaughtUp(ctx context.Context, pos int64) bool {
	r.init()
	var names []string
	for _, x := range r.Ctl.XTRs() {
		if _, ok := r.Switch(x.DatapathID); ok {
			names = append(names, x.Name)
		}
	}
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for !r.caughtUpLocked(names, pos) {
		if ctx.Err() != nil {
			return false
		}
		r.cond.Wait()
	}
	return true
}

func (r *Reconciler) caughtUpLocked(names []string, pos int64) bool {
	for _, n := range names {
		idle := r.marked >= pos && !r.busy[n] && !r.dirtyFlow[n] && r.dirtyEIDs[n] == nil
		if r.synced[n] < pos && !idle {
			return false
		}
	}
	return true
}

// wakeLocked wakes the waiters on the reconciler's progress; the caller
// holds r.mu.
func (r *Reconciler) wakeLocked() {
	if r.cond != nil {
		r.cond.Broadcast()
	}
}

// WaitAnnounced blocks until no second round of announcements is pending,
// or ctx ends; it reports which.
func (r *Reconciler) WaitAnnounced(ctx context.Context) bool {
	r.init()
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.mh.rounds > 0 {
		if ctx.Err() != nil {
			return false
		}
		r.cond.Wait()
	}
	return true
}

// packetOuter is a switch connection that can send frames.
type packetOuter interface {
	PacketOut(ctx context.Context, inPort uint32, actions []openflow.Action, data []byte) error
}

// PacketOut sends a frame out of the switch.
func (m meteredSwitch) PacketOut(ctx context.Context, inPort uint32, actions []openflow.Action, data []byte) error {
	return m.sw.PacketOut(ctx, inPort, actions, data)
}

// announce sends the announcements of iids out of a switch.
func (r *Reconciler) announce(ctx context.Context, name string, sw FlowSyncer, v pipeline.SwitchView, iids []uint32) {
	po, ok := sw.(packetOuter)
	if !ok || len(iids) == 0 {
		return
	}
	as := pipeline.Announcements(v, iids)
	for _, a := range as {
		err := po.PacketOut(ctx, openflow.PortController, []openflow.Action{openflow.Output{Port: a.Port}},
			pipeline.AnnounceFrame(a.MAC))
		if err != nil {
			r.Log.Warn("announce remote hosts", "xtr", name, "err", err)
			return
		}
	}
	metrics.Announcements.Add(float64(len(as)))
	if len(as) > 0 {
		r.Log.Info("announced remote hosts to the site LAN", "xtr", name, "iids", iids, "frames", len(as))
	}
}
