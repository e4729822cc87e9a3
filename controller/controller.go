package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// Controller holds the mapping database and everything around it. Its
// in-memory state is a cache of the database, rebuilt at start and kept
// current only by following the change feed, so several replicas sharing
// one database stay in step.
type Controller struct {
	db   *gorm.DB
	log  *slog.Logger
	idx  *mapping.Index
	ckpt *store.Checkpointer // copies SQLite's log back beside the writer

	mu       sync.RWMutex
	networks map[uint32]Network
	sites    map[string]Site
	xtrs     map[string]XTR
	ports    map[string]map[string]Port // xTR name -> port name -> port
	applied  int64                      // id of the last event applied
	advanced chan struct{}              // closed and replaced whenever applied grows
	learn    LearnConfig                // zero value: learning off
	bfd      BFDConfig                  // zero value: BFD off
	tokens   map[string]tokenEntry      // stored API tokens by name

	useMu     sync.Mutex
	tokenUsed map[string]time.Time // when each token's last use was last written
	lispSubs  subTable             // RFC 9437 subscriptions
	locs      *locStatus           // which RLOCs are down

	subMu sync.Mutex
	subs  map[chan Event]struct{}

	// Indexes for interest-based fan-out (interest.go) and the modes of
	// auto networks (modes.go).
	topology atomic.Pointer[topology]
	hosts    *hostIndex
	autoMu   sync.Mutex
	auto     map[uint32]autoState

	writes chan writeOp
	handed handoff // this replica's commits, for its follower (handoff.go)
	nudges chan struct{}
	// foreign says a nudge came from outside this replica's writer: the
	// follower must read the database, not only the hand-off.
	foreign atomic.Bool
	closed  chan struct{}
	wg      sync.WaitGroup
}

// New loads the state from db and starts the writer and the feed follower.
func New(ctx context.Context, db *gorm.DB, log *slog.Logger) (*Controller, error) {
	c, err := open(ctx, db, log)
	if err != nil {
		return nil, err
	}
	if c.ckpt, err = store.StartCheckpointer(db, log); err != nil {
		return nil, err
	}
	c.wg.Add(2)
	go c.writer()
	go c.follower()
	if store.IsPostgres(db) {
		c.wg.Add(1)
		go c.listen()
	}
	return c, nil
}

