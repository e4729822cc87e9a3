package controller

import (
	"fmt"
	"net/netip"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/store"
)

// Mapping writes in bulk. Every write of mapping records — one operator's
// mapping, one Map-Register, a whole import — is a saveUnit: all of its
// records are stored, or none. The writer takes every unit waiting in a
// group commit together: it reads the rows, sites and networks they touch
// with a few statements, applies the rules to each unit in turn against
// that state (as updated by the units before it), and writes what passed
// with multi-row statements. A unit that breaks a rule is refused alone
// and costs the others nothing; a database error in the bulk statements
// makes the writer run the transaction again with the units taken one at
// a time, each under its own savepoint, so only the unit at fault fails.

// saveUnit is one all-or-none write of mapping records.
type saveUnit struct {
	site string
	recs []mapping.Record
	// register applies the registration authority (a Map-Register);
	// otherwise the operator's rules (the site serves the instance-id
	// and covers the prefix).
	register bool
	opt      SaveOptions // operator writes
	expires  time.Time   // register: when the registration lapses
	actor    string      // who asked, if not the op's actor

	saved []Registered // the records as stored, with those they replaced
	err   error
}

// bulkState is what the units of one commit read, shared between them.
type bulkState struct {
	c        *Controller
	tx       *gorm.DB
	rows     map[store.MappingKey]*store.Mapping // as the earlier units left them; nil: none
	sites    map[string]*Site                    // nil: no such site
	networks map[uint32]bool
	locators map[string][]mapping.Locator // a site's default locators
	now      time.Time
}

func mappingKey(e mapping.EID) store.MappingKey {
	return store.MappingKey{InstanceID: e.IID, EID: e.Address()}
}

// unitEvents are the events of stored units: with each, the index of
// its op (or unit) and the record it carries.
type unitEvents struct {
	evs    []store.Event
	owners []int
	recs   []*mapping.Record
}

func (b *unitEvents) add(evs []store.Event, owner int, saved []Registered) {
	b.evs = append(b.evs, evs...)
	for k := range evs {
		b.owners = append(b.owners, owner)
		b.recs = append(b.recs, &saved[k].Record)
	}
}

// saveUnits runs units inside tx and returns the events of those that
// were stored, each with the index of its unit. A unit refused by a rule
// has its err set; the error returned is a database failure.
func (c *Controller) saveUnits(tx *gorm.DB, units []*saveUnit) (unitEvents, error) {
	st, err := c.readBulk(tx, units, nil)
	if err != nil {
		return unitEvents{}, err
	}
	p := st.plan(units)
	if err := store.UpsertMappings(tx, p.rows); err != nil {
		return unitEvents{}, err
	}
	return p.evs, nil
}

// unitPlan is what the rules made of some units against one state: the
// events of those that passed (each with the index of its unit), the rows
// to store, and those rows by key.
type unitPlan struct {
	units   []*saveUnit
	evs     unitEvents
	rows    []store.Mapping
	written map[store.MappingKey]*store.Mapping
}

// plan applies the rules to units in turn against st, as the units before
// each left it. It reads nothing from the database, so it may run beside
// a write (lookahead.go).
func (st *bulkState) plan(units []*saveUnit) *unitPlan {
	p := &unitPlan{units: units, written: map[store.MappingKey]*store.Mapping{}}
	var order []store.MappingKey
	for i, u := range units {
		uevs, err := st.unit(u)
		if err != nil {
			u.err, u.saved = err, nil
			continue
		}
		for _, r := range u.saved {
			k := mappingKey(r.Record.EID)
			if _, ok := p.written[k]; !ok {
				p.written[k] = nil
				order = append(order, k)
			}
		}
		for k := range uevs {
			uevs[k].Actor = u.actor
		}
		p.evs.add(uevs, i, u.saved)
	}
	p.rows = make([]store.Mapping, 0, len(order))
	for _, k := range order {
		p.rows = append(p.rows, *st.rows[k])
		p.written[k] = &p.rows[len(p.rows)-1]
	}
	return p
}

