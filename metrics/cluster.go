package metrics

import "github.com/prometheus/client_golang/prometheus"

func gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "l2lisp", Name: name, Help: help})
	Registry.MustRegister(g)
	return g
}

// Controller replicas and the change feed.
var (
	ClusterLeader     = gauge("cluster_leader", "1 while this replica is the leader that programs the switches, else 0.")
	ClusterGeneration = gauge("cluster_generation", "OpenFlow generation-id of the current leadership term as this replica knows it.")
	LeaderChanges     = counter("cluster_leader_changes_total", "Times this replica became leader or stopped being leader.")
	FeedApplied       = gauge("feed_applied_event_id", "Id of the newest change-feed event this replica has applied.")
	FeedRebuilds      = counter("feed_rebuilds_total", "Times this replica rebuilt its state from the database because an event could not be applied.")
)
