package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/store"
)

// DefaultLease is how long a leader's term lasts without renewal. A
// standby looks for an expired lease every Lease/4, so it takes over at
// most 1.25 x Lease (plus one database round trip) after the leader died.
const DefaultLease = 2 * time.Second

// State is this replica's role as it stands.
type State struct {
	Leader     bool   // this replica may program the switches
	Elected    bool   // the role comes from the election (false: fixed, single node)
	Generation uint64 // OpenFlow generation-id of the current term (0 when not elected)
	Holder     string // id of the current leader, when known
}

// Config says who this replica is and how it takes part.
type Config struct {
	// DB is the shared database. PostgreSQL: replicas are listed from
	// their heartbeats, and elect a leader when Elect is set. SQLite (or
	// nil): a single node.
	DB      *gorm.DB
	ID      string // stable name of this replica, e.g. host:port
	Address string // where operators reach its REST API
	// Elect makes the replica take part in the election. Without it the
	// replica keeps the fixed role Leader.
	Elect  bool
	Leader bool
	Lease  time.Duration // 0: DefaultLease
	// Applied reports the newest change-feed event this replica applied.
	Applied func() int64
	Log     *slog.Logger
}

// Cluster is this replica's membership.
type Cluster struct {
	cfg         Config
	log         *slog.Logger
	pg          bool
	incarnation string // tells this process from an earlier one with the same id
	every       time.Duration
	started     time.Time

	mu    sync.Mutex
	st    State
	until time.Time // end of this replica's term, by its own clock
	subs  map[chan State]struct{}
	// the lease row as last read, for standbys and listings
	term lease

	cancel context.CancelFunc
	done   chan struct{}
}

// Start joins the cluster. With the election on, the first round runs
// before Start returns, so State already tells leader from standby.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Applied == nil {
		cfg.Applied = func() int64 { return 0 }
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	c := &Cluster{cfg: cfg, log: cfg.Log.With("component", "cluster"), incarnation: hex.EncodeToString(b),
		every: cfg.Lease / 4, started: time.Now().UTC(), subs: map[chan State]struct{}{}, done: make(chan struct{})}
	c.pg = cfg.DB != nil && store.IsPostgres(cfg.DB)
	if cfg.Elect && !c.pg {
		return nil, fmt.Errorf("cluster: leader election needs PostgreSQL")
	}
	c.st = State{Leader: cfg.Leader}
	if cfg.Elect {
		c.st = State{Elected: true}
	}
	publish(c.st)
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if !c.pg {
		close(c.done)
		return c, nil
	}
	c.round(ctx)
	go c.run(ctx)
	return c, nil
}

// ID is this replica's id.
func (c *Cluster) ID() string { return c.cfg.ID }

// Lease is the configured lease.
func (c *Cluster) Lease() time.Duration { return c.cfg.Lease }

// State is this replica's role now. A leader whose term ran out without
// renewal is reported a standby at once, even before the loop notices.
func (c *Cluster) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	if st.Elected && st.Leader && !time.Now().Before(c.until) {
		st.Leader = false
	}
	return st
}

// IsLeader reports whether this replica may program the switches and run
// the periodic writers now.
func (c *Cluster) IsLeader() bool { return c.State().Leader }

// Watch returns a channel that holds the current state at once and then
// every change; a slow reader sees only the newest. Call stop when done.
func (c *Cluster) Watch() (<-chan State, func()) {
	ch := make(chan State, 1)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	ch <- c.st
	c.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.subs, ch)
			c.mu.Unlock()
		})
	}
}

// set changes the state and tells the watchers; c.mu must be held.
func (c *Cluster) set(st State) {
	if st == c.st {
		return
	}
	if st.Leader != c.st.Leader {
		metrics.LeaderChanges.Inc()
		c.log.Info("cluster role changed", "leader", st.Leader, "generation", st.Generation, "holder", st.Holder)
	}
	c.st = st
	publish(st)
	for ch := range c.subs {
		select {
		case <-ch: // drop the unread older state
		default:
		}
		ch <- st
	}
}

func publish(st State) {
	v := 0.0
	if st.Leader {
		v = 1
	}
	metrics.ClusterLeader.Set(v)
	metrics.ClusterGeneration.Set(float64(st.Generation))
}

// Close gives up the lease (so a standby takes over at its next look
// instead of waiting for the deadline) and stops.
func (c *Cluster) Close() {
	c.halt()
	if !c.pg {
		return
	}
	c.mu.Lock()
	wasLeader := c.st.Leader
	c.set(State{Elected: c.st.Elected, Generation: c.st.Generation})
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Lease)
	defer cancel()
	if wasLeader && c.cfg.Elect {
		if err := c.resign(ctx); err != nil {
			c.log.Warn("give up the lease", "err", err)
		}
	}
	if err := c.heartbeat(ctx, "stopped"); err != nil {
		c.log.Debug("last heartbeat", "err", err)
	}
}

// halt stops the loop without a word to the others, as a crash would.
func (c *Cluster) halt() {
	c.cancel()
	<-c.done
}

// run repeats the round every Lease/4 and ends a term whose renewal is
// overdue the moment it runs out.
func (c *Cluster) run(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	expiry := time.NewTimer(time.Hour)
	defer expiry.Stop()
	for {
		c.mu.Lock()
		if c.st.Leader {
			expiry.Reset(time.Until(c.until))
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.round(ctx)
		case <-expiry.C:
			c.expire()
		}
	}
}

// expire ends this replica's term if it was not renewed in time.
func (c *Cluster) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Leader && !time.Now().Before(c.until) {
		c.log.Warn("lease not renewed in time: stepping down")
		c.set(State{Elected: true, Generation: c.st.Generation})
	}
}

// round renews or seeks the lease, then writes this replica's heartbeat.
// Each database call has the round's period as its deadline.
func (c *Cluster) round(ctx context.Context) {
	if c.cfg.Elect {
		rctx, cancel := context.WithTimeout(ctx, c.every)
		c.elect(rctx)
		cancel()
	}
	hctx, cancel := context.WithTimeout(ctx, c.every)
	defer cancel()
	role := "standby"
	if c.IsLeader() {
		role = "leader"
	}
	if err := c.heartbeat(hctx, role); err != nil {
		c.log.Debug("heartbeat", "err", err)
	}
}
