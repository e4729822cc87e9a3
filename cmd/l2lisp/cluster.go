package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/l2lisp/l2lisp/cluster"
	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/store"
	"gorm.io/gorm"
)

// defaultReplicaID names a replica after its host and REST port, which is
// unique among replicas and stays the same across restarts.
func defaultReplicaID(listen string) string {
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(listen)
	return fmt.Sprintf("%s:%s", host, port)
}

// startCluster joins the replicas sharing the database. With PostgreSQL and
// --openflow-role auto they elect the leader; otherwise the role is fixed:
// the single SQLite node leads, and a fixed slave never does.
func startCluster(ctx context.Context, db *gorm.DB, ctl *controller.Controller, cfg serveConfig, log *slog.Logger) (*cluster.Cluster, func(), error) {
	ccfg := cluster.Config{ID: cfg.replicaID, Address: cfg.listen, Lease: cfg.leaderLease,
		Elect: cfg.ofRole == "auto" && store.IsPostgres(db), Leader: cfg.ofRole != "slave",
		Applied: ctl.LastEventID, Log: log}
	closeDB := func() {}
	if store.IsPostgres(db) {
		// A pool of its own, so the lease is renewed on time however busy
		// the other connections are.
		own, err := store.Dial(ctx, cfg.db, 2)
		if err != nil {
			return nil, nil, err
		}
		sqlDB, _ := own.DB()
		ccfg.DB, closeDB = own, func() { _ = sqlDB.Close() }
	}
	cl, err := cluster.Start(ctx, ccfg)
	if err != nil {
		closeDB()
		return nil, nil, err
	}
	st := cl.State()
	log.Info("cluster joined", "replica", cfg.replicaID, "election", st.Elected, "leader", st.Leader,
		"generation", st.Generation, "lease", cfg.leaderLease)
	return cl, func() { cl.Close(); closeDB() }, nil
}

// clusterView shows the replicas to the REST API.
type clusterView struct{ cl *cluster.Cluster }

func (v clusterView) Cluster(ctx context.Context) (northbound.ClusterView, error) {
	reps, err := v.cl.Replicas(ctx)
	if err != nil {
		return northbound.ClusterView{}, err
	}
	st := v.cl.State()
	out := northbound.ClusterView{Self: v.cl.ID(), Election: st.Elected, Replicas: make([]northbound.Replica, len(reps))}
	if st.Elected {
		out.Lease = v.cl.Lease().Seconds()
	}
	for i, r := range reps {
		out.Replicas[i] = northbound.Replica{ID: r.ID, Address: r.Address, Role: r.Role, Generation: r.Generation,
			LastHeartbeat: r.Heartbeat, AppliedEventID: r.AppliedEventID, StartedAt: r.StartedAt, Self: r.Self}
		if r.Role == "leader" {
			out.Leader = r.ID
		}
	}
	return out, nil
}
