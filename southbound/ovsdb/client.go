package ovsdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
)

// ErrNotConnected reports an operation attempted while the connection to
// the switch is down; the Client keeps reconnecting in the background.
var ErrNotConnected = errors.New("not connected to OVSDB")

// ErrClosed reports use of a closed Client.
var ErrClosed = errors.New("OVSDB client closed")

// Client is one connection to the database of one edge switch. It
// reconnects on its own, with backoff, until Close.
type Client struct {
	ep   Endpoint
	opts options
	log  *slog.Logger

	// applyMu serializes Apply and Remove: each plans from the cache and
	// must see the previous one's result there.
	applyMu sync.Mutex

	mu       sync.Mutex
	ovs      client.Client // nil while disconnected
	lastErr  error
	handlers []func()
	// bfdHandlers run when a BFD session of ours changes (bfd.go).
	bfdHandlers []func()

	changed chan struct{} // coalesces change notifications
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Dial connects to the OVSDB server at endpoint ("unix:/path",
// "tcp:host:port" or "ssl:host:port", the latter with WithTLS) and starts
// monitoring the tables it provisions. It fails if the first connection
// cannot be made before ctx ends; after that the Client reconnects by itself.
func Dial(ctx context.Context, endpoint string, log *slog.Logger, opts ...Option) (*Client, error) {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	if ep.Scheme == "ssl" && o.tls == nil {
		return nil, fmt.Errorf("%w %q: ssl needs a TLS configuration (WithTLS)", ErrBadEndpoint, endpoint)
	}
	if ep.Scheme == "tcp" && o.requireTLS {
		return nil, fmt.Errorf("%w %q: plain TCP refused while the controller runs with TLS; use an ssl: endpoint", ErrBadEndpoint, endpoint)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		ep: ep, opts: o, log: log.With("ovsdb", ep.String()),
		changed: make(chan struct{}, 1),
	}
	ovs, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.ovs = ovs
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.supervise(ovs)
	go c.dispatch()
	c.log.Info("connected to OVSDB")
	return c, nil
}

// clientModel is the subset of the Open_vSwitch schema the package uses.
func clientModel() (model.ClientDBModel, error) {
	return model.NewClientDBModel("Open_vSwitch", map[string]model.Model{
		vswitchd.OpenvSwitchTable: &vswitchd.OpenvSwitch{},
		vswitchd.BridgeTable:      &vswitchd.Bridge{},
		vswitchd.PortTable:        &vswitchd.Port{},
		vswitchd.InterfaceTable:   &vswitchd.Interface{},
		vswitchd.ControllerTable:  &vswitchd.Controller{},
		vswitchd.SSLTable:         &vswitchd.SSL{},
	})
}

// connect opens one connection and monitors exactly the columns the
// planner reads, so that statistics and status columns ovs-vswitchd keeps
// rewriting neither cost bandwidth nor trigger change notifications.
func (c *Client) connect(ctx context.Context) (client.Client, error) {
	dbModel, err := clientModel()
	if err != nil {
		return nil, fmt.Errorf("client model: %w", err)
	}
	logger := logr.FromSlogHandler(c.log.With("component", "libovsdb").Handler())
	copts := []client.Option{client.WithEndpoint(c.ep.String()), client.WithLogger(&logger)}
	if c.opts.tls != nil {
		copts = append(copts, client.WithTLSConfig(c.opts.tls))
	}
	ovs, err := client.NewOVSDBClient(dbModel, copts...)
	if err != nil {
		return nil, fmt.Errorf("ovsdb client %s: %w", c.ep, err)
	}
	if err := ovs.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connect %s: %w", c.ep, err)
	}
	ovs.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc: func(_ string, m model.Model) { c.maybeNotify(m, nil); c.bfdChanged(m, nil) },
		UpdateFunc: func(_ string, old, m model.Model) {
			// ovs-vswitchd rewriting a BFD status is news, not drift.
			if !statusOnly(old, m) {
				c.maybeNotify(old, m)
			}
			c.bfdChanged(old, m)
		},
		DeleteFunc: func(_ string, m model.Model) { c.maybeNotify(m, nil); c.bfdChanged(m, nil) },
	})
	if _, err := ovs.Monitor(ctx, monitorRequest(ovs)); err != nil {
		ovs.Close()
		return nil, fmt.Errorf("monitor %s: %w", c.ep, err)
	}
	return ovs, nil
}

