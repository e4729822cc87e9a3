package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// xtr is the background worker of one switch. Only its goroutine writes
// client (under mu, as State reads it) and touches applied until stop
// returns; then the caller owns them.
type xtr struct {
	name string
	ep   Endpoint
	log  *slog.Logger
	opts []Option

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{} // desired state changed: apply now
	change chan struct{} // switch changed or reconnected: apply now
	bfd    chan struct{} // a BFD session changed: report it

	applied *Desired // last state applied, to clean up a renamed bridge

	mu      sync.Mutex
	client  *Client
	desired Desired
	state   State
}

func newXTR(name string, ep Endpoint, d Desired, log *slog.Logger, opts []Option) *xtr {
	ctx, cancel := context.WithCancel(context.Background())
	// The switch's certificate must be valid for the xTR's name.
	opts = append(opts[:len(opts):len(opts)], serverName(name))
	return &xtr{
		name: name, ep: ep, log: log, opts: opts,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		kick: make(chan struct{}, 1), change: make(chan struct{}, 1), bfd: make(chan struct{}, 1),
		desired: d,
	}
}

func (x *xtr) setDesired(d Desired) {
	x.mu.Lock()
	x.desired = d
	x.mu.Unlock()
	signal(x.kick)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (x *xtr) stop() {
	x.cancel()
	<-x.done
}

func (x *xtr) snapshotState() State {
	x.mu.Lock()
	s := x.state
	x.mu.Unlock()
	// Read the connection outside x.mu: the client has its own lock.
	if c := x.currentClient(); c != nil {
		s.Connected = c.Connected()
	}
	return s
}

func (x *xtr) currentClient() *Client {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.client
}

func (x *xtr) run() {
	defer close(x.done)
	o := buildOptions(x.opts)
	bo := backoff{min: o.backoffMin, max: o.backoffMax}
	for {
		err := x.step(o)
		x.record(err)
		var retry <-chan time.Time
		if err != nil {
			retry = time.After(bo.next())
		} else {
			bo.reset()
		}
		select {
		case <-x.ctx.Done():
			return
		case <-x.kick:
		case <-x.change:
		case <-retry:
		}
	}
}

// step dials if needed and applies the current desired state.
func (x *xtr) step(o options) error {
	if x.client == nil {
		ctx, cancel := context.WithTimeout(x.ctx, o.dialTimeout)
		c, err := Dial(ctx, x.ep.String(), x.log, x.opts...)
		cancel()
		if err != nil {
			return err
		}
		c.OnChange(func() { signal(x.change); signal(x.bfd) })
		c.OnBFDChange(func() { signal(x.bfd) })
		signal(x.bfd) // the sessions as the first connection finds them
		x.mu.Lock()
		x.client = c
		x.mu.Unlock()
	}
	x.mu.Lock()
	d := x.desired
	x.mu.Unlock()
	ctx, cancel := context.WithTimeout(x.ctx, applyTimeout)
	defer cancel()
	if x.applied != nil && x.applied.Bridge != d.Bridge {
		// The bridge was renamed: the old one is ours and no longer wanted.
		if err := x.client.Remove(ctx, *x.applied); err != nil {
			return err
		}
	}
	if _, err := x.client.Apply(ctx, d); err != nil {
		return err
	}
	x.applied = &d
	return nil
}

func (x *xtr) record(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err == nil {
		x.state.LastError = ""
		x.state.LastApplied = time.Now()
		return
	}
	if x.ctx.Err() != nil {
		return // stopping; the error is ours, not the switch's
	}
	if x.state.LastError != err.Error() {
		x.log.Warn("provisioning failed, will retry", "err", err)
	}
	x.state.LastError = err.Error()
}

// remove deletes our bridge after the worker stopped, waiting for the
// connection (dialing if there never was one) until ctx ends.
func (x *xtr) remove(ctx context.Context) error {
	x.mu.Lock()
	d := x.desired
	x.mu.Unlock()
	if x.client == nil {
		c, err := Dial(ctx, x.ep.String(), x.log, x.opts...)
		if err != nil {
			return fmt.Errorf("bridge %s may remain: %w", d.Bridge, err)
		}
		x.mu.Lock()
		x.client = c
		x.mu.Unlock()
	}
	for {
		err := x.client.Remove(ctx, d)
		if err == nil && x.applied != nil && x.applied.Bridge != d.Bridge {
			err = x.client.Remove(ctx, *x.applied)
		}
		if !errors.Is(err, ErrNotConnected) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bridge %s may remain: %w", d.Bridge, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// reportBFD hands f the switch's BFD sessions each time one changes, until
// the worker stops. It runs beside run, so a slow Apply never delays it.
func (x *xtr) reportBFD(f func(string, map[netip.Addr]bool)) {
	for {
		select {
		case <-x.ctx.Done():
			return
		case <-x.bfd:
		}
		if c := x.currentClient(); c != nil {
			if st := c.BFDStatus(); st != nil {
				f(x.name, st)
			}
		}
	}
}
