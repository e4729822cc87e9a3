package northbound

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Replica is one controller replica sharing the database.
type Replica struct {
	ID             string    `json:"id"`
	Address        string    `json:"address"`
	Role           string    `json:"role"` // leader, standby, stopped or down
	Generation     uint64    `json:"generation"`
	LastHeartbeat  time.Time `json:"last_heartbeat"`
	AppliedEventID int64     `json:"applied_event_id"`
	StartedAt      time.Time `json:"started_at,omitzero"`
	Self           bool      `json:"self"`
}

// ClusterView is the answer of GET /cluster.
type ClusterView struct {
	Self     string    `json:"self"`             // id of the replica answering
	Leader   string    `json:"leader,omitempty"` // id of the leader, if any is up
	Election bool      `json:"election"`         // roles are elected (PostgreSQL), not fixed
	Replicas []Replica `json:"replicas"`         // by id
	Lease    float64   `json:"lease_seconds,omitempty"`
}

// ClusterSource lists the replicas; the serve command provides it.
type ClusterSource interface {
	Cluster(ctx context.Context) (ClusterView, error)
}

// clusterTimeout bounds the database reads of one listing.
const clusterTimeout = 5 * time.Second

func (s *Server) cluster(c *gin.Context) {
	if s.opt.Cluster == nil {
		// One controller on its own: it is the leader.
		self := Replica{ID: "local", Role: "leader", LastHeartbeat: time.Now().UTC(),
			AppliedEventID: s.ctl.LastEventID(), Self: true}
		c.JSON(http.StatusOK, ClusterView{Self: self.ID, Leader: self.ID, Replicas: []Replica{self}})
		return
	}
	ctx, cancel := context.WithTimeout(c, clusterTimeout)
	defer cancel()
	v, err := s.opt.Cluster.Cluster(ctx)
	if err != nil {
		failErr(c, err)
		return
	}
	if v.Replicas == nil {
		v.Replicas = []Replica{}
	}
	c.JSON(http.StatusOK, v)
}