// readBulk reads the rows, sites, networks and default locators the
// units need, a few statements for all of them. Rows in overlay (written
// by a batch not yet committed) take the place of those read.
func (c *Controller) readBulk(tx *gorm.DB, units []*saveUnit, overlay map[store.MappingKey]*store.Mapping) (*bulkState, error) {
	st := &bulkState{c: c, tx: tx, rows: map[store.MappingKey]*store.Mapping{}, sites: map[string]*Site{},
		networks: map[uint32]bool{}, locators: map[string][]mapping.Locator{}, now: time.Now().UTC()}
	var keys []store.MappingKey
	siteNames := map[string]bool{}
	iids := map[uint32]bool{}
	var locSites []string
	for _, u := range units {
		u.err, u.saved = nil, nil
		siteNames[u.site] = true
		if u.opt.DefaultLocators && !siteNames["\x00"+u.site] {
			siteNames["\x00"+u.site] = true
			locSites = append(locSites, u.site)
		}
		for _, r := range u.recs {
			keys = append(keys, mappingKey(r.EID))
			iids[r.EID.IID] = true
		}
	}
	found, err := store.FindMappings(tx, keys)
	if err != nil {
		return nil, err
	}
	for k, r := range found {
		row := r
		st.rows[k] = &row
		siteNames[r.Site] = true
	}
	for _, k := range keys {
		if r := overlay[k]; r != nil {
			row := *r
			st.rows[k] = &row
			siteNames[r.Site] = true
		}
	}
	if err := st.readSites(siteNames); err != nil {
		return nil, err
	}
	if err := st.readNetworks(iids); err != nil {
		return nil, err
	}
	return st, st.readLocators(locSites)
}

func (st *bulkState) readSites(names map[string]bool) error {
	list := make([]string, 0, len(names))
	for n := range names {
		if n != "" && n[0] != 0 {
			list = append(list, n)
			st.sites[n] = nil
		}
	}
	var rows []store.Site
	if err := st.tx.Where("name IN ?", list).Find(&rows).Error; err != nil {
		return fmt.Errorf("find sites: %w", err)
	}
	for _, r := range rows {
		s, err := siteFromRow(r)
		if err != nil {
			return err
		}
		st.sites[s.Name] = &s
	}
	return nil
}

func (st *bulkState) readNetworks(iids map[uint32]bool) error {
	list := make([]uint32, 0, len(iids))
	for iid := range iids {
		list = append(list, iid)
	}
	var found []uint32
	if err := st.tx.Model(&store.Network{}).Where("instance_id IN ?", list).Pluck("instance_id", &found).Error; err != nil {
		return fmt.Errorf("find networks: %w", err)
	}
	for _, iid := range found {
		st.networks[iid] = true
	}
	return nil
}

// readLocators reads the default locator sets (their xTRs' RLOCs) of the
// sites of units that ask for them.
func (st *bulkState) readLocators(sites []string) error {
	if len(sites) == 0 {
		return nil
	}
	var xtrs []store.XTR
	if err := st.tx.Where("site IN ?", sites).Order("name").Find(&xtrs).Error; err != nil {
		return fmt.Errorf("list xtrs: %w", err)
	}
	for _, x := range xtrs {
		a, err := netip.ParseAddr(x.RLOC)
		if err != nil {
			return fmt.Errorf("xtr %s rloc: %w", x.Name, err)
		}
		st.locators[x.Site] = append(st.locators[x.Site], mapping.Locator{Addr: a, Priority: x.Priority, Weight: x.Weight, Up: true})
	}
	return nil
}

