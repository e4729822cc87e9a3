package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every l2lisp metric plus the Go and process collectors.
var Registry = prometheus.NewRegistry()

func counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "l2lisp", Name: name, Help: help})
	Registry.MustRegister(c)
	return c
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "l2lisp", Name: name, Help: help}, labels)
	Registry.MustRegister(c)
	return c
}

func histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "l2lisp", Name: name, Help: help, Buckets: buckets})
	Registry.MustRegister(h)
	return h
}

// RegisterVerifications counts the HMAC computations that check
// Map-Registers: at most one per Map-Register, whatever the number of sites.
var RegisterVerifications = counterVec("map_register_verifications_total", "HMAC verifications of Map-Registers, by result.", "result")

func gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "l2lisp", Name: name, Help: help})
	Registry.MustRegister(g)
	return g
}

// LISP control plane.
var (
	MapRequests      = counter("map_requests_total", "Map-Requests received (plain or encapsulated).")
	MapReplies       = counter("map_replies_total", "Map-Replies sent, positive and negative.")
	NegativeReplies  = counter("negative_map_replies_total", "Negative Map-Replies sent.")
	MapRegisters     = counterVec("map_registers_total", "Map-Registers by outcome.", "outcome")
	MapNotifies      = counter("map_notifies_total", "Map-Notifies sent.")
	SMRsSent         = counter("smrs_sent_total", "Solicit-Map-Requests sent to ITRs holding a changed mapping.")
	LISPDropped      = counterVec("lisp_packets_dropped_total", "LISP control packets dropped, by reason.", "reason")
	RateLimited      = counter("map_replies_rate_limited_total", "Replies not sent because the source exceeded its rate.")
	MapRequestsFwd   = counter("map_requests_forwarded_total", "Map-Requests forwarded to the registering ETR.")
	LookupsTotal     = counterVec("lookups_total", "Mapping lookups by result.", "result")
	LearnedEIDs      = counter("learned_eids_total", "EIDs learned from hosts' traffic.")
	Moves            = counter("moves_total", "EIDs that moved to another site.")
	ConvergenceTime  = histogram("move_convergence_seconds", "Time from a host's first frame at a new site to every switch reprogrammed.", prometheus.ExponentialBuckets(0.0005, 2, 14))
	FlowModsSent     = counter("flow_mods_sent_total", "OpenFlow flow-mods and group-mods sent.")
	ReconcileSeconds = histogram("reconcile_seconds", "Time to compute and push one switch's flows.", prometheus.ExponentialBuckets(0.0001, 2, 16))
	HTTPRequests     = counterVec("http_requests_total", "REST requests by route and status.", "method", "route", "status")
)

// OpenFlowRefused counts OpenFlow connections turned away, by reason:
// no_certificate, untrusted_certificate, tls_handshake, unknown_xtr,
// dpid_mismatch or duplicate.
var OpenFlowRefused = counterVec("openflow_refused_total", "OpenFlow connections refused, by reason.", "reason")

// Publish/subscribe (RFC 9437) and acknowledged Map-Notify (RFC 9301 §5.7).
var (
	Subscriptions        = gauge("lisp_subscriptions", "RFC 9437 subscriptions held.")
	SubscriptionRequests = counterVec("lisp_subscription_requests_total", "Subscription requests (Map-Request records with the N bit) by outcome.", "outcome")
	Publications         = counter("lisp_publications_total", "Map-Notifies published to subscribers on a mapping or locator change (first copies).")
	NotifyRetransmits    = counterVec("map_notify_retransmits_total", "Unsolicited Map-Notifies sent again for want of a Map-Notify-Ack, by kind.", "kind")
	NotifyAcks           = counterVec("map_notify_acks_total", "Map-Notify-Acks received, by result.", "result")
	NotifyGiveUps        = counterVec("map_notify_giveups_total", "Unsolicited Map-Notifies given up after the last retransmission, by kind.", "kind")
	NotifyPending        = gauge("map_notify_pending", "Unsolicited Map-Notifies waiting for their Map-Notify-Ack.")
	NotifyUntracked      = counter("map_notify_untracked_total", "Unsolicited Map-Notifies sent once without waiting for an Ack because the pending table was full.")
	PublishSeconds       = histogram("lisp_publish_seconds", "Time from a mapping change applied to its Map-Notifies sent to every subscriber.", prometheus.ExponentialBuckets(0.0001, 2, 18))
)

// XTRConnected is 1 when the xTR's connection of that kind (ovsdb, openflow) is up.
var XTRConnected = func() *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "l2lisp", Name: "xtr_connected",
		Help: "1 when the xTR's OVSDB or OpenFlow connection is up."}, []string{"xtr", "conn"})
	Registry.MustRegister(g)
	return g
}()

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler { return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{}) }

// REST API limits, tokens and the change feed's retention.
var (
	HTTPConnections = func() prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "l2lisp", Name: "http_connections",
			Help: "Open connections to the REST API and dashboard (bounded by --http-max-conns)."})
		Registry.MustRegister(g)
		return g
	}()
	HTTPAuthRefused = counterVec("http_auth_refused_total", "REST requests refused for their token: unauthorized (401) or forbidden (403).", "reason")
	EventsPruned    = counter("events_pruned_total", "Events deleted from the change feed by the retention policy.")
)

// The single writer's group commits: how long each takes and how many
// changes (events) it carries. Their product is the write throughput, and
// a commit time near the interval between commits means the writer is
// the bottleneck.
var (
	CommitSeconds = histogram("write_commit_seconds", "Time the single writer takes for one group commit (rules, statements and the commit itself).", prometheus.ExponentialBuckets(0.0005, 2, 16))
	CommitEvents  = histogram("write_commit_events", "Changes (events) one group commit carries.", prometheus.ExponentialBuckets(1, 2, 15))
	PlannedAhead  = counter("write_planned_ahead_total", "Group commits of Map-Registers stored from a plan made beside the previous commit (the writer's look-ahead).")
)
