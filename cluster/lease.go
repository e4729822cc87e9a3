package cluster

import (
	"context"
	"fmt"
	"time"
)

// lease is the cluster_lease row as last read.
type lease struct {
	Holder      string
	Incarnation string
	Epoch       int64
	Live        bool // the deadline had not passed when read
}

// guard is how long before the database's deadline a leader stops
// counting itself leader: room for the last flow-mods it sent to reach the
// switches before another replica can claim them.
func (c *Cluster) guard() time.Duration { return c.cfg.Lease / 8 }

// elect renews this replica's term or, as a standby, takes the lease if it
// has lapsed.
func (c *Cluster) elect(ctx context.Context) {
	c.mu.Lock()
	leader, epoch := c.st.Leader, c.term.Epoch
	c.mu.Unlock()
	sent := time.Now()
	if leader {
		ok, err := c.renew(ctx, epoch)
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case err != nil:
			// The term runs on until c.until; run's timer ends it.
			c.log.Warn("renew the lease", "err", err, "term_left", time.Until(c.until).Round(time.Millisecond))
		case !ok:
			c.log.Warn("lease lost to another replica: stepping down")
			c.set(State{Elected: true, Generation: c.st.Generation})
		case c.st.Leader: // (not if the term ran out meanwhile)
			c.until = sent.Add(c.cfg.Lease - c.guard())
		}
		return
	}
	l, won, err := c.acquire(ctx)
	if err != nil {
		c.log.Warn("look for the lease", "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.term = l
	st := State{Elected: true, Generation: uint64(l.Epoch), Holder: l.Holder}
	if won {
		c.until = sent.Add(c.cfg.Lease - c.guard())
		st.Leader = true
	}
	c.set(st)
}

// acquire takes the lease if its deadline has passed, with a larger
// epoch, and otherwise reads who holds it. The epoch is at least the
// database clock in milliseconds, so it keeps growing even for a switch
// that saw the generation-ids of an earlier database (OVS remembers the
// largest until it restarts, and refuses smaller ones as stale).
func (c *Cluster) acquire(ctx context.Context) (lease, bool, error) {
	db := c.cfg.DB.WithContext(ctx)
	var won []lease
	err := db.Raw(`UPDATE cluster_lease SET holder = ?, incarnation = ?,
		epoch = GREATEST(epoch + 1, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT),
		acquired_at = clock_timestamp(), expires_at = clock_timestamp() + make_interval(secs => ?)
		WHERE id = 1 AND expires_at < clock_timestamp()
		RETURNING holder, incarnation, epoch, TRUE AS live`,
		c.cfg.ID, c.incarnation, c.cfg.Lease.Seconds()).Scan(&won).Error
	if err != nil {
		return lease{}, false, fmt.Errorf("take the lease: %w", err)
	}
	if len(won) == 1 {
		return won[0], true, nil
	}
	l, err := c.readLease(ctx)
	return l, false, err
}

func (c *Cluster) readLease(ctx context.Context) (lease, error) {
	var rows []lease
	err := c.cfg.DB.WithContext(ctx).Raw(`SELECT holder, incarnation, epoch, expires_at > clock_timestamp() AS live
		FROM cluster_lease WHERE id = 1`).Scan(&rows).Error
	if err != nil {
		return lease{}, fmt.Errorf("read the lease: %w", err)
	}
	if len(rows) != 1 {
		return lease{}, fmt.Errorf("read the lease: the cluster_lease row is missing")
	}
	return rows[0], nil
}

// renew moves the deadline of this replica's term; false means the lease
// is someone else's now.
func (c *Cluster) renew(ctx context.Context, epoch int64) (bool, error) {
	res := c.cfg.DB.WithContext(ctx).Exec(`UPDATE cluster_lease
		SET expires_at = clock_timestamp() + make_interval(secs => ?)
		WHERE id = 1 AND incarnation = ? AND epoch = ?`, c.cfg.Lease.Seconds(), c.incarnation, epoch)
	if res.Error != nil {
		return false, fmt.Errorf("renew the lease: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// resign ends this replica's term in the database at once.
func (c *Cluster) resign(ctx context.Context) error {
	c.mu.Lock()
	epoch := c.term.Epoch
	c.mu.Unlock()
	err := c.cfg.DB.WithContext(ctx).Exec(`UPDATE cluster_lease SET expires_at = clock_timestamp() - interval '1 millisecond'
		WHERE id = 1 AND incarnation = ? AND epoch = ?`, c.incarnation, epoch).Error
	if err != nil {
		return fmt.Errorf("resign the lease: %w", err)
	}
	return nil
}