// unit applies the rules to one unit and, if it passes, records its rows
// in the state and returns its events. Nothing is changed on refusal.
func (st *bulkState) unit(u *saveUnit) ([]store.Event, error) {
	recs := make([]mapping.Record, len(u.recs))
	copy(recs, u.recs)
	for i := range recs {
		var err error
		if u.register {
			err = st.mayRegister(u, &recs[i])
		} else {
			err = st.mayHold(u, &recs[i])
		}
		if err != nil {
			return nil, err
		}
	}
	expires := u.expires
	if !u.register {
		expires = u.opt.Expires
	}
	evs := make([]store.Event, 0, len(recs))
	saved := make([]Registered, 0, len(recs))
	mine := map[store.MappingKey]*store.Mapping{} // rows written by this unit
	for i := range recs {
		k := mappingKey(recs[i].EID)
		old, again := mine[k] // an EID listed twice: the later replaces the earlier
		if !again {
			old = st.rows[k]
		}
		var prev *mapping.Record
		if old != nil {
			r, err := recordFromRow(*old)
			if err != nil {
				return nil, err
			}
			prev = &r
		}
		row, ev := recordChange(&recs[i], old, expires, st.now)
		mine[k] = &row
		evs = append(evs, ev)
		saved = append(saved, Registered{Record: recs[i], Old: prev})
	}
	for k, row := range mine {
		st.rows[k] = row
	}
	u.saved = saved
	return evs, nil
}

// mayHold is checkSiteMayHold against the shared state: the network
// exists, the site exists, serves the instance-id and covers the prefix.
// It fills the default locators when asked.
func (st *bulkState) mayHold(u *saveUnit, rec *mapping.Record) error {
	if !st.networks[rec.EID.IID] {
		return invalid("instance_id", "unknown instance-id %d", rec.EID.IID)
	}
	site := st.sites[rec.Site]
	if site == nil {
		return invalid("site", "unknown site %q", rec.Site)
	}
	if !site.Serves(rec.EID.IID) {
		return forbidden("instance_id", "site %q does not serve instance-id %d", site.Name, rec.EID.IID)
	}
	if rec.EID.Family() != mapping.FamilyMAC && !site.Covers(rec.EID.Prefix) {
		return forbidden("eid", "%s is outside the EID prefixes of site %q", rec.EID.Prefix, site.Name)
	}
	if u.opt.DefaultLocators {
		locs := st.locators[rec.Site]
		if len(locs) == 0 {
			return invalid("rlocs", "site %q has no xTRs yet; give the RLOCs explicitly", rec.Site)
		}
		rec.Locators = append([]mapping.Locator(nil), locs...)
	}
	return nil
}

// mayRegister is the registration authority (Controller.mayRegister)
// against the shared state.
func (st *bulkState) mayRegister(u *saveUnit, rec *mapping.Record) error {
	self := st.sites[u.site]
	if self == nil {
		return notFound("site", "no site named %q", u.site)
	}
	rec.Site, rec.Origin = u.site, mapping.OriginRegistered
	refused := func(why Refusal, owner string) error {
		return &RefusedError{Reason: why, Site: self.Name, EID: rec.EID, Owner: owner}
	}
	if why := self.ScopeRefusal(rec); why != "" {
		return refused(why, "")
	}
	if old := st.rows[mappingKey(rec.EID)]; old != nil {
		held := mapping.Record{EID: rec.EID, Origin: mapping.Origin(old.Origin), Site: old.Site}
		if why := ReplaceRefusal(self.Name, &held, true, st.sites[old.Site]); why != "" {
			return refused(why, old.Site)
		}
		return nil
	}
	// A more specific IP EID inside another site's static prefix would
	// take part of it over. The index knows the covering prefixes; it may
	// lag the database by the changes of this very batch, no more.
	if rec.EID.Family() != mapping.FamilyMAC {
		if cov, ok := st.c.idx.Lookup(rec.EID); ok && cov.EID != rec.EID {
			if why := ReplaceRefusal(self.Name, &cov, false, nil); why != "" {
				return refused(why, cov.Site)
			}
		}
	}
	return nil
}

