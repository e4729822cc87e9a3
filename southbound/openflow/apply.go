package openflow

import (
	"context"
	"errors"
	"fmt"
)

// Delta is a change to the desired state of a switch, for Apply: the flows
// to add or replace, the flows no longer wanted (table, priority and match
// identify them; the rest is ignored), the groups to add or replace and the
// ids of groups no longer wanted.
type Delta struct {
	Flows     []Flow
	DelFlows  []Flow
	Groups    []GroupEntry
	DelGroups []uint32
}

// Empty says whether the delta changes nothing.
func (d Delta) Empty() bool {
	return len(d.Flows)+len(d.DelFlows)+len(d.Groups)+len(d.DelGroups) == 0
}

// ErrNeedSync is returned by Apply when the switch's installed state is not
// known on the current connection (no Sync yet, or a failed one): only a
// full Sync, which reads the switch back, can establish it.
var ErrNeedSync = errors.New("openflow: installed state unknown, full sync needed")

// Apply changes only the entries a delta names, against the installed state
// established by an earlier Sync on the same connection, so its cost follows
// the size of the delta rather than of the flow table. It sends what
// differs (groups first, then flows, then deletions) and waits for a barrier.
// A flow or group already installed as wanted costs nothing; deleting one
// that is not installed is a no-op.
func (sw *Switch) Apply(ctx context.Context, d Delta) (SyncResult, error) {
	sw.syncMu.Lock()
	defer sw.syncMu.Unlock()
	c, err := sw.live()
	if err != nil {
		return SyncResult{}, err
	}
	want, err := prepareFlows(d.Flows)
	if err != nil {
		return SyncResult{}, err
	}
	wantGroups, err := prepareGroups(d.Groups)
	if err != nil {
		return SyncResult{}, err
	}
	p, err := sw.planDelta(c, want, wantGroups, d)
	if err != nil {
		return SyncResult{}, err
	}
	res, failed, err := sw.execute(ctx, c, p)
	if err != nil {
		sw.resetState(c)
		return res, fmt.Errorf("apply to switch %016x: %w", sw.dpid, err)
	}
	sw.apply(c, p, failed)
	if len(failed.errs) > 0 {
		// The switch holds something other than wanted; let the next
		// Sync read it back rather than trusting a partial update.
		sw.resetState(c)
	}
	return res, errors.Join(failed.errs...)
}

// planDelta compares only the delta's entries with the installed state, in
// place: no copy of the state is made, syncMu keeps other syncs out.
func (sw *Switch) planDelta(c *conn, want map[string]prepared, wantGroups map[uint32]groupState, d Delta) (plan, error) {
	sw.stMu.Lock()
	defer sw.stMu.Unlock()
	st := sw.st
	if st == nil || st.c != c {
		return plan{}, ErrNeedSync
	}
	var p plan
	for k, w := range want {
		in, ok := st.flows[k]
		switch {
		case ok && in.cookie == w.cookie:
		case ok:
			p.replaces = append(p.replaces, w)
		default:
			p.adds = append(p.adds, w)
		}
	}
	for _, f := range d.DelFlows {
		k := flowKey(f.Table, f.Priority, f.Match)
		if _, also := want[k]; also {
			return plan{}, fmt.Errorf("openflow: flow %s both wanted and deleted", k)
		}
		if in, ok := st.flows[k]; ok {
			p.dels = append(p.dels, in)
		}
	}
	p.addGroupChanges(st, wantGroups)
	for _, id := range d.DelGroups {
		if _, also := wantGroups[id]; also {
			return plan{}, fmt.Errorf("openflow: group %d both wanted and deleted", id)
		}
		if cur, ok := st.groups[id]; ok {
			p.groupDels = append(p.groupDels, cur)
		}
	}
	return p, nil
}
