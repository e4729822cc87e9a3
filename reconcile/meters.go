package reconcile

import (
	"context"

	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// meteredSwitch installs the per-port packet-in meters a flow set names
// before syncing it: OVS rejects a flow whose meter does not exist.
type meteredSwitch struct {
	s  *Southbound
	sw *openflow.Switch
}

// Sync sets missing meters, then syncs flows and groups.
func (m meteredSwitch) Sync(ctx context.Context, flows []openflow.Flow, groups []openflow.GroupEntry) (openflow.SyncResult, error) {
	if err := m.ensureMeters(ctx, flows); err != nil {
		return openflow.SyncResult{}, err
	}
	return m.sw.Sync(ctx, flows, groups)
}

// Apply sets missing meters, then applies the delta.
func (m meteredSwitch) Apply(ctx context.Context, d openflow.Delta) (openflow.SyncResult, error) {
	if err := m.ensureMeters(ctx, d.Flows); err != nil {
		return openflow.SyncResult{}, err
	}
	return m.sw.Apply(ctx, d)
}

// Reread makes the next Sync read the switch's state back.
func (m meteredSwitch) Reread() { m.sw.Reread() }

// DumpFlows reads the switch's flows with their counters (the map-cache).
func (m meteredSwitch) DumpFlows(ctx context.Context, cookie, mask uint64) ([]openflow.FlowStats, error) {
	return m.sw.DumpFlows(ctx, cookie, mask)
}

// ensureMeters sets the meters flows name that this process has not set
// on the switch yet.
func (m meteredSwitch) ensureMeters(ctx context.Context, flows []openflow.Flow) error {
	dpid := m.sw.DPID()
	for _, f := range flows {
		if f.Meter == 0 {
			continue
		}
		m.s.mu.Lock()
		done := m.s.meters[dpid][f.Meter]
		m.s.mu.Unlock()
		if done {
			continue
		}
		me := openflow.MeterEntry{ID: f.Meter, Rate: m.s.learn.MeterRate, Burst: m.s.learn.MeterBurst}
		if f.Meter == pipeline.MissMeter {
			me.Rate, me.Burst = m.s.mapCache.MissRate, m.s.mapCache.MissBurst
		}
		if err := m.sw.SetMeter(ctx, me); err != nil {
			return err
		}
		m.s.mu.Lock()
		if m.s.meters[dpid] == nil {
			m.s.meters[dpid] = map[uint32]bool{}
		}
		m.s.meters[dpid][f.Meter] = true
		m.s.mu.Unlock()
	}
	return nil
}
