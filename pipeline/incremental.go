package pipeline

import (
	"cmp"
	"reflect"
	"slices"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Incremental compilation. Compile's output splits into a base part, which
// depends on everything but the MAC records (ports, networks, peers, learn
// settings and the IP records bound to MACs), and one part per MAC EID:
// the table-10 and table-30 flows of its winning record and the select
// group they use. No flow of one MAC EID depends on another, and a select
// group's id depends only on its content (unless two contents hash alike,
// which we detect and leave to Compile), so
//
//	Compile(v) = sort(base flows ∪ every part's flows), base groups ∪ select groups
//
// and a change of one MAC EID changes only its own part. The property test
// in pipeline_incr_test.go holds this equality on random views.

// recordPart is what one EID contributes, kept as the record it was
// compiled from: its flows are compiled again when needed (for a delta,
// for Result), which takes microseconds, where keeping them would take
// hundreds of bytes a flow for every host of every switch.
type recordPart struct {
	rec   mapping.Record
	group uint32 // select group used; 0: none
	bind  bool   // an on-demand IP binding (bindingFlows); else a MAC record (compilePart)
}

// flowsOf compiles a kept part again. A binding's part exists only while
// its MAC is present, so it is compiled without asking.
func (in *Incremental) flowsOf(p *recordPart) []openflow.Flow {
	if p.bind {
		return in.bindFlows(&p.rec)
	}
	flows, _, _ := in.compilePart(&p.rec)
	return flows
}

// selectRef is a select group and how many parts use it.
type selectRef struct {
	g openflow.GroupEntry
	n int
}

// Incremental is one switch's compiled state kept for incremental updates.
// It is not safe for concurrent use.
//
// In an on-demand network the IP bindings are parts too (one per IP EID):
// their responder flows exist only while the MAC they are bound to has a
// record in the view, so a part of a MAC that comes or goes takes the
// parts of the addresses bound to it along (ondemand_incr.go).
type Incremental struct {
	// base is the view without its MAC records (and on-demand bindings).
	// Its output is not kept: Result compiles it again. Its flood groups
	// list every peer, so kept on every switch they would make memory
	// grow with the square of the number of sites.
	base     SwitchView
	scratch  *compiler // the base's compiler, for compiling parts
	learning bool      // tables 10 and 40 are active (learn and punt)
	parts    map[mapping.EID]recordPart
	sel      map[uint32]*selectRef
	od       onDemandParts
}

// Fits says whether a view's base (everything but its records) is still
// the one this state was compiled from, so Update can carry its changes.
func (in *Incremental) Fits(v SwitchView) bool { return sameBase(in.base, v) }

// isPart says whether a record belongs to a part rather than to the base:
// a MAC record, or any IP record of a served on-demand network.
func (in *Incremental) isPart(r *mapping.Record) bool {
	return r.EID.Family() == mapping.FamilyMAC || in.scratch.onDemand(r.EID.IID)
}

// NewIncremental compiles v as base and parts. It returns false when the
// split cannot reproduce Compile(v) (a select group id collision).
func NewIncremental(v SwitchView) (*Incremental, bool) {
	in := &Incremental{parts: map[mapping.EID]recordPart{}, sel: map[uint32]*selectRef{}}
	in.scratch = newCompiler(v) // for isPart; replaced by the base's below
	byEID := map[mapping.EID][]*mapping.Record{}
	var ips []mapping.EID
	base := v
	base.Records = nil
	for i := range v.Records {
		r := &v.Records[i]
		if !in.isPart(r) {
			base.Records = append(base.Records, *r)
			continue
		}
		if _, seen := byEID[r.EID]; !seen && r.EID.Family() != mapping.FamilyMAC {
			ips = append(ips, r.EID)
		}
		byEID[r.EID] = append(byEID[r.EID], r)
	}
	in.base = base
	in.scratch = newCompiler(base)
	in.scratch.flood() // the flood groups forward() looks for: their ids are enough
	for id, g := range in.scratch.groups {
		in.scratch.groups[id] = openflow.GroupEntry{ID: id, Type: g.Type}
	}
	in.scratch.flows = nil
	in.scratch.presence = in.od.isPresent
	in.learning = base.Learn.Enabled && len(in.scratch.byName) > 0
	for e, rs := range byEID {
		if e.Family() == mapping.FamilyMAC && !in.set(e, rs, nil) {
			return nil, false
		}
	}
	for _, e := range ips { // once every MAC's presence is known
		in.setIP(e, byEID[e], nil)
	}
	in.od.changed = nil
	return in, true
}

// Update brings the state in line with a view whose EIDs named in changes
// now have exactly the records given (none: deleted), everything else
// unchanged, and returns the change to hand to the switch. The EIDs are
// MAC EIDs, and IP EIDs of on-demand networks; any other IP record belongs
// to the base, and a change to one needs NewIncremental. It returns false
// when the state can no longer reproduce Compile; it must then be dropped.
func (in *Incremental) Update(changes map[mapping.EID][]mapping.Record) (openflow.Delta, bool) {
	d := newDeltaBuilder()
	var ips []mapping.EID
	for e, recs := range changes {
		if e.Family() != mapping.FamilyMAC {
			if !in.scratch.onDemand(e.IID) {
				return openflow.Delta{}, false
			}
			ips = append(ips, e)
			continue
		}
		if !in.set(e, ptrs(recs), d) {
			return openflow.Delta{}, false
		}
	}
	for _, e := range ips {
		in.setIP(e, ptrs(changes[e]), d)
	}
	in.recheck(d)
	return d.delta(in), true
}

func ptrs(recs []mapping.Record) []*mapping.Record {
	rs := make([]*mapping.Record, len(recs))
	for i := range recs {
		rs[i] = &recs[i]
	}
	return rs
}

// winner is the record of an EID that Compile uses, nil if none.
func (in *Incremental) winner(rs []*mapping.Record) *mapping.Record {
	var best *mapping.Record
	for _, r := range rs {
		if r.EID.Family() != mapping.FamilyMAC || r.EID.MAC.IsMulticast() || !in.scratch.served[r.EID.IID] {
			continue
		}
		if best == nil || recordOrder(r, best) < 0 {
			best = r
		}
	}
	return best
}

// compilePart runs the per-record stages of Compile on one record: its
// flows, and the select group they use (id 0: none).
func (in *Incremental) compilePart(r *mapping.Record) ([]openflow.Flow, uint32, openflow.GroupEntry) {
	c := in.scratch
	c.flows = c.flows[:0]
	if in.learning {
		c.learnRecord(r)
	}
	c.forward(r)
	var group uint32
	var g openflow.GroupEntry
	for i := range c.flows {
		f := &c.flows[i]
		if in.learning && f.Table == TableL2Forward && len(f.Actions) > 0 {
			f.Goto = TablePunt // as punt() does
		}
		for _, a := range f.Actions {
			if ga, ok := a.(openflow.Group); ok && ga.ID-SelectGroupBase < selectGroupSpan {
				group, g = ga.ID, c.groups[ga.ID]
			}
		}
	}
	flows := append(make([]openflow.Flow, 0, len(c.flows)), c.flows...)
	if group != 0 {
		// Leave the scratch compiler as the base left it.
		delete(c.groups, group)
		clear(c.selectID)
	}
	return flows, group, g
}

// set replaces the part of EID e by the one its records rs give (none if
// rs is empty) and notes the changes in d when d is not nil. It returns
// false when a select group id would collide.
func (in *Incremental) set(e mapping.EID, rs []*mapping.Record, d *deltaBuilder) bool {
	var flows []openflow.Flow
	var part recordPart
	var g openflow.GroupEntry
	r := in.winner(rs)
	if r != nil {
		flows, part.group, g = in.compilePart(r)
		part.rec = *r
	}
	if part.group != 0 {
		ref := in.sel[part.group]
		switch {
		case ref == nil:
			d.touchGroup(in, part.group)
			in.sel[part.group] = &selectRef{g: g, n: 1}
		case !reflect.DeepEqual(ref.g, g):
			return false // two locator sets hash alike: Compile probes
		default:
			ref.n++
		}
	}
	in.od.setPresent(e, r != nil)
	old, had := in.parts[e]
	var oldFlows []openflow.Flow
	if had && d != nil {
		oldFlows = in.flowsOf(&old)
	}
	if had && old.group != 0 {
		ref := in.sel[old.group]
		if ref.n--; ref.n == 0 {
			d.touchGroup(in, old.group)
			delete(in.sel, old.group)
		}
	}
	if len(flows) == 0 {
		delete(in.parts, e)
	} else {
		in.parts[e] = part
	}
	d.flows(oldFlows, flows)
	return true
}

// Result returns what Compile returns for the current view.
func (in *Incremental) Result() ([]openflow.Flow, []openflow.GroupEntry) {
	type keyed struct {
		f   *openflow.Flow
		key string
	}
	all, groups := in.Unordered()
	ks := make([]keyed, 0, len(all))
	for i := range all {
		ks = append(ks, keyed{&all[i], all[i].Match.Key()})
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.f.Table, b.f.Table), cmp.Compare(b.f.Priority, a.f.Priority),
			cmp.Compare(a.key, b.key))
	})
	flows := make([]openflow.Flow, len(ks))
	for i, k := range ks {
		flows[i] = *k.f
	}
	slices.SortFunc(groups, func(a, b openflow.GroupEntry) int { return cmp.Compare(a.ID, b.ID) })
	return flows, groups
}

