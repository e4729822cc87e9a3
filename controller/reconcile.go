package controller

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/southbound/ovsdb"
)

// FlowSyncer is an OpenFlow switch connection that can be made to hold a
// given set of flows and groups (sending only the difference). Apply
// changes only the entries a delta names, relative to the last successful
// Sync on the same connection; it fails with openflow.ErrNeedSync when
// there is none.
type FlowSyncer interface {
	Sync(ctx context.Context, flows []openflow.Flow, groups []openflow.GroupEntry) (openflow.SyncResult, error)
	Apply(ctx context.Context, d openflow.Delta) (openflow.SyncResult, error)
}

// Provisioner keeps each xTR's bridge, tunnel port and access ports in
// place over OVSDB.
type Provisioner interface {
	Ensure(ctx context.Context, name, endpoint string, d ovsdb.Desired) error
	Delete(ctx context.Context, name string) error
}

// TunnelPortName is the name of the LISP tunnel port on every bridge.
const TunnelPortName = "lisp0"

// Reconciler makes every switch hold what the mapping database implies. It
// follows the change feed, marks the xTRs a change affects, and for each
// recomputes the desired state and pushes only the difference, so a
// controller restart or a switch reconnection replays exactly what is needed.
type Reconciler struct {
	Ctl           *Controller
	Log           *slog.Logger
	Switch        func(dpid uint64) (FlowSyncer, bool)
	Prov          Provisioner // nil: no OVSDB provisioning
	DefaultTarget string      // OpenFlow target for xTRs without their own

	mu        sync.Mutex
	dirtyFlow map[string]bool // full recompute
	dirtyOVS  map[string]bool
	// dirtyEIDs are, per xTR not marked in dirtyFlow, the MAC EIDs that
	// changed; incr the compiled state those changes are applied to.
	dirtyEIDs map[string]map[mapping.EID]bool
	incr      map[string]*Incremental
	kick      chan struct{}
	// synced notes, per xTR, the feed position its switch last reflected;
	// benchmarks and tests wait on it.
	synced map[string]int64
	cond   *sync.Cond
}

// syncWorkers bounds how many switches are synced at once.
const syncWorkers = 16

// Run works until ctx is done.
func (r *Reconciler) Run(ctx context.Context) {
	r.init()
	for {
		events, cancel := r.Ctl.Subscribe(65536)
		r.markAll()
		r.loop(ctx, events)
		cancel()
		if ctx.Err() != nil {
			return
		}
		r.Log.Warn("reconciler fell behind the change feed; resyncing everything")
	}
}

func (r *Reconciler) init() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kick == nil {
		r.kick = make(chan struct{}, 1)
		r.dirtyFlow, r.dirtyOVS, r.synced = map[string]bool{}, map[string]bool{}, map[string]int64{}
		r.dirtyEIDs, r.incr = map[string]map[mapping.EID]bool{}, map[string]*Incremental{}
		r.cond = sync.NewCond(&r.mu)
	}
}

// loop returns when ctx is done or the subscription was dropped.
func (r *Reconciler) loop(ctx context.Context, events <-chan Event) {
	retry := time.NewTicker(2 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			r.mark(ev)
			// Coalesce a burst of changes into one pass per switch.
			for drained := false; !drained; {
				select {
				case ev, ok := <-events:
					if !ok {
						return
					}
					r.mark(ev)
				default:
					drained = true
				}
			}
		case <-r.kick:
		case <-retry.C:
		}
		r.pass(ctx)
	}
}

// mark records which xTRs an event affects.
func (r *Reconciler) mark(ev Event) {
	switch ev.Type {
	case EvMappingCreated, EvMappingUpdated, EvMappingMoved, EvMappingDeleted:
		if ev.InstanceID != nil {
			r.markMapping(*ev.InstanceID, ev.EID)
		}
	case EvPortBound, EvPortUnbound:
		r.markFlows(ev.XTR)
		r.markOVS(ev.XTR)
	case EvXTRCreated, EvXTRDeleted:
		r.markOVS(ev.XTR)
		r.markAllFlows()
	case EvNetworkCreated, EvNetworkDeleted, EvSiteCreated, EvSiteUpdated, EvSiteDeleted:
		r.markAllFlows()
	}
}

func (r *Reconciler) markFlows(names ...string) {
	r.mu.Lock()
	for _, n := range names {
		r.dirtyFlow[n] = true
		delete(r.dirtyEIDs, n)
	}
	r.mu.Unlock()
}

func (r *Reconciler) markOVS(name string) {
	r.mu.Lock()
	r.dirtyOVS[name] = true
	r.mu.Unlock()
}

