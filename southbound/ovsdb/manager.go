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

// applyTimeout bounds one background Apply, so a hung server cannot stall
// the worker forever.
const applyTimeout = 30 * time.Second

// State is what the REST API shows about one xTR's OVSDB provisioning.
type State struct {
	Connected   bool
	LastError   string
	LastApplied time.Time // last time an Apply succeeded (changed or not)
}

// Manager keeps each xTR's switch in its desired state, in the background:
// it dials, applies, and applies again after reconnects and after changes
// made by hand, retrying with backoff while the switch is unreachable.
type Manager struct {
	log  *slog.Logger
	opts []Option

	mu     sync.Mutex
	xtrs   map[string]*xtr
	closed bool
	onBFD  func(xtr string, sessions map[netip.Addr]bool)
}

// OnBFD registers f to hear each xTR's BFD sessions (peer RLOC ->
// forwarding) whenever one changes and after every (re)connection. Set it
// before the first Ensure; f must not block for long.
func (m *Manager) OnBFD(f func(xtr string, sessions map[netip.Addr]bool)) {
	m.mu.Lock()
	m.onBFD = f
	m.mu.Unlock()
}

// NewManager returns a Manager; opts apply to every Client it dials.
func NewManager(log *slog.Logger, opts ...Option) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{log: log, opts: opts, xtrs: map[string]*xtr{}}
}

// Ensure records d as the desired state of xTR name at endpoint and makes
// the background worker apply it. It does not wait for the switch; only
// an invalid endpoint or state is an error. Progress shows in State.
// Changing the endpoint starts over with a new connection and leaves the
// old switch as it is.
func (m *Manager) Ensure(_ context.Context, name, endpoint string, d Desired) error {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("ovsdb manager closed")
	}
	x := m.xtrs[name]
	if x != nil && x.ep == ep {
		x.setDesired(d)
		return nil
	}
	if x != nil {
		x.stop() // new endpoint: drop the old connection
		if x.client != nil {
			x.client.Close()
		}
	}
	x = newXTR(name, ep, d, m.log.With("xtr", name), m.opts)
	m.xtrs[name] = x
	go x.run()
	if m.onBFD != nil {
		go x.reportBFD(m.onBFD)
	}
	return nil
}

// Delete stops provisioning xTR name, removes our bridge from its switch
// and closes the connection. The xTR is forgotten even if removal fails
// (the switch was unreachable until ctx ended); the error says so.
func (m *Manager) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	x := m.xtrs[name]
	delete(m.xtrs, name)
	m.mu.Unlock()
	if x == nil {
		return nil
	}
	x.stop()
	err := x.remove(ctx)
	if x.client != nil {
		x.client.Close()
	}
	if err != nil {
		return fmt.Errorf("delete xTR %s: %w", name, err)
	}
	return nil
}

// State reports the provisioning state of xTR name (zero if unknown).
func (m *Manager) State(name string) State {
	m.mu.Lock()
	x := m.xtrs[name]
	m.mu.Unlock()
	if x == nil {
		return State{}
	}
	return x.snapshotState()
}

// Close stops all workers and closes all connections; switches keep what
// they hold.
func (m *Manager) Close() {
	m.mu.Lock()
	xs := m.xtrs
	m.xtrs = map[string]*xtr{}
	m.closed = true
	m.mu.Unlock()
	for _, x := range xs {
		x.stop()
		if x.client != nil {
			x.client.Close()
		}
	}
}