// Unordered is Result in no particular order, for a switch sync, which
// keys the flows itself: sorting a switch's flows by their match text
// took a tenth of a cold start's CPU at a thousand switches.
func (in *Incremental) Unordered() ([]openflow.Flow, []openflow.GroupEntry) {
	all, groups := Compile(in.base)
	for _, p := range in.parts {
		all = append(all, in.flowsOf(&p)...)
	}
	for _, ref := range in.sel {
		groups = append(groups, ref.g)
	}
	return all, groups
}

// deltaBuilder gathers the changes of several set calls into one Delta.
// Flows are keyed like the switch keys them; a group's state before the
// first change is remembered so a group that comes back unchanged is not
// sent.
type deltaBuilder struct {
	set    map[string]openflow.Flow
	del    map[string]openflow.Flow
	before map[uint32]*openflow.GroupEntry
}

func newDeltaBuilder() *deltaBuilder {
	return &deltaBuilder{set: map[string]openflow.Flow{}, del: map[string]openflow.Flow{},
		before: map[uint32]*openflow.GroupEntry{}}
}

func (d *deltaBuilder) touchGroup(in *Incremental, id uint32) {
	if d == nil {
		return
	}
	if _, seen := d.before[id]; seen {
		return
	}
	var g *openflow.GroupEntry
	if ref := in.sel[id]; ref != nil {
		g = &ref.g
	}
	d.before[id] = g
}

