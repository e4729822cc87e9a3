package openflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// MeterEntry is a drop meter, used to rate-limit packet-ins: flows name it
// in Flow.Meter. Rate is in packets per second unless Kbps is set; Burst 0
// means the switch's default burst.
type MeterEntry struct {
	ID    uint32
	Rate  uint32
	Burst uint32
	Kbps  bool
}

func (m MeterEntry) wire(cmd uint16) *ofp13.MeterMod {
	flags := ofp13.MeterFlagPktps
	if m.Kbps {
		flags = ofp13.MeterFlagKbps
	}
	if m.Burst != 0 {
		flags |= ofp13.MeterFlagBurst
	}
	return &ofp13.MeterMod{Command: cmd, Flags: flags, MeterID: m.ID,
		Bands: []ofp13.MeterBand{{Type: ofp13.MeterBandDrop, Rate: m.Rate, BurstSize: m.Burst}}}
}

// SetMeter installs or updates a meter; set meters before the flows that
// use them are synced.
func (sw *Switch) SetMeter(ctx context.Context, m MeterEntry) error {
	sw.syncMu.Lock()
	defer sw.syncMu.Unlock()
	c, err := sw.live()
	if err != nil {
		return err
	}
	err = c.sendChecked(ctx, m.wire(ofp13.MeterAdd))
	var oe *ofp13.Error
	if errors.As(err, &oe) && oe.Type == ofp13.ErrMeterModFailed && oe.Code == ofp13.CodeMeterExists {
		err = c.sendChecked(ctx, m.wire(ofp13.MeterModify))
	}
	if err != nil {
		return fmt.Errorf("meter %d: %w", m.ID, err)
	}
	return nil
}

// DeleteMeter removes a meter (and, per OpenFlow, the flows that use it).
func (sw *Switch) DeleteMeter(ctx context.Context, id uint32) error {
	sw.syncMu.Lock()
	defer sw.syncMu.Unlock()
	c, err := sw.live()
	if err != nil {
		return err
	}
	if err := c.sendChecked(ctx, &ofp13.MeterMod{Command: ofp13.MeterDelete, MeterID: id}); err != nil {
		return fmt.Errorf("delete meter %d: %w", id, err)
	}
	return nil
}