func (r *Reconciler) markAllFlows() {
	for _, x := range r.Ctl.XTRs() {
		r.markFlows(x.Name)
	}
}

func (r *Reconciler) markAll() {
	for _, x := range r.Ctl.XTRs() {
		r.markFlows(x.Name)
		r.markOVS(x.Name)
	}
}

// SwitchConnected is called when an OpenFlow connection comes up: the first
// Sync after a connection reads the switch's flows and sends the difference.
func (r *Reconciler) SwitchConnected(dpid uint64) { r.Resync(dpid) }

// Resync asks for a full pass over one switch, for when it may have lost a
// flow behind the incremental path's back (a flow-removed, say).
func (r *Reconciler) Resync(dpid uint64) {
	for _, x := range r.Ctl.XTRs() {
		if x.DatapathID == dpid {
			r.markFlows(x.Name)
		}
	}
	r.Kick()
}

// Kick asks for a pass soon.
func (r *Reconciler) Kick() {
	r.init()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// pass handles everything marked so far.
func (r *Reconciler) pass(ctx context.Context) {
	pos := r.Ctl.LastEventID()
	r.mu.Lock()
	flows, ovs, eids := r.dirtyFlow, r.dirtyOVS, r.dirtyEIDs
	r.dirtyFlow, r.dirtyOVS, r.dirtyEIDs = map[string]bool{}, map[string]bool{}, map[string]map[mapping.EID]bool{}
	r.mu.Unlock()
	for name := range eids {
		if !flows[name] {
			flows[name] = false // changed EIDs only
		}
	}
	for name := range ovs {
		r.provision(ctx, name)
	}
	sem := make(chan struct{}, syncWorkers)
	var wg sync.WaitGroup
	for name, full := range flows {
		wg.Add(1)
		sem <- struct{}{}
		var changed map[mapping.EID]bool
		if !full {
			changed = eids[name]
		}
		go func(name string) {
			defer func() { <-sem; wg.Done() }()
			if !r.syncFlows(ctx, name, pos, changed) {
				r.markFlows(name) // retried on the next pass, in full
			}
		}(name)
	}
	wg.Wait()
}

func (r *Reconciler) provision(ctx context.Context, name string) {
	if r.Prov == nil {
		return
	}
	x, err := r.Ctl.XTR(name)
	if err != nil {
		if err := r.Prov.Delete(ctx, name); err != nil {
			r.Log.Warn("remove xTR from switch", "xtr", name, "err", err)
		}
		return
	}
	if x.OVSDB == "" {
		return
	}
	if err := r.Prov.Ensure(ctx, name, x.OVSDB, r.desired(x)); err != nil {
		r.Log.Warn("provision xTR", "xtr", name, "err", err)
	}
}

func (r *Reconciler) desired(x XTR) ovsdb.Desired {
	target := x.OpenFlowTarget
	if target == "" {
		target = r.DefaultTarget
	}
	d := ovsdb.Desired{Bridge: x.Bridge, DatapathType: x.DatapathType, DatapathID: x.DatapathID,
		TunnelPort: TunnelPortName, TunnelOFPort: TunnelOFPort, LocalRLOC: x.RLOC}
	if target != "" {
		// Every replica configures the same list, so they never undo each
		// other's OVSDB writes.
		d.Controllers = strings.Split(target, ",")
	}
	d.SSL = switchSSL(x, d.Controllers)
	ports, _ := r.Ctl.Ports(x.Name)
	for _, p := range ports {
		d.AccessPorts = append(d.AccessPorts, ovsdb.AccessPort{Name: p.Name, OFPort: int(p.OFPort)})
	}
	return d
}

// syncFlows pushes one xTR's flows, only those of the changed MAC EIDs
// when given and possible; false means try again later.
func (r *Reconciler) syncFlows(ctx context.Context, name string, pos int64, changed map[mapping.EID]bool) bool {
	x, err := r.Ctl.XTR(name)
	if err != nil {
		r.setIncr(name, nil)
		return true // deleted: OVSDB removal takes its bridge away
	}
	sw, ok := r.Switch(x.DatapathID)
	if !ok {
		r.setIncr(name, nil) // what it holds on return is read back
		return true          // not connected: synced on connection
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, done, err := r.syncDelta(sctx, name, sw, changed)
	if !done && err == nil {
		res, err = r.syncFull(sctx, name, sw)
	}
	if err != nil {
		r.setIncr(name, nil)
		r.Log.Warn("sync flows", "xtr", name, "err", err)
		return false
	}
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
	r.cond.Broadcast()
	r.mu.Unlock()
	return true
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
