package reconcile

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Interest-based fan-out. A change to a host of a push network concerns
// every switch serving the network; one of an on-demand network only the
// switches it sits behind (before and after the change) and those holding
// it in their map-cache. Finding them costs in proportion to their number:
// the controller indexes who serves what and who is behind which RLOC,
// the map-cache who holds what.

// flowDumper reads a switch's flows with their counters (openflow.Switch).
type flowDumper interface {
	DumpFlows(ctx context.Context, cookie, mask uint64) ([]openflow.FlowStats, error)
}

// mapCacheCookie selects the map-cache flows of a switch.
const mapCacheMask = openflow.CookieOwnerMask | openflow.CookieStageMask

var mapCacheCookie = openflow.StageCookie(pipeline.StageMapCache)

// macOf is the MAC EID whose map-cache entry carries record r: its own for
// a MAC record, the one it is bound to for an IP binding.
func macOf(r *mapping.Record) (mapping.EID, bool) {
	switch {
	case r.EID.Family() == mapping.FamilyMAC:
		return r.EID, true
	case r.HasMAC():
		return mapping.MACEID(r.EID.IID, r.MAC), true
	}
	return mapping.EID{}, false
}

// markMappingEvent marks the switches a mapping event affects.
func (r *Reconciler) markMappingEvent(ev controller.Event) {
	if ev.InstanceID == nil {
		return
	}
	iid := *ev.InstanceID
	if r.Ctl.Mode(iid) != pipeline.ModeOnDemand {
		r.markMapping(iid, ev.EID)
		return
	}
	rec, err := ev.MappingRecord()
	if err != nil {
		r.markFlows(r.Ctl.XTRsServing(iid)...)
		return
	}
	r.markEID(r.interested(&rec, ev.Prev), rec.EID)
}

