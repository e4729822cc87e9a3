package reconcile

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/southbound/ovsdb"
)

// Config says how the southbound listens and what it tells the switches.
type Config struct {
	OpenFlowListen string        // host:port of the OpenFlow listener
	OpenFlowTarget string        // comma-separated controller targets xTRs are given
	Role           openflow.Role // asked of every switch unless the role is elected
	// Cluster, when set, says whether this replica leads: an elected
	// leader asks every switch for MASTER and programs it, a standby asks
	// for SLAVE and only watches (leader.go). Nil: a single node.
	Cluster Leadership
	Learn   controller.LearnConfig
	Log     *slog.Logger
	// OpenFlowTLS, when set, is the mutual-TLS server configuration of the
	// OpenFlow listener: switches must present a certificate of the CA
	// whose common name is a stored xTR, and that xTR's datapath-id.
	OpenFlowTLS *tls.Config
	// OVSDB are the options of every OVSDB connection (TLS for ssl:).
	OVSDB []ovsdb.Option
	// MapCache tunes on-demand forwarding; zero: DefaultMapCacheConfig.
	MapCache MapCacheConfig
}

// Roles maps the names of OpenFlow roles (as flags give them) to roles.
var Roles = map[string]openflow.Role{"equal": openflow.RoleEqual, "master": openflow.RoleMaster, "slave": openflow.RoleSlave}

// Southbound is everything that talks to the switches: the OpenFlow
// listener, the OVSDB manager, the Reconciler between them and the
// controller, and the handlers of what switches report.
type Southbound struct {
	ctl   Learner
	of    *openflow.Server
	ln    net.Listener
	ovs   *ovsdb.Manager
	rec   *Reconciler
	punts *Punts
	learn controller.LearnConfig
	// mapCache sets the miss meter of each switch (meters.go).
	mapCache MapCacheConfig
	log      *slog.Logger
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	cluster   Leadership
	fixedRole openflow.Role

	mu     sync.Mutex
	active bool                       // this replica programs the switches
	since  map[uint64]time.Time       // OpenFlow connection times by datapath-id
	meters map[uint64]map[uint32]bool // meters set on each switch's current connection
}

// Start listens for OpenFlow and starts reconciling; Close stops it.
func Start(ctx context.Context, ctl Learner, cfg Config) (*Southbound, error) {
	ln, err := net.Listen("tcp", cfg.OpenFlowListen)
	if err != nil {
		return nil, fmt.Errorf("openflow listen %s: %w", cfg.OpenFlowListen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	log := cfg.Log
	s := &Southbound{ctl: ctl, ln: ln, of: openflow.NewServer(log), ovs: ovsdb.NewManager(log.With("component", "ovsdb"), cfg.OVSDB...),
		log: log, cancel: cancel, since: map[uint64]time.Time{}, meters: map[uint64]map[uint32]bool{},
		learn: cfg.Learn, punts: &Punts{Ctl: ctl, Log: log.With("component", "learn")}}
	if cfg.MapCache == (MapCacheConfig{}) {
		cfg.MapCache = DefaultMapCacheConfig()
	}
	s.mapCache = cfg.MapCache
	s.rec = &Reconciler{Ctl: ctl, Log: log.With("component", "reconciler"), Prov: s.ovs,
		DefaultTarget: cfg.OpenFlowTarget, Switch: s.flowSwitch, MapCache: cfg.MapCache}
	s.cluster, s.fixedRole = cfg.Cluster, cfg.Role
	if s.fixedRole == 0 {
		s.fixedRole = openflow.RoleEqual
	}
	var active bool
	s.of.Role, s.of.GenerationID, active = s.roleFor(s.leadership())
	s.active = active
	s.rec.SetActive(active)
	s.of.OnRole = s.roleGranted
	s.of.OnConnect = s.connected
	s.of.OnDisconnect = s.disconnected
	s.of.OnPacketIn = s.packetIn
	s.of.OnFlowRemoved = s.flowRemoved
	if cfg.OpenFlowTLS != nil {
		s.of.Admit = openflow.AdmitByName(func(name string) (uint64, bool) {
			x, err := ctl.XTR(name)
			return x.DatapathID, err == nil
		})
		ln = tls.NewListener(ln, cfg.OpenFlowTLS)
	}
	refused := newRefusals(ctl, log.With("component", "openflow"))
	s.of.OnRefused = refused.report
	bfd := newBFDReporter(ctl, log.With("component", "bfd"))
	s.ovs.OnBFD(bfd.report)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); bfd.run(ctx) }()
	if g, ok := ctl.(multihomeGauges); ok {
		go func() { defer s.wg.Done(); exportMultihome(ctx, g) }()
	} else {
		s.wg.Done()
	}
	if cfg.Learn.Enabled {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.sweep(ctx) }()
	}
	if s.cluster != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.followLeadership(ctx) }()
	}
	s.wg.Add(4)
	go func() { defer s.wg.Done(); refused.run(ctx) }()
	go func() { defer s.wg.Done(); s.exportOVSDBState(ctx) }()
	go func() { defer s.wg.Done(); _ = s.of.Serve(ctx, ln) }()
	go func() { defer s.wg.Done(); s.rec.Run(ctx) }()
	return s, nil
}

