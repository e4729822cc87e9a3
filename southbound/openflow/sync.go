package openflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// SyncResult counts what a Sync changed on the switch.
type SyncResult struct{ Added, Modified, Deleted, GroupsChanged int }

// installed is one of our flows as we believe the switch has it.
type installed struct {
	table  uint8
	prio   uint16
	cookie uint64
	match  []ofp13.OXM // as the switch reported or we sent it, for delete_strict
}

// groupState is a group as desired (with its buckets) or as believed
// installed (id and type only: the buckets of a flood group grow with the
// number of sites, and comparing needs only the signature's hash).
type groupState struct {
	entry GroupEntry
	sig   [16]byte
}

// installedGroup is g as the installed state keeps it.
func installedGroup(g groupState) groupState {
	g.entry = GroupEntry{ID: g.entry.ID, Type: g.entry.Type}
	return g
}

// flowState is what we believe connection c has installed.
type flowState struct {
	c      *conn
	flows  map[string]installed
	groups map[uint32]groupState
}

// plan is the difference between installed and desired state.
type plan struct {
	adds, replaces []prepared
	dels           []installed
	claims         map[string]string // installed key -> desired key, same content
	groupAdds      []groupState
	groupMods      []groupState
	groupDels      []groupState
}

// Sync makes the switch's l2lisp flows and groups equal to the desired ones
// and waits until the switch has applied the changes. The first Sync on a
// connection compares with what the switch reports; later ones with what
// earlier Syncs installed. Errors the switch reports come back joined; the
// flows they concern are not counted as installed.
func (sw *Switch) Sync(ctx context.Context, flows []Flow, groups []GroupEntry) (SyncResult, error) {
	sw.syncMu.Lock()
	defer sw.syncMu.Unlock()
	c, err := sw.live()
	if err != nil {
		return SyncResult{}, err
	}
	want, err := prepareFlows(flows)
	if err != nil {
		return SyncResult{}, err
	}
	wantGroups, err := prepareGroups(groups)
	if err != nil {
		return SyncResult{}, err
	}
	st, err := sw.loadState(ctx, c)
	if err != nil {
		return SyncResult{}, err
	}
	p := diff(st, want, wantGroups)
	res, failed, err := sw.execute(ctx, c, p)
	if err != nil {
		// Unsure what reached the switch: read it again next time.
		sw.resetState(c)
		return res, fmt.Errorf("sync switch %016x: %w", sw.dpid, err)
	}
	sw.apply(c, p, failed)
	return res, errors.Join(failed.errs...)
}

func prepareFlows(flows []Flow) (map[string]prepared, error) {
	want := make(map[string]prepared, len(flows))
	for _, f := range flows {
		p, err := prepare(f)
		if err != nil {
			return nil, err
		}
		if _, dup := want[p.key]; dup {
			return nil, fmt.Errorf("openflow: two desired flows with key %s", p.key)
		}
		want[p.key] = p
	}
	return want, nil
}

func prepareGroups(groups []GroupEntry) (map[uint32]groupState, error) {
	want := make(map[uint32]groupState, len(groups))
	for _, g := range groups {
		if _, dup := want[g.ID]; dup {
			return nil, fmt.Errorf("openflow: two desired groups with id %d", g.ID)
		}
		if !OwnedGroup(g.ID) {
			return nil, fmt.Errorf("openflow: group id %#x outside l2lisp's range", g.ID)
		}
		if _, err := groupWire(g, ofp13.GroupAdd); err != nil {
			return nil, err
		}
		want[g.ID] = groupState{entry: g, sig: groupHash(g)}
	}
	return want, nil
}

// loadState returns a copy of the installed state for c, reading it from
// the switch (flows with our owner cookie, and all groups) when unknown.
func (sw *Switch) loadState(ctx context.Context, c *conn) (*flowState, error) {
	sw.stMu.Lock()
	known := sw.st != nil && sw.st.c == c
	sw.stMu.Unlock()
	if !known {
		st, err := readState(ctx, c)
		if err != nil {
			return nil, err
		}
		sw.log.Debug("read switch state", "flows", len(st.flows), "groups", len(st.groups))
		sw.stMu.Lock()
		sw.st = st
		sw.stMu.Unlock()
	}
	sw.stMu.Lock()
	defer sw.stMu.Unlock()
	if sw.st == nil || sw.st.c != c {
		return nil, fmt.Errorf("switch %016x: %w", sw.dpid, ErrDisconnected)
	}
	return sw.st.clone(), nil
}

func (st *flowState) clone() *flowState {
	cp := &flowState{c: st.c, flows: make(map[string]installed, len(st.flows)),
		groups: make(map[uint32]groupState, len(st.groups))}
	for k, v := range st.flows {
		cp.flows[k] = v
	}
	for k, v := range st.groups {
		cp.groups[k] = v
	}
	return cp
}