// flows notes the change of one part from old to new flows.
func (d *deltaBuilder) flows(old, cur []openflow.Flow) {
	if d == nil {
		return
	}
	keep := make(map[string]bool, len(cur))
	for _, f := range cur {
		k := f.Key()
		keep[k] = true
		if i := slices.IndexFunc(old, func(o openflow.Flow) bool { return o.Key() == k }); i >= 0 &&
			reflect.DeepEqual(old[i], f) {
			continue // unchanged
		}
		delete(d.del, k)
		d.set[k] = f
	}
	for _, f := range old {
		if k := f.Key(); !keep[k] {
			delete(d.set, k)
			d.del[k] = f
		}
	}
}

// delta returns the switch-level change, given the state after the sets.
func (d *deltaBuilder) delta(in *Incremental) openflow.Delta {
	var out openflow.Delta
	for _, f := range d.set {
		out.Flows = append(out.Flows, f)
	}
	for _, f := range d.del {
		out.DelFlows = append(out.DelFlows, f)
	}
	for id, was := range d.before {
		ref := in.sel[id]
		switch {
		case ref == nil && was != nil:
			out.DelGroups = append(out.DelGroups, id)
		case ref != nil && (was == nil || !reflect.DeepEqual(*was, ref.g)):
			out.Groups = append(out.Groups, ref.g)
		}
	}
	return out
}