// Close stops the listener, the reconciler and the OVSDB connections.
func (s *Southbound) Close() {
	s.cancel()
	s.wg.Wait()
	s.ovs.Close()
}

// OpenFlowAddr is the address the OpenFlow listener is bound to.
func (s *Southbound) OpenFlowAddr() net.Addr { return s.ln.Addr() }

// Reconciler is the reconciler the southbound drives (for tests and
// benchmarks that wait on it).
func (s *Southbound) Reconciler() *Reconciler { return s.rec }

func (s *Southbound) flowSwitch(dpid uint64) (FlowSyncer, bool) {
	// A replica whose term has run out stops at once, even before the
	// Reconciler hears of it.
	if st := s.leadership(); st.Elected && !st.Leader {
		return nil, false
	}
	sw, ok := s.of.Switch(dpid)
	// A switch that holds this replica as SLAVE refuses its flow-mods:
	// it is programmed once it grants MASTER (roleGranted).
	if !ok || !sw.Connected() || sw.Role() == openflow.RoleSlave {
		return nil, false
	}
	return meteredSwitch{s: s, sw: sw}, true
}

func (s *Southbound) xtrOf(dpid uint64) string {
	x, _ := s.ctl.XTRByDatapath(dpid)
	return x.Name
}

func (s *Southbound) connected(sw *openflow.Switch) {
	s.mu.Lock()
	delete(s.meters, sw.DPID())
	s.since[sw.DPID()] = time.Now().UTC()
	s.mu.Unlock()
	name := s.xtrOf(sw.DPID())
	if name == "" {
		s.log.Warn("OpenFlow connection from an unknown datapath", "dpid", fmt.Sprintf("%016x", sw.DPID()))
		return
	}
	metrics.XTRConnected.WithLabelValues(name, "openflow").Set(1)
	s.rec.SwitchConnected(sw.DPID())
	if s.leading() { // one replica tells the feed
		go s.emit(controller.EvXTRUp, name)
	}
}

func (s *Southbound) disconnected(sw *openflow.Switch) {
	s.mu.Lock()
	delete(s.meters, sw.DPID())
	delete(s.since, sw.DPID())
	s.mu.Unlock()
	if name := s.xtrOf(sw.DPID()); name != "" {
		s.rec.Disconnected(name)
		metrics.XTRConnected.WithLabelValues(name, "openflow").Set(0)
		if s.leading() {
			go s.emit(controller.EvXTRDown, name)
		}
	}
}

func (s *Southbound) emit(typ, name string) {
	x, err := s.ctl.XTR(name)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ctl.Emit(ctx, typ, nil, "", x.Site, name, map[string]string{"rloc": x.RLOC.String()}); err != nil {
		s.log.Debug("emit event", "type", typ, "err", err)
	}
}

// ConnState is the state of one connection to a switch.
type ConnState struct {
	Connected bool
	Since     time.Time
	LastError string
	Role      string // OpenFlow: the role the switch granted this replica
}

// SwitchStatus is what the southbound knows of one xTR's switch.
type SwitchStatus struct {
	OVSDB, OpenFlow ConnState
	Flows           int
	MapCache        int  // remote hosts of on-demand networks it holds
	InSync          bool // it reflects every change this replica applied
}

// Status reports the connection state of one xTR.
func (s *Southbound) Status(name string) SwitchStatus {
	var st SwitchStatus
	os := s.ovs.State(name)
	st.OVSDB = ConnState{Connected: os.Connected, LastError: os.LastError, Since: os.LastApplied}
	x, err := s.ctl.XTR(name)
	if err != nil {
		return st
	}
	st.MapCache, st.InSync = s.rec.MapCacheSize(name), s.rec.InSync(name)
	if sw, ok := s.of.Switch(x.DatapathID); ok && sw.Connected() {
		s.mu.Lock()
		st.OpenFlow = ConnState{Connected: true, Since: s.since[x.DatapathID], Role: sw.Role().String()}
		s.mu.Unlock()
		st.Flows = sw.FlowCount()
	}
	return st
}

// exportOVSDBState keeps the xtr_connected{conn="ovsdb"} gauge current; the
// OpenFlow one is set on connect and disconnect.
func (s *Southbound) exportOVSDBState(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		for _, x := range s.ctl.XTRs() {
			v := 0.0
			if s.ovs.State(x.Name).Connected {
				v = 1
			}
			metrics.XTRConnected.WithLabelValues(x.Name, "ovsdb").Set(v)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