// recordChange is the row that stores rec over old (nil: a new EID) with
// the next version, and the event that tells it: created, updated, or
// moved when the site changes. It sets rec's version and time.
func recordChange(rec *mapping.Record, old *store.Mapping, expires, now time.Time) (store.Mapping, store.Event) {
	typ := EvMappingCreated
	rec.Version = 1
	if old != nil {
		rec.Version = old.Version + 1
		typ = EvMappingUpdated
		if old.Site != rec.Site {
			typ = EvMappingMoved
		}
	}
	rec.UpdatedAt = now
	row := rowFromRecord(*rec, expires)
	// The record's own encoder, without json.Marshal's reflection and
	// second pass over its output: this runs for every record of every
	// bulk write. The change form leaves out what the event's columns hold
	// (eventFromRow puts it back): about 40% of a new EID's event row.
	data := rec.AppendChangeJSON(make([]byte, 0, 160))
	ev := store.Event{Time: now, Type: typ, Data: string(data)}
	ev.InstanceID, ev.EID, ev.Site, ev.XTR = iidPtr(rec.EID.IID), row.EID, rec.Site, rec.XTR
	return row, ev
}

// records is how many mapping records op carries (1 for any other op).
func (op *writeOp) records() int {
	if op.units == nil {
		return 1
	}
	n := 0
	for _, u := range op.units {
		n += len(u.recs)
	}
	return n
}

// commitUnits writes the units of the ops at indexes ops of batch, in
// bulk or, with oneByOne, one unit at a time under its own savepoint (see
// the top of this file). A bulk write uses the plan made for them ahead
// (pre), if there is one, and plans the next batch into la (lookahead.go).
// It returns their events with the index in batch of each event's op; a
// failed bulk write is an errBulk.
func (c *Controller) commitUnits(tx *gorm.DB, batch []writeOp, ops []int, oneByOne bool, pre, la *lookahead) (unitEvents, error) {
	var units []*saveUnit
	var unitOp []int
	for _, i := range ops {
		for _, u := range batch[i].units {
			units = append(units, u)
			unitOp = append(unitOp, i)
		}
	}
	if len(units) == 0 {
		return unitEvents{}, nil
	}
	if oneByOne {
		return c.commitOneByOne(tx, batch, units, unitOp)
	}
	p := pre.planFor(ops)
	if p != nil {
		metrics.PlannedAhead.Inc()
	} else {
		st, err := c.readBulk(tx, units, nil)
		if err != nil {
			return unitEvents{}, fmt.Errorf("%w: %w", errBulk, err)
		}
		p = st.plan(units)
	}
	if err := c.planAhead(tx, la, batch, p.written); err != nil {
		return unitEvents{}, fmt.Errorf("%w: plan the next batch: %w", errBulk, err)
	}
	if err := store.UpsertMappings(tx, p.rows); err != nil {
		return unitEvents{}, fmt.Errorf("%w: %w", errBulk, err)
	}
	out := p.evs
	for k := range out.owners {
		out.owners[k] = unitOp[out.owners[k]]
	}
	stamp(out.evs, out.owners, batch)
	return out, nil
}

// commitOneByOne writes each unit under its own savepoint, so that a
// database error fails that unit alone.
func (c *Controller) commitOneByOne(tx *gorm.DB, batch []writeOp, units []*saveUnit, unitOp []int) (unitEvents, error) {
	var out unitEvents
	for k, u := range units {
		sp := fmt.Sprintf("unit%d", k)
		if err := tx.SavePoint(sp).Error; err != nil {
			return unitEvents{}, fmt.Errorf("savepoint: %w", err)
		}
		one, err := c.saveUnits(tx, []*saveUnit{u})
		if err != nil {
			u.err, u.saved = err, nil
			if err := tx.RollbackTo(sp).Error; err != nil {
				return unitEvents{}, fmt.Errorf("rollback to savepoint: %w", err)
			}
			continue
		}
		if err := tx.Exec("RELEASE SAVEPOINT " + sp).Error; err != nil {
			return unitEvents{}, fmt.Errorf("release savepoint: %w", err)
		}
		out.add(one.evs, unitOp[k], u.saved)
	}
	stamp(out.evs, out.owners, batch)
	return out, nil
}

// stamp names the actor of each event its unit did not name: the one its
// op's context names.
func stamp(evs []store.Event, owners []int, batch []writeOp) {
	for k := range evs {
		if evs[k].Actor == "" {
			evs[k].Actor = batch[owners[k]].actor
		}
	}
}