// open loads the state without starting anything.
func open(ctx context.Context, db *gorm.DB, log *slog.Logger) (*Controller, error) {
	c := blank(db, log)
	c.advanced, c.tokenUsed = make(chan struct{}), map[string]time.Time{}
	c.subs, c.writes = map[chan Event]struct{}{}, make(chan writeOp, 1024)
	c.nudges, c.closed = make(chan struct{}, 1), make(chan struct{})
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// blank is a Controller with empty caches, for load to fill: at start, or
// to rebuild a replica's state beside the one it replaces.
func blank(db *gorm.DB, log *slog.Logger) *Controller {
	return &Controller{db: db, log: log, idx: mapping.NewIndex(), hosts: newHostIndex(),
		networks: map[uint32]Network{}, sites: map[string]Site{}, xtrs: map[string]XTR{},
		ports: map[string]map[string]Port{}, tokens: map[string]tokenEntry{},
		lispSubs: newSubTable(), locs: newLocStatus()}
}

// Close stops the background work. Pending writes fail.
func (c *Controller) Close() {
	close(c.closed)
	c.wg.Wait()
	c.ckpt.Close()
}

// Index is the in-memory lookup index; callers must not modify records.
func (c *Controller) Index() *mapping.Index { return c.idx }

// Record returns the current record of one EID.
func (c *Controller) Record(e mapping.EID) (mapping.Record, bool) { return c.idx.Get(e) }

// load reads the whole state. The feed position is taken first, so an event
// committed while loading is applied again by the follower, which is harmless
// because applying an event is idempotent.
func (c *Controller) load(ctx context.Context) error {
	objs, err := c.readObjects(ctx)
	if err != nil {
		return err
	}
	c.applied = objs.pos
	c.networks, c.sites, c.xtrs, c.ports = objs.networks, objs.sites, objs.xtrs, objs.ports
	c.dropTopology()
	if err := c.loadSide(ctx); err != nil {
		return err
	}
	return c.loadMappings(ctx, func(r mapping.Record) {
		c.idx.Put(r)
		c.hosts.put(&r)
	})
}

// loadSide reads what is kept beside the objects and mappings: the API
// tokens, the RFC 9437 subscriptions and the xTRs' last status (which
// says which locators are down).
func (c *Controller) loadSide(ctx context.Context) error {
	if err := c.loadTokens(ctx); err != nil {
		return err
	}
	if err := c.loadSubscriptions(ctx); err != nil {
		return err
	}
	return c.loadLocatorStatus(ctx)
}

// objects is the state of everything but the mappings, as read from the
// database after feed position pos.
type objects struct {
	pos      int64
	networks map[uint32]Network
	sites    map[string]Site
	xtrs     map[string]XTR
	ports    map[string]map[string]Port
}

func (c *Controller) readObjects(ctx context.Context) (objects, error) {
	o := objects{networks: map[uint32]Network{}, sites: map[string]Site{}, xtrs: map[string]XTR{},
		ports: map[string]map[string]Port{}}
	db := c.db.WithContext(ctx)
	var err error
	if o.pos, err = store.LastEventID(ctx, c.db); err != nil {
		return o, err
	}
	var nets []store.Network
	if err := db.Find(&nets).Error; err != nil {
		return o, fmt.Errorf("load networks: %w", err)
	}
	for _, n := range nets {
		o.networks[n.InstanceID] = Network(n)
	}
	var sites []store.Site
	if err := db.Find(&sites).Error; err != nil {
		return o, fmt.Errorf("load sites: %w", err)
	}
	for _, r := range sites {
		s, err := siteFromRow(r)
		if err != nil {
			return o, err
		}
		o.sites[s.Name] = s
	}
	var xtrs []store.XTR
	if err := db.Find(&xtrs).Error; err != nil {
		return o, fmt.Errorf("load xtrs: %w", err)
	}
	for _, r := range xtrs {
		x, err := xtrFromRow(r)
		if err != nil {
			return o, err
		}
		o.xtrs[x.Name] = x
	}
	var ports []store.Port
	if err := db.Find(&ports).Error; err != nil {
		return o, fmt.Errorf("load ports: %w", err)
	}
	for _, p := range ports {
		setPort(o.ports, Port(p))
	}
	return o, nil
}

func (c *Controller) setPort(p Port) { setPort(c.ports, p) }

func setPort(ports map[string]map[string]Port, p Port) {
	m := ports[p.XTR]
	if m == nil {
		m = map[string]Port{}
		ports[p.XTR] = m
	}
	m[p.Name] = p
}

// apply brings the in-memory state in line with one event. Mapping events
// carry the record (decoded once, kept in ev for the subscribers, with the
// record it replaces in ev.Prev); the rarer object events are re-read from
// the database so that secrets (site keys) never travel in the feed.
func (c *Controller) apply(ev *Event) error {
	switch ev.Type {
	case EvMappingCreated, EvMappingUpdated, EvMappingMoved, EvMappingDeleted:
		r, err := ev.MappingRecord()
		if err != nil {
			return err
		}
		ev.rec = &r
		var prev mapping.Record
		var had bool
		if ev.Type == EvMappingDeleted {
			prev, had = c.idx.Delete(r.EID)
		} else {
			prev, had = c.idx.Swap(r)
		}
		if had {
			ev.Prev = &prev
			c.hosts.remove(&prev)
		}
		if ev.Type != EvMappingDeleted {
			c.hosts.put(&r)
		}
	case EvNetworkCreated, EvNetworkUpdated, EvNetworkDeleted:
		return c.reloadNetwork(*ev)
	case EvSiteCreated, EvSiteUpdated, EvSiteDeleted:
		return c.reloadSite(ev.Site)
	case EvXTRCreated, EvXTRDeleted:
		defer c.rebuildDown() // an RLOC belongs to whichever xTR has it now
		return c.reloadXTR(ev.XTR)
	case EvXTRUp, EvXTRDown:
		c.setXTRStatus(ev.XTR, ev.Type == EvXTRDown)
	case EvXTRDrained, EvXTRUndrained:
		defer c.rebuildDown()
		return c.reloadXTR(ev.XTR)
	case EvBFDStatus:
		return c.applyBFD(*ev)
	case EvSubscriptionCreated, EvSubscriptionRefreshed, EvSubscriptionDeleted:
		return c.applySubscription(*ev)
	case EvPortBound, EvPortUnbound:
		var p Port
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			return fmt.Errorf("decode port: %w", err)
		}
		return c.reloadPort(p.XTR, p.Name)
	case EvTokenCreated, EvTokenRevoked:
		return c.reloadToken(*ev)
	}
	return nil
}