func readState(ctx context.Context, c *conn) (*flowState, error) {
	// The replies are read here rather than through dumpFlows: the state
	// keeps only a flow's key, cookie and match, and turning every
	// instruction back into actions cost a tenth of a cold start.
	parts, err := c.multipart(ctx, &ofp13.FlowStatsRequest{Table: ofp13.TableAll, OutPort: ofp13.PortAny,
		OutGroup: ofp13.GroupAny, Cookie: CookieOwner, CookieMask: CookieOwnerMask})
	if err != nil {
		return nil, fmt.Errorf("dump flows: %w", err)
	}
	groups, err := dumpGroups(ctx, c)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, p := range parts {
		if r, ok := p.(*ofp13.FlowStatsReply); ok {
			n += len(r.Stats)
		}
	}
	st := &flowState{c: c, flows: make(map[string]installed, n), groups: make(map[uint32]groupState, len(groups))}
	for _, p := range parts {
		r, ok := p.(*ofp13.FlowStatsReply)
		if !ok {
			return nil, fmt.Errorf("dump flows: unexpected reply %T", p)
		}
		for _, s := range r.Stats {
			st.flows[flowKey(s.Table, s.Priority, modelMatch(s.Match))] = installed{table: s.Table, prio: s.Priority,
				cookie: s.Cookie, match: s.Match}
		}
	}
	for _, g := range groups {
		if OwnedGroup(g.ID) {
			st.groups[g.ID] = installedGroup(groupState{entry: g, sig: groupHash(g)})
		}
	}
	return st, nil
}

func (sw *Switch) resetState(c *conn) {
	sw.stMu.Lock()
	if sw.st != nil && sw.st.c == c {
		sw.st = nil
	}
	sw.stMu.Unlock()
}

// Reread forgets what this connection is believed to hold, so the next Sync
// reads the switch's flows and groups back and compares in full: a
// periodic check that catches changes nobody reported.
func (sw *Switch) Reread() {
	sw.stMu.Lock()
	sw.st = nil
	sw.stMu.Unlock()
}

// diff computes the flow-mods and group-mods that turn st into want.
func diff(st *flowState, want map[string]prepared, wantGroups map[uint32]groupState) plan {
	p := plan{claims: map[string]string{}}
	type tpc struct {
		table  uint8
		prio   uint16
		cookie uint64
	}
	unclaimed := map[tpc]string{}
	for k, in := range st.flows {
		if _, ok := want[k]; !ok {
			unclaimed[tpc{in.table, in.prio, in.cookie}] = k
		}
	}
	for k, w := range want {
		in, ok := st.flows[k]
		switch {
		case ok && in.cookie == w.cookie:
		case ok:
			p.replaces = append(p.replaces, w)
		default:
			// Same content under a key we failed to canonicalize alike.
			if old, found := unclaimed[tpc{w.flow.Table, w.flow.Priority, w.cookie}]; found {
				p.claims[old] = k
				delete(unclaimed, tpc{w.flow.Table, w.flow.Priority, w.cookie})
				continue
			}
			p.adds = append(p.adds, w)
		}
	}
	for _, k := range unclaimed {
		p.dels = append(p.dels, st.flows[k])
	}
	p.addGroupChanges(st, wantGroups)
	for id, g := range st.groups {
		if _, ok := wantGroups[id]; !ok {
			p.groupDels = append(p.groupDels, g)
		}
	}
	return p
}

// failures records which planned operations the switch rejected.
type failures struct {
	flows  map[string]bool // desired keys of rejected adds/replaces
	dels   map[int]bool    // indexes into plan.dels
	groups map[uint32]bool
	errs   []error
}

// execute sends the plan: groups that flows may reference first, then
// flows (an add over an existing flow replaces it, cookie and timeouts
// included, which modify cannot do in OpenFlow 1.3), then deletions of
// stale flows, then of groups, and finally a barrier.
func (sw *Switch) execute(ctx context.Context, c *conn, p plan) (SyncResult, failures, error) {
	x := &executor{sw: sw, b: c.newBatch(), ops: map[uint32]op{},
		f: failures{flows: map[string]bool{}, dels: map[int]bool{}, groups: map[uint32]bool{}}}
	for _, g := range p.groupAdds {
		x.group(g, ofp13.GroupAdd)
	}
	for _, g := range p.groupMods {
		x.group(g, ofp13.GroupModify)
	}
	for i, list := range [][]prepared{p.adds, p.replaces} {
		for _, w := range list {
			key := w.key
			x.flow(w.add, func() string { return "add " + w.flow.String() }, func() { x.f.flows[key] = true })
			if i == 0 {
				x.res.Added++
			} else {
				x.res.Modified++
			}
		}
	}
	for i, in := range p.dels {
		fm := &ofp13.FlowMod{Command: ofp13.FlowDeleteStrict, Table: in.table, Priority: in.prio,
			Cookie: in.cookie, CookieMask: ^uint64(0), BufferID: ofp13.NoBuffer,
			OutPort: ofp13.PortAny, OutGroup: ofp13.GroupAny, Match: in.match}
		cookie := in.cookie
		x.flow(fm, func() string { return fmt.Sprintf("delete cookie %#x", cookie) }, func() { x.f.dels[i] = true })
		x.res.Deleted++
	}
	for _, g := range p.groupDels {
		x.group(g, ofp13.GroupDelete)
	}
	return x.finish(ctx)
}