func monitorRequest(ovs client.Client) *client.Monitor {
	root, br := &vswitchd.OpenvSwitch{}, &vswitchd.Bridge{}
	port, iface, ctrl, ssl := &vswitchd.Port{}, &vswitchd.Interface{}, &vswitchd.Controller{}, &vswitchd.SSL{}
	return ovs.NewMonitor(
		client.WithTable(root, &root.Bridges, &root.SSL),
		client.WithTable(br, &br.Name, &br.DatapathType, &br.FailMode, &br.Protocols,
			&br.OtherConfig, &br.Controller, &br.Ports, &br.ExternalIDs),
		client.WithTable(port, &port.Name, &port.Interfaces, &port.ExternalIDs),
		client.WithTable(iface, &iface.Name, &iface.Type, &iface.Options,
			&iface.OfportRequest, &iface.ExternalIDs, &iface.BFD, &iface.BFDStatus),
		client.WithTable(ctrl, &ctrl.Target, &ctrl.ExternalIDs),
		client.WithTable(ssl, &ssl.PrivateKey, &ssl.Certificate, &ssl.CaCert, &ssl.ExternalIDs),
	)
}

// maybeNotify wakes the OnChange handlers when a row of ours changed.
func (c *Client) maybeNotify(rows ...model.Model) {
	for _, m := range rows {
		if ownerOf(m) == c.opts.owner {
			c.notify()
			return
		}
	}
}

func ownerOf(m model.Model) string {
	switch r := m.(type) {
	case *vswitchd.Bridge:
		return r.ExternalIDs[OwnerKey]
	case *vswitchd.Port:
		return r.ExternalIDs[OwnerKey]
	case *vswitchd.Interface:
		return r.ExternalIDs[OwnerKey]
	case *vswitchd.Controller:
		return r.ExternalIDs[OwnerKey]
	case *vswitchd.SSL:
		return r.ExternalIDs[OwnerKey]
	}
	return ""
}

func (c *Client) notify() {
	select {
	case c.changed <- struct{}{}:
	default: // a notification is already pending
	}
}

// OnChange registers f to run after rows owned by this controller change
// (by hand or by anyone) and after every reconnect, so the caller can
// re-apply. Calls are coalesced and made from one goroutine; f must not block.
func (c *Client) OnChange(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers = append(c.handlers, f)
}

func (c *Client) dispatch() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.changed:
		}
		c.mu.Lock()
		hs := append([]func(){}, c.handlers...)
		c.mu.Unlock()
		for _, f := range hs {
			f()
		}
	}
}

// Connected reports whether the connection to the switch is up.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ovs != nil && c.ovs.Connected()
}

// LastError is the most recent connection error, nil while connected.
func (c *Client) LastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// Close ends the connection and the reconnect loop; it waits for both.
func (c *Client) Close() {
	c.cancel()
	c.wg.Wait()
}

func (c *Client) current() (client.Client, error) {
	if c.ctx.Err() != nil {
		return nil, ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ovs == nil || !c.ovs.Connected() {
		return nil, ErrNotConnected
	}
	return c.ovs, nil
}

// supervise watches the connection and replaces it when it drops.
func (c *Client) supervise(ovs client.Client) {
	defer c.wg.Done()
	for ovs != nil {
		err := c.watch(ovs)
		ovs.Close()
		if err == nil {
			return // closed
		}
		c.log.Warn("lost OVSDB connection", "err", err)
		c.mu.Lock()
		c.ovs, c.lastErr = nil, err
		c.mu.Unlock()
		ovs = c.reconnect()
	}
}

// watch returns nil when the Client is closed, or why the connection is
// unusable. Echo probes catch peers that vanished without a FIN.
func (c *Client) watch(ovs client.Client) error {
	t := time.NewTicker(c.opts.probe)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return nil
		case <-ovs.DisconnectNotify():
			return errors.New("disconnected by server")
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, c.opts.probe)
			err := ovs.Echo(ctx)
			cancel()
			if err != nil && c.ctx.Err() == nil {
				return fmt.Errorf("echo: %w", err)
			}
		}
	}
}

// reconnect dials with backoff until it succeeds (returning the new
// connection) or the Client is closed (returning nil).
func (c *Client) reconnect() client.Client {
	bo := backoff{min: c.opts.backoffMin, max: c.opts.backoffMax}
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(c.ctx, c.opts.dialTimeout)
		ovs, err := c.connect(ctx)
		cancel()
		if c.ctx.Err() != nil {
			if ovs != nil {
				ovs.Close()
			}
			return nil
		}
		if err == nil {
			c.mu.Lock()
			c.ovs, c.lastErr = ovs, nil
			c.mu.Unlock()
			c.log.Info("reconnected to OVSDB", "attempts", attempt)
			c.notify() // the switch may have changed while we were away
			return ovs
		}
		c.mu.Lock()
		c.lastErr = err
		c.mu.Unlock()
		c.log.Debug("reconnect failed", "attempt", attempt, "err", err)
		select {
		case <-c.ctx.Done():
			return nil
		case <-time.After(bo.next()):
		}
	}
}