func (c *Controller) reloadNetwork(ev Event) error {
	if ev.InstanceID == nil {
		return nil
	}
	var rows []store.Network
	if err := c.db.Where("instance_id = ?", *ev.InstanceID).Find(&rows).Error; err != nil {
		return fmt.Errorf("reload network: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropTopology()
	delete(c.networks, *ev.InstanceID)
	for _, r := range rows {
		c.networks[r.InstanceID] = Network(r)
	}
	return nil
}

func (c *Controller) reloadSite(name string) error {
	var rows []store.Site
	if err := c.db.Where("name = ?", name).Find(&rows).Error; err != nil {
		return fmt.Errorf("reload site: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropTopology()
	delete(c.sites, name)
	for _, r := range rows {
		s, err := siteFromRow(r)
		if err != nil {
			return err
		}
		c.sites[name] = s
	}
	return nil
}

func (c *Controller) reloadXTR(name string) error {
	var rows []store.XTR
	if err := c.db.Where("name = ?", name).Find(&rows).Error; err != nil {
		return fmt.Errorf("reload xtr: %w", err)
	}
	var ports []store.Port
	if err := c.db.Where("xtr = ?", name).Find(&ports).Error; err != nil {
		return fmt.Errorf("reload ports: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropTopology()
	delete(c.xtrs, name)
	delete(c.ports, name)
	for _, r := range rows {
		x, err := xtrFromRow(r)
		if err != nil {
			return err
		}
		c.xtrs[name] = x
	}
	for _, p := range ports {
		c.setPort(Port(p))
	}
	return nil
}

func (c *Controller) reloadPort(xtr, name string) error {
	var rows []store.Port
	if err := c.db.Where("xtr = ? AND name = ?", xtr, name).Find(&rows).Error; err != nil {
		return fmt.Errorf("reload port: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.ports[xtr]; m != nil {
		delete(m, name)
	}
	for _, p := range rows {
		c.setPort(Port(p))
	}
	return nil
}

// Networks lists the tenant networks by instance-id.
func (c *Controller) Networks() []Network {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Network, 0, len(c.networks))
	for _, n := range c.networks {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	return out
}

// Network returns one tenant network.
func (c *Controller) Network(iid uint32) (Network, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, ok := c.networks[iid]
	if !ok {
		return n, notFound("instance_id", "no network with instance-id %d", iid)
	}
	return n, nil
}

// Sites lists the sites by name.
func (c *Controller) Sites() []Site {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Site, 0, len(c.sites))
	for _, s := range c.sites {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Site returns one site, with its key (for the Map-Server; never shown).
func (c *Controller) Site(name string) (Site, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.sites[name]
	if !ok {
		return s, notFound("name", "no site named %q", name)
	}
	return s, nil
}

// XTRs lists the edge switches by name.
func (c *Controller) XTRs() []XTR {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]XTR, 0, len(c.xtrs))
	for _, x := range c.xtrs {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// XTR returns one edge switch.
func (c *Controller) XTR(name string) (XTR, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	x, ok := c.xtrs[name]
	if !ok {
		return x, notFound("name", "no xTR named %q", name)
	}
	return x, nil
}

// XTRByRLOC finds the xTR whose tunnel endpoint is a.
func (c *Controller) XTRByRLOC(a netip.Addr) (XTR, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, x := range c.xtrs {
		if x.RLOC == a {
			return x, true
		}
	}
	return XTR{}, false
}

// Ports lists the access ports bound on one xTR.
func (c *Controller) Ports(xtr string) ([]Port, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if _, ok := c.xtrs[xtr]; !ok {
		return nil, notFound("xtr", "no xTR named %q", xtr)
	}
	out := make([]Port, 0, len(c.ports[xtr]))
	for _, p := range c.ports[xtr] {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// isNotFound reports gorm's record-not-found.
func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }
