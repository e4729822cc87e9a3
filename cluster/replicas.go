package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Replica is one controller replica as the cluster sees it.
type Replica struct {
	ID             string    `json:"id"`
	Address        string    `json:"address"`
	Role           string    `json:"role"` // leader, standby, stopped or down
	Generation     uint64    `json:"generation"`
	Heartbeat      time.Time `json:"last_heartbeat"`
	AppliedEventID int64     `json:"applied_event_id"`
	StartedAt      time.Time `json:"started_at"`
	Self           bool      `json:"self"`
}

// forgetAfter is how long a replica that stopped heartbeating stays listed.
const forgetAfter = time.Hour

// heartbeat writes this replica's row.
func (c *Cluster) heartbeat(ctx context.Context, role string) error {
	st := c.State()
	err := c.cfg.DB.WithContext(ctx).Exec(`INSERT INTO cluster_replicas
		(id, address, role, generation, applied_event_id, started_at, heartbeat_at)
		VALUES (?, ?, ?, ?, ?, ?, clock_timestamp())
		ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, role = EXCLUDED.role,
		generation = EXCLUDED.generation, applied_event_id = EXCLUDED.applied_event_id,
		started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at`,
		c.cfg.ID, c.cfg.Address, role, int64(st.Generation), c.cfg.Applied(), c.started).Error
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if st.Leader {
		// Any replica could do this; the leader does, so it happens once.
		err = c.cfg.DB.WithContext(ctx).Exec(`DELETE FROM cluster_replicas
			WHERE heartbeat_at < clock_timestamp() - make_interval(secs => ?)`, forgetAfter.Seconds()).Error
		if err != nil {
			return fmt.Errorf("forget old replicas: %w", err)
		}
	}
	return nil
}

type replicaRow struct {
	ID             string
	Address        string
	Role           string
	Generation     int64
	AppliedEventID int64
	StartedAt      time.Time
	HeartbeatAt    time.Time
	Age            float64 // seconds since the heartbeat, by the database's clock
}

// Replicas lists the replicas by id. The leader is the lease's live
// holder; a replica silent for more than a lease is down, whatever its
// last heartbeat said.
func (c *Cluster) Replicas(ctx context.Context) ([]Replica, error) {
	if !c.pg {
		st := c.State()
		role := "standby"
		if st.Leader {
			role = "leader"
		}
		return []Replica{{ID: c.cfg.ID, Address: c.cfg.Address, Role: role, Heartbeat: time.Now().UTC(),
			AppliedEventID: c.cfg.Applied(), StartedAt: c.started, Self: true}}, nil
	}
	var rows []replicaRow
	err := c.cfg.DB.WithContext(ctx).Raw(`SELECT id, address, role, generation, applied_event_id, started_at,
		heartbeat_at, EXTRACT(EPOCH FROM clock_timestamp() - heartbeat_at)::FLOAT8 AS age
		FROM cluster_replicas`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list replicas: %w", err)
	}
	var l lease
	if c.cfg.Elect {
		if l, err = c.readLease(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]Replica, 0, len(rows))
	for _, r := range rows {
		rep := Replica{ID: r.ID, Address: r.Address, Role: r.Role, Generation: uint64(r.Generation),
			Heartbeat: r.HeartbeatAt.UTC(), AppliedEventID: r.AppliedEventID, StartedAt: r.StartedAt.UTC(),
			Self: r.ID == c.cfg.ID}
		switch {
		case r.Role == "stopped":
		case r.Age > c.cfg.Lease.Seconds():
			rep.Role = "down"
		case c.cfg.Elect && l.Live && r.ID == l.Holder:
			rep.Role = "leader"
		case c.cfg.Elect:
			rep.Role = "standby"
		}
		out = append(out, rep)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