// op is one sent request: what to say and what to mark if the switch
// refuses it. describe is only called then: most requests succeed.
type op struct {
	describe func() string
	mark     func()
}

// executor sends one plan's requests as a batch ended by a barrier.
type executor struct {
	sw  *Switch
	b   *batch
	ops map[uint32]op
	f   failures
	res SyncResult
	err error
}

func (x *executor) group(g groupState, cmd uint16) {
	gm, err := groupWire(g.entry, cmd)
	if err != nil {
		x.err = errors.Join(x.err, err)
		return
	}
	if cmd == ofp13.GroupDelete {
		gm.Buckets = nil
	}
	xid, err := x.b.send(gm)
	x.sw.groupMods.Add(1)
	x.res.GroupsChanged++
	id := g.entry.ID
	x.ops[xid] = op{func() string { return fmt.Sprintf("group-mod %d of %s", cmd, g.entry) }, func() { x.f.groups[id] = true }}
	x.err = errors.Join(x.err, err)
}

func (x *executor) flow(fm *ofp13.FlowMod, describe func() string, mark func()) {
	xid, err := x.b.send(fm)
	x.sw.flowMods.Add(1)
	x.ops[xid] = op{describe, mark}
	x.err = errors.Join(x.err, err)
}

// finish waits for the barrier and collects the switch's refusals.
func (x *executor) finish(ctx context.Context) (SyncResult, failures, error) {
	if x.err != nil {
		x.b.c.unregister(x.b.xids...)
		return x.res, x.f, x.err
	}
	errs, err := x.b.barrier(ctx)
	if err != nil {
		return x.res, x.f, err
	}
	for xid, e := range errs {
		o := x.ops[xid]
		if o.mark != nil {
			o.mark()
		}
		what := "request"
		if o.describe != nil {
			what = o.describe()
		}
		x.f.errs = append(x.f.errs, fmt.Errorf("%s: %w", what, e))
	}
	return x.res, x.f, nil
}

// apply records the plan's successful operations as installed state.
func (sw *Switch) apply(c *conn, p plan, f failures) {
	sw.stMu.Lock()
	defer sw.stMu.Unlock()
	st := sw.st
	if st == nil || st.c != c {
		return // the connection went away; the next one starts from a read
	}
	for old, k := range p.claims {
		if in, ok := st.flows[old]; ok {
			delete(st.flows, old)
			st.flows[k] = in
		}
	}
	for _, list := range [][]prepared{p.adds, p.replaces} {
		for _, w := range list {
			if f.flows[w.key] {
				continue
			}
			st.flows[w.key] = installed{table: w.flow.Table, prio: w.flow.Priority, cookie: w.cookie, match: w.add.Match}
		}
	}
	for i, in := range p.dels {
		if !f.dels[i] {
			delete(st.flows, flowKey(in.table, in.prio, modelMatch(in.match)))
		}
	}
	for _, g := range append(p.groupAdds, p.groupMods...) {
		if !f.groups[g.entry.ID] {
			st.groups[g.entry.ID] = installedGroup(g)
		}
	}
	for _, g := range p.groupDels {
		if !f.groups[g.entry.ID] {
			delete(st.groups, g.entry.ID)
		}
	}
}

// flowRemoved drops a removed flow of ours from the installed state, so the
// next Sync puts it back if it is still desired.
func (sw *Switch) flowRemoved(c *conn, fr FlowRemoved) {
	if fr.Flow.Cookie&CookieOwnerMask != CookieOwner {
		return
	}
	key := flowKey(fr.Flow.Table, fr.Flow.Priority, fr.Flow.Match)
	sw.stMu.Lock()
	defer sw.stMu.Unlock()
	if sw.st == nil || sw.st.c != c {
		return
	}
	if in, ok := sw.st.flows[key]; ok && in.cookie == fr.Flow.Cookie {
		delete(sw.st.flows, key)
	}
}

// addGroupChanges plans the adds and rewrites that make the wanted groups
// installed.
func (p *plan) addGroupChanges(st *flowState, want map[uint32]groupState) {
	for id, g := range want {
		cur, ok := st.groups[id]
		switch {
		case !ok:
			p.groupAdds = append(p.groupAdds, g)
		case cur.sig != g.sig:
			p.groupMods = append(p.groupMods, g)
		}
	}
}
