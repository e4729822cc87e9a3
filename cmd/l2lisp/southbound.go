package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/southbound/ovsdb"
)

// southbound bundles what talks to the switches: the OpenFlow listener,
// the OVSDB manager and the reconciler between them and the controller.
type southbound struct {
	ctl    *controller.Controller
	of     *openflow.Server
	ovs    *ovsdb.Manager
	rec    *controller.Reconciler
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	punts *controller.Punts
	learn controller.LearnConfig

	mu     sync.Mutex
	since  map[uint64]time.Time       // OpenFlow connection times by datapath-id
	meters map[uint64]map[uint32]bool // meters set on each switch's current connection
}

// learnFlags adds the host-learning flags of serve to fs.
func learnFlags(fs *flag.FlagSet, lc *controller.LearnConfig) {
	fs.BoolVar(&lc.Enabled, "learn", lc.Enabled, "learn hosts (MACs, ARP/ND bindings) from their traffic")
	fs.DurationVar(&lc.IdleTimeout, "learn-idle-timeout", lc.IdleTimeout, "silence after which a learned host ages out")
	fs.IntVar(&lc.MaxPerPort, "learn-max-per-port", lc.MaxPerPort, "learned MACs per access port (0: no limit)")
	fs.IntVar(&lc.DupMoves, "duplicate-moves", lc.DupMoves, "moves within --duplicate-window that freeze a MAC as duplicate (0: never)")
	fs.DurationVar(&lc.DupWindow, "duplicate-window", lc.DupWindow, "window of duplicate MAC detection")
	fs.Func("learn-punt-rate", fmt.Sprintf("packet-ins per second per access port, enforced by an OpenFlow meter; 0: no meter (default %d)", lc.MeterRate),
		func(v string) error { return parseUint32(v, &lc.MeterRate) })
	fs.Func("learn-punt-burst", fmt.Sprintf("burst of the per-port packet-in meter, packets (default %d)", lc.MeterBurst),
		func(v string) error { return parseUint32(v, &lc.MeterBurst) })
}

func parseUint32(v string, dst *uint32) error {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("want a number 0-4294967295: %w", err)
	}
	*dst = uint32(n)
	return nil
}

func startSouthbound(ctx context.Context, ctl *controller.Controller, cfg serveConfig, log *slog.Logger) (*southbound, error) {
	ln, err := net.Listen("tcp", cfg.ofListen)
	if err != nil {
		return nil, fmt.Errorf("openflow listen %s: %w", cfg.ofListen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &southbound{ctl: ctl, of: openflow.NewServer(log), ovs: ovsdb.NewManager(log.With("component", "ovsdb"), ovsdbOptions(&cfg.tls)...),
		log: log, cancel: cancel, since: map[uint64]time.Time{}, meters: map[uint64]map[uint32]bool{},
		learn: cfg.learn, punts: &controller.Punts{Ctl: ctl, Log: log.With("component", "learn")}}
	ctl.SetLearnConfig(cfg.learn)
	s.rec = &controller.Reconciler{Ctl: ctl, Log: log.With("component", "reconciler"), Prov: s.ovs,
		DefaultTarget: cfg.ofTarget, Switch: s.flowSwitch}
	s.of.Role = ofRoles[cfg.ofRole]
	s.of.OnConnect = s.connected
	s.of.OnDisconnect = s.disconnected
	s.of.OnPacketIn = s.packetIn
	s.of.OnFlowRemoved = s.flowRemoved
	ln = s.secureOpenFlow(ln, &cfg.tls)
	refused := newRefusals(ctl, log.With("component", "openflow"))
	s.of.OnRefused = refused.report
	if cfg.learn.Enabled {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.sweep(ctx) }()
	}
	s.wg.Add(4)
	go func() { defer s.wg.Done(); refused.run(ctx) }()
	go func() { defer s.wg.Done(); s.exportOVSDBState(ctx) }()
	go func() { defer s.wg.Done(); _ = s.of.Serve(ctx, ln) }()
	go func() { defer s.wg.Done(); s.rec.Run(ctx) }()
	return s, nil
}

func (s *southbound) flowSwitch(dpid uint64) (controller.FlowSyncer, bool) {
	sw, ok := s.of.Switch(dpid)
	if !ok || !sw.Connected() {
		return nil, false
	}
	return meteredSwitch{s: s, sw: sw}, true
}

func (s *southbound) xtrOf(dpid uint64) string {
	for _, x := range s.ctl.XTRs() {
		if x.DatapathID == dpid {
			return x.Name
		}
	}
	return ""
}

func (s *southbound) connected(sw *openflow.Switch) {
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
	go s.emit(controller.EvXTRUp, name)
}

func (s *southbound) disconnected(sw *openflow.Switch) {
	s.mu.Lock()
	delete(s.meters, sw.DPID())
	delete(s.since, sw.DPID())
	s.mu.Unlock()
	if name := s.xtrOf(sw.DPID()); name != "" {
		metrics.XTRConnected.WithLabelValues(name, "openflow").Set(0)
		go s.emit(controller.EvXTRDown, name)
	}
}

func (s *southbound) emit(typ, name string) {
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

// XTRStatus reports the connection state of one xTR for the REST API.
func (s *southbound) XTRStatus(name string) northbound.XTRStatus {
	var st northbound.XTRStatus
	os := s.ovs.State(name)
	st.OVSDB = northbound.ConnState{Connected: os.Connected, LastError: os.LastError}
	if !os.LastApplied.IsZero() {
		st.OVSDB.Since = os.LastApplied
	}
	x, err := s.ctl.XTR(name)
	if err != nil {
		return st
	}
	if sw, ok := s.of.Switch(x.DatapathID); ok && sw.Connected() {
		s.mu.Lock()
		st.OpenFlow = northbound.ConnState{Connected: true, Since: s.since[x.DatapathID]}
		s.mu.Unlock()
		st.Flows = sw.FlowCount()
	}
	return st
}

// Routes adds the metrics endpoint to the REST server.
func (s *southbound) Routes(r *gin.Engine) {
	r.GET("/metrics", gin.WrapH(metrics.Handler()))
}

// Close stops the listener, the reconciler and the OVSDB connections.
func (s *southbound) Close() {
	s.cancel()
	s.wg.Wait()
	s.ovs.Close()
}

// ofRoles maps the --openflow-role values to OpenFlow roles.
var ofRoles = map[string]openflow.Role{"equal": openflow.RoleEqual, "master": openflow.RoleMaster, "slave": openflow.RoleSlave}

// exportOVSDBState keeps the xtr_connected{conn="ovsdb"} gauge current; the
// OpenFlow one is set on connect and disconnect.
func (s *southbound) exportOVSDBState(ctx context.Context) {
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
