package reconcile

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
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

// Reconciler makes every switch hold what the mapping database implies. It
// follows the change feed, marks the xTRs a change affects, and for each
// recomputes the desired state and pushes only the difference, so a
// controller restart or a switch reconnection replays exactly what is needed.
type Reconciler struct {
	Ctl           State
	Log           *slog.Logger
	Switch        func(dpid uint64) (FlowSyncer, bool)
	Prov          Provisioner // nil: no OVSDB provisioning
	DefaultTarget string      // OpenFlow target for xTRs without their own
	// SyncTimeout bounds every call to one switch (default 20 s), so a
	// hung switch holds up only its own xTR.
	SyncTimeout time.Duration
	// ResyncEvery is how often every switch's flows are read back and
	// compared in full, to catch drift nothing reported (default 10 min;
	// negative: never).
	ResyncEvery time.Duration
	// MapCache tunes on-demand forwarding (mapcache.go); zero: defaults.
	MapCache MapCacheConfig

	mu        sync.Mutex
	dirtyFlow map[string]bool // full recompute
	dirtyOVS  map[string]bool
	// dirtyEIDs are, per xTR not marked in dirtyFlow, the MAC EIDs that
	// changed; incr the compiled state those changes are applied to.
	dirtyEIDs map[string]map[mapping.EID]bool
	incr      map[string]*pipeline.Incremental
	cache     *mapCache                // on-demand networks' entries per switch
	modes     map[uint32]pipeline.Mode // of the networks, as last looked at
	kick      chan struct{}
	// synced notes, per xTR, the feed position its switch last reflected;
	// benchmarks and tests wait on it.
	synced map[string]int64
	cond   *sync.Cond
	marked int64 // the marks reflect the feed up to this event id
	// busy marks the xTRs with a sync under way: each xTR has at most one,
	// and nobody waits for it but that xTR's next pass.
	busy   map[string]bool
	status map[string]*SyncStatus
	sem    chan struct{}
	wg     sync.WaitGroup
	// inactive: a standby replica's Reconciler syncs nothing (active.go);
	// term is the context of the current term's syncs.
	inactive bool
	term     context.Context
	stopTerm context.CancelFunc
	mh       multihomeState // DF hand-over and LAN announcements (multihome.go)
}

// syncWorkers bounds how many switches are synced at once.
const syncWorkers = 16

// Defaults of the Reconciler's timing.
const (
	DefaultSyncTimeout = 20 * time.Second
	DefaultResyncEvery = 10 * time.Minute
	retryEvery         = 2 * time.Second
	maxBackoff         = time.Minute
)

// Run works until ctx is done.
func (r *Reconciler) Run(ctx context.Context) {
	r.init()
	for {
		events, cancel := r.Ctl.Subscribe(65536)
		// Everything up to here is covered by marking every switch;
		// later events arrive on the subscription.
		r.markedThrough(r.Ctl.LastEventID())
		r.modes = r.Ctl.Modes()
		r.markAll()
		r.loop(ctx, events)
		cancel()
		if ctx.Err() != nil {
			r.wg.Wait()
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
		r.dirtyEIDs, r.incr = map[string]map[mapping.EID]bool{}, map[string]*pipeline.Incremental{}
		r.busy, r.status = map[string]bool{}, map[string]*SyncStatus{}
		r.sem = make(chan struct{}, syncWorkers)
		r.initMultihome()
		r.cond = sync.NewCond(&r.mu)
		if r.MapCache == (MapCacheConfig{}) {
			r.MapCache = DefaultMapCacheConfig()
		}
		r.cache, r.modes = newMapCache(r.MapCache), map[uint32]pipeline.Mode{}
		if r.SyncTimeout <= 0 {
			r.SyncTimeout = DefaultSyncTimeout
		}
		if r.ResyncEvery == 0 {
			r.ResyncEvery = DefaultResyncEvery
		}
	}
}

// loop returns when ctx is done or the subscription was dropped.
func (r *Reconciler) loop(ctx context.Context, events <-chan controller.Event) {
	retry := time.NewTicker(retryEvery)
	defer retry.Stop()
	var resync <-chan time.Time
	if r.ResyncEvery > 0 {
		t := time.NewTicker(r.ResyncEvery)
		defer t.Stop()
		resync = t.C
	}
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
			r.checkModes()
		case <-resync:
			r.rereadAll()
		}
		r.pass(ctx)
	}
}

// mark records which xTRs an event affects.
func (r *Reconciler) mark(ev controller.Event) {
	defer r.markedThrough(ev.ID)
	if r.markStatus(ev) {
		return
	}
	switch ev.Type {
	case controller.EvMappingCreated, controller.EvMappingUpdated, controller.EvMappingMoved, controller.EvMappingDeleted:
		r.markMappingEvent(ev)
	case controller.EvPortBound, controller.EvPortUnbound:
		r.markFlows(ev.XTR)
		r.markOVS(ev.XTR)
	case controller.EvXTRCreated, controller.EvXTRDeleted:
		r.markOVS(ev.XTR)
		r.markAllOVS() // BFD sessions with the new RLOC
		r.markAllFlows()
	case controller.EvNetworkUpdated:
		// A new encapsulation: the switches serving the network get its
		// tunnel port and its flows; the others have nothing of it.
		if ev.InstanceID != nil {
			names := r.Ctl.XTRsServing(*ev.InstanceID)
			r.markFlows(names...)
			for _, n := range names {
				r.markOVS(n)
			}
		}
	case controller.EvSiteCreated, controller.EvSiteUpdated, controller.EvSiteDeleted:
		// The networks served, hence the tunnel ports in use, may change,
		// and every switch holds a BFD port per peer RLOC.
		r.markAllOVS()
		r.markAllFlows()
	case controller.EvNetworkCreated, controller.EvNetworkDeleted:
		r.markAllOVS()
		r.markAllFlows()
	}
}

// markedThrough notes that the marks reflect the feed up to event id pos: a
// pass that syncs a switch can then say that its switch reflects pos. The
// feed position the controller has applied may be ahead, with events not
// yet delivered to (and marked by) the reconciler.
func (r *Reconciler) markedThrough(pos int64) {
	r.mu.Lock()
	r.marked = max(r.marked, pos)
	r.wakeLocked() // an idle switch may now count as caught up (WaitCaughtUp)
	r.mu.Unlock()
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
func (r *Reconciler) SwitchConnected(dpid uint64) { r.resync(dpid, true) }

// Resync asks for a full pass over one switch, for when it may have lost a
// flow behind the incremental path's back (a flow-removed, say).
func (r *Reconciler) Resync(dpid uint64) { r.resync(dpid, false) }

// resync is Resync; reconnected makes the switch's map-cache be read
// back from it first.
func (r *Reconciler) resync(dpid uint64, reconnected bool) {
	r.init()
	if x, ok := r.Ctl.XTRByDatapath(dpid); ok {
		if reconnected {
			r.cache.forget(x.Name)
		}
		r.forgetDF(x.Name)
		r.markFlows(x.Name)
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
