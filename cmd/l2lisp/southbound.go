package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/reconcile"
)

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

// mapCacheFlags adds the flags of on-demand forwarding to fs.
func mapCacheFlags(fs *flag.FlagSet, mc *reconcile.MapCacheConfig) {
	fs.IntVar(&mc.Size, "map-cache-size", envInt("L2LISP_MAP_CACHE_SIZE", mc.Size),
		"remote hosts of on-demand networks one switch may hold; at the cap the idlest are evicted (env L2LISP_MAP_CACHE_SIZE)")
	fs.DurationVar(&mc.Idle, "map-cache-idle", envDuration("L2LISP_MAP_CACHE_IDLE", mc.Idle),
		"an installed remote host unused this long leaves the switch, 1s-18h (env L2LISP_MAP_CACHE_IDLE)")
	fs.Func("map-cache-miss-rate", fmt.Sprintf("frames per second to unknown hosts a switch copies to the controller, enforced by an OpenFlow meter; 0: no meter (default %d)", mc.MissRate),
		func(v string) error { return parseUint32(v, &mc.MissRate) })
	fs.Func("map-cache-miss-burst", fmt.Sprintf("burst of the miss meter, packets (default %d)", mc.MissBurst),
		func(v string) error { return parseUint32(v, &mc.MissBurst) })
}

func parseUint32(v string, dst *uint32) error {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("want a number 0-4294967295: %w", err)
	}
	*dst = uint32(n)
	return nil
}

// switchStatus shows the southbound's view of an xTR to the REST API.
type switchStatus struct{ sb *reconcile.Southbound }

func (s switchStatus) XTRStatus(name string) northbound.XTRStatus {
	st := s.sb.Status(name)
	conn := func(c reconcile.ConnState) northbound.ConnState {
		return northbound.ConnState{Connected: c.Connected, Since: c.Since, LastError: c.LastError, Role: c.Role}
	}
	return northbound.XTRStatus{OVSDB: conn(st.OVSDB), OpenFlow: conn(st.OpenFlow), Flows: st.Flows,
		MapCache: st.MapCache, InSync: st.InSync}
}
