package metrics

// Controller replicas and the change feed.
var (
	ClusterLeader     = gauge("cluster_leader", "1 while this replica is the leader that programs the switches, else 0.")
	ClusterGeneration = gauge("cluster_generation", "OpenFlow generation-id of the current leadership term as this replica knows it.")
	LeaderChanges     = counter("cluster_leader_changes_total", "Times this replica became leader or stopped being leader.")
	FeedApplied       = gauge("feed_applied_event_id", "Id of the newest change-feed event this replica has applied.")
	FeedRebuilds      = counter("feed_rebuilds_total", "Times this replica rebuilt its state from the database: an event it could not apply, or events pruned before it applied them.")
)