// interested lists the switches an on-demand record concerns, before and
// after a change: those it sits behind and those holding its host.
func (r *Reconciler) interested(rec, prev *mapping.Record) []string {
	var names []string
	for _, x := range []*mapping.Record{rec, prev} {
		if x == nil {
			continue
		}
		names = append(names, r.Ctl.Homes(x)...)
		if k, ok := macOf(x); ok {
			names = append(names, r.cache.holdersOf(k)...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// markEID marks EID e changed on the switches names.
func (r *Reconciler) markEID(names []string, e mapping.EID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		if r.dirtyFlow[n] {
			continue
		}
		m := r.dirtyEIDs[n]
		if m == nil {
			m = map[mapping.EID]bool{}
			r.dirtyEIDs[n] = m
		}
		if m[e] = true; len(m) > maxDeltaEIDs {
			delete(r.dirtyEIDs, n)
			r.dirtyFlow[n] = true
		}
	}
}

// inView says whether MAC EID e of an on-demand network belongs in the
// view of xTR x: it sits behind x, or x holds it. An entry for a host
// that became local, or is gone, leaves the cache.
func (r *Reconciler) inView(x controller.XTR, e mapping.EID) (mapping.Record, bool) {
	rec, ok := r.Ctl.Record(e)
	switch {
	case !ok:
		r.cache.uncache(x.Name, e)
		return rec, false
	case pipeline.LocalTo(&rec, x.Name, x.RLOC):
		r.cache.uncache(x.Name, e)
		return rec, true
	}
	return rec, r.cache.holds(x.Name, e)
}

// changes gives, for the changed EIDs of xTR x, the records its view now
// has for each (none: deleted), as pipeline.Incremental.Update takes them.
// In an on-demand network a MAC brings the addresses bound to it along,
// and only a MAC in the view (local or cached) has records there.
func (r *Reconciler) changes(x controller.XTR, changed map[mapping.EID]bool) map[mapping.EID][]mapping.Record {
	out := make(map[mapping.EID][]mapping.Record, len(changed))
	for e := range changed {
		if r.Ctl.Mode(e.IID) != pipeline.ModeOnDemand {
			out[e] = nil
			if rec, ok := r.Ctl.Record(e); ok {
				out[e] = []mapping.Record{rec}
			}
			continue
		}
		if e.Family() != mapping.FamilyMAC {
			out[e] = nil
			if rec, ok := r.Ctl.Record(e); ok && rec.HasMAC() {
				if _, in := r.inView(x, mapping.MACEID(e.IID, rec.MAC)); in {
					out[e] = []mapping.Record{rec}
				}
			}
			continue
		}
		rec, in := r.inView(x, e)
		out[e] = nil
		if in {
			out[e] = []mapping.Record{rec}
		}
		for _, ip := range r.Ctl.Bindings(e) {
			if _, dup := changed[ip]; dup {
				continue
			}
			out[ip] = nil
			if b, ok := r.Ctl.Record(ip); ok && in {
				out[ip] = []mapping.Record{b}
			}
		}
	}
	return out
}

// prepareCache brings switch name's map-cache up to date before its pass:
// read back from the switch when this term or connection has not yet,
// which makes the pass a full one, or evicted to make room for waiting
// misses. It returns the EIDs whose entries changed (to add to the pass)
// and whether the pass must be full.
func (r *Reconciler) prepareCache(ctx context.Context, name string, sw FlowSyncer) ([]mapping.EID, bool, error) {
	if !r.cache.loaded(name) {
		keep := func(e mapping.EID) bool { return r.keepEntry(name, e) }
		var flows []openflow.FlowStats
		if d, ok := sw.(flowDumper); ok && r.anyOnDemand(name) {
			var err error
			if flows, err = d.DumpFlows(ctx, mapCacheCookie, mapCacheMask); err != nil {
				return nil, true, fmt.Errorf("read map-cache: %w", err)
			}
		}
		if n := r.cache.adopt(name, flows, keep, time.Now()); n > 0 {
			r.Log.Info("map-cache read back from the switch", "xtr", name, "entries", n)
		}
		return nil, true, nil
	}
	if !r.cache.needsRoom(name) {
		return nil, false, nil
	}
	var flows []openflow.FlowStats
	if d, ok := sw.(flowDumper); ok {
		var err error
		if flows, err = d.DumpFlows(ctx, mapCacheCookie, mapCacheMask); err != nil {
			return nil, false, fmt.Errorf("read map-cache counters: %w", err)
		}
	}
	return r.cache.evict(name, flows, time.Now()), false, nil
}

// keepEntry says whether a map-cache flow read back from switch name is
// still one: a remote host of an on-demand network the switch serves.
func (r *Reconciler) keepEntry(name string, e mapping.EID) bool {
	x, err := r.Ctl.XTR(name)
	if err != nil || r.Ctl.Mode(e.IID) != pipeline.ModeOnDemand || !slices.Contains(r.Ctl.XTRsServing(e.IID), name) {
		return false
	}
	rec, ok := r.Ctl.Record(e)
	return ok && !pipeline.LocalTo(&rec, x.Name, x.RLOC)
}

// anyOnDemand says whether switch name serves an on-demand network.
func (r *Reconciler) anyOnDemand(name string) bool {
	v, ok := r.Ctl.BaseView(name)
	return ok && len(v.Modes) > 0
}

// cachedFor lists the entries of switch name in its on-demand networks.
func (r *Reconciler) cachedFor(name string) []mapping.EID { return r.cache.list(name) }

// Miss is a frame from an access port of xTR xtr, in instance-id iid,
// to a MAC the switch has no flow for: if the network forwards on demand
// and the MAC is a remote host, its entry is installed on that switch.
// It reports whether an entry was asked for.
func (r *Reconciler) Miss(xtr string, iid uint32, dst mapping.MAC) bool {
	r.init()
	if dst.IsMulticast() || r.Ctl.Mode(iid) != pipeline.ModeOnDemand {
		return false
	}
	x, err := r.Ctl.XTR(xtr)
	if err != nil {
		return false
	}
	e := mapping.MACEID(iid, dst)
	rec, ok := r.Ctl.Record(e)
	if !ok || pipeline.LocalTo(&rec, x.Name, x.RLOC) || !r.cache.miss(xtr, e, time.Now()) {
		return false
	}
	r.markEID([]string{xtr}, e)
	r.Kick()
	return true
}

// CacheRemoved notes that a map-cache flow of xTR xtr left the switch: an
// idle timeout. A removal the sync made itself (reason delete) is no news.
func (r *Reconciler) CacheRemoved(xtr string, fr openflow.FlowRemoved) {
	r.init()
	e, ok := entryOf(fr.Flow)
	if !ok || fr.Reason == openflow.RemovedDelete {
		return
	}
	if r.cache.removed(xtr, e) {
		// The answers for its addresses go with it.
		r.markEID([]string{xtr}, e)
		r.Kick()
	}
}

// MapCacheSize is how many remote hosts switch xtr holds.
func (r *Reconciler) MapCacheSize(xtr string) int {
	r.init()
	return r.cache.size(xtr)
}

// checkModes marks in full the switches of every network whose forwarding
// mode changed since it last looked (an auto network that crossed its
// threshold); a network's own change of mode comes as network.updated.
func (r *Reconciler) checkModes() {
	cur := r.Ctl.Modes()
	var changed []uint32
	for iid, m := range cur {
		if r.modes[iid] != m {
			changed = append(changed, iid)
		}
	}
	for iid, m := range r.modes {
		if cur[iid] != m {
			changed = append(changed, iid)
		}
	}
	r.modes = cur
	for _, iid := range changed {
		r.Log.Info("forwarding mode changed", "instance_id", iid, "mode", cur[iid].String())
		r.markFlows(r.Ctl.XTRsServing(iid)...)
	}
}

// Disconnected notes that xTR name's switch went away: it reflects
// nothing until it syncs again, and its map-cache is read back then.
func (r *Reconciler) Disconnected(name string) {
	r.init()
	r.mu.Lock()
	delete(r.synced, name)
	r.mu.Unlock()
	r.cache.forget(name)
}

// InSync reports whether xTR name's switch reflects every change of the
// feed this replica has applied.
func (r *Reconciler) InSync(name string) bool {
	r.init()
	pos := r.Ctl.LastEventID()
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.synced[name]
	return ok && at >= pos
}
