package reconcile

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/ovsdb"
)

// Multihomed sites (docs/pipeline.md): the designated forwarder of an
// instance-id changes hands break-before-make, and the LAN is told where
// remote hosts are now reached.
//
// The DF gate. Two xTRs of a site flooding the same instance-id at once
// would each put the other's BUM on the shared LAN, where the other sees a
// remote host's frame on an access port. So an xTR whose view makes it DF
// of an instance-id it does not hold yet gets it only once no connected
// mate's switch holds it any more (dfHeld, what each switch was last
// synced with). Until then it is compiled as non-DF and synced again when
// a mate lets go. A mate whose switch is not connected holds nothing: if
// it is dead it floods nothing; if only its controller connection is gone
// nothing can take its flows away anyway.

// multihomeState is the Reconciler's bookkeeping for multihomed sites.
type multihomeState struct {
	held     map[string]map[uint32]bool        // DF iids each switch was last synced with
	pending  map[string]map[uint32]bool        // DF iids of the sync under way
	waiting  map[string]bool                   // xTRs that wait for a mate to let go
	carrying map[string]map[string]bool        // per xTR, the mates that carried traffic at its last sync
	status   map[netip.Addr]pipeline.RLOCState // RLOC status the marks last reflected; nil: unknown
	rounds   int                               // second rounds of announcements pending (announce.go)
}

func (r *Reconciler) initMultihome() {
	r.mh = multihomeState{held: map[string]map[uint32]bool{}, pending: map[string]map[uint32]bool{},
		waiting: map[string]bool{}, carrying: map[string]map[string]bool{}}
}

// markStatus marks what a status event changes. Views see the status of
// RLOCs only through the set of those down or drained (RLOCState, mates'
// liveness, the DF election), so every switch is recompiled when that set
// changed, and none when it did not (a BFD report that changes no
// judgement, say).
func (r *Reconciler) markStatus(ev controller.Event) bool {
	switch ev.Type {
	case controller.EvXTRUp, controller.EvXTRDown, controller.EvBFDStatus,
		controller.EvXTRDrained, controller.EvXTRUndrained:
	default:
		return false
	}
	cur := r.Ctl.RLOCStatus()
	r.mu.Lock()
	same := r.mh.status != nil && maps.Equal(cur, r.mh.status)
	r.mh.status = cur
	if r.mh.status == nil {
		r.mh.status = map[netip.Addr]pipeline.RLOCState{}
	}
	r.mu.Unlock()
	if !same {
		r.markAllFlows()
	}
	return true
}

// markAllOVS re-provisions every bridge: the BFD sessions of each depend on
// the other xTRs and the sites' networks.
func (r *Reconciler) markAllOVS() {
	for _, x := range r.Ctl.XTRs() {
		r.markOVS(x.Name)
	}
}

// gateDF withholds from v the DF instance-ids a connected mate's switch
// still holds, and notes what the sync will hold.
func (r *Reconciler) gateDF(name string, v pipeline.SwitchView) pipeline.SwitchView {
	if len(v.Mates) == 0 {
		r.mu.Lock()
		delete(r.mh.pending, name)
		r.mu.Unlock()
		return v
	}
	connected := map[string]bool{}
	for _, m := range v.Mates {
		if x, err := r.Ctl.XTR(m.Name); err == nil {
			_, connected[m.Name] = r.Switch(x.DatapathID)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := map[uint32]bool{}
	blocked := false
	for _, iid := range v.DF {
		free := r.mh.held[name][iid] || !slices.ContainsFunc(v.Mates, func(m pipeline.Mate) bool {
			return connected[m.Name] && r.mh.held[m.Name][iid]
		})
		if free {
			keep[iid] = true
		} else {
			blocked = true
		}
	}
	v.DF = slices.Sorted(maps.Keys(keep))
	r.mh.pending[name] = keep
	if blocked {
		r.mh.waiting[name] = true
	} else {
		delete(r.mh.waiting, name)
	}
	return v
}

// dfSynced records what a switch holds after a successful sync and, when
// it let go of an instance-id, marks the xTRs waiting for one. It returns
// the instance-ids it gained.
func (r *Reconciler) dfSynced(name string) []uint32 {
	r.mu.Lock()
	now, before := r.mh.pending[name], r.mh.held[name]
	delete(r.mh.pending, name)
	if now == nil {
		delete(r.mh.held, name)
	} else {
		r.mh.held[name] = now
	}
	var gained []uint32
	for iid := range now {
		if !before[iid] {
			gained = append(gained, iid)
		}
	}
	released := false
	for iid := range before {
		released = released || !now[iid]
	}
	var wake []string
	if released {
		wake = slices.Collect(maps.Keys(r.mh.waiting))
	}
	r.mu.Unlock()
	if len(wake) > 0 {
		r.markFlows(wake...)
		r.Kick()
	}
	slices.Sort(gained)
	return gained
}

// forgetDF drops what an xTR's switch was known to hold: it is not
// connected, or has just connected again and will be synced from scratch.
func (r *Reconciler) forgetDF(name string) {
	r.mu.Lock()
	delete(r.mh.held, name)
	delete(r.mh.pending, name)
	r.mu.Unlock()
}

// desiredBFD puts an xTR's BFD sessions into its desired bridge.
func (r *Reconciler) desiredBFD(d *ovsdb.Desired, name string) {
	cfg := r.Ctl.BFDConfig()
	if !cfg.Enabled {
		return
	}
	for _, p := range r.Ctl.BFDPeers(name) {
		d.BFD = append(d.BFD, ovsdb.BFDSession{Peer: p.RLOC, OFPort: int(p.OFPort)})
	}
	d.BFDTimers = ovsdb.BFDTimers{MinRx: cfg.MinRx, MinTx: cfg.MinTx, Mult: cfg.Mult}
}
