package metrics

import "github.com/prometheus/client_golang/prometheus"

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "l2lisp", Name: name, Help: help}, labels)
	Registry.MustRegister(g)
	return g
}

// Multihoming and fast RLOC failover.
var (
	// BFDSessions counts each xTR's BFD sessions by state (up, down), as
	// its switch last reported them.
	BFDSessions = gaugeVec("bfd_sessions", "BFD sessions of each xTR's bridge with the other RLOCs, by state.", "xtr", "state")
	// LocatorUp is 1 while the controller holds the xTR's locator reachable
	// (OpenFlow connection and BFD), 0 while it marks it down.
	LocatorUp = gaugeVec("locator_up", "1 while the xTR's RLOC is held reachable, 0 while marked down.", "xtr")
	// XTRDrained is 1 while the xTR is drained for maintenance.
	XTRDrained = gaugeVec("xtr_drained", "1 while the xTR is drained for maintenance.", "xtr")
	// DesignatedForwarder counts the instance-ids each xTR is the
	// designated forwarder of.
	DesignatedForwarder = gaugeVec("designated_forwarder_instances", "Instance-ids the xTR is the designated forwarder of.", "xtr")
	// Announcements counts the frames sent to multihomed sites' LANs to
	// move remote MACs to a new designated forwarder's port.
	Announcements = counter("lan_announcements_total", "Frames sent to a multihomed site's LAN to re-point remote MACs.")
)
