package reconcile

import (
	"context"
	"maps"
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
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

// afterSync runs once a switch holds what its sync sent: it records the
// DF instance-ids the switch now holds and sends the LAN announcements
// that a DF gain or a mate stopping carrying traffic call for.
func (r *Reconciler) afterSync(ctx context.Context, name string, sw FlowSyncer) {
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
