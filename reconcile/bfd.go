package reconcile

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
)

// bfdReporter hands each switch's BFD sessions, as OVSDB reports them, to
// the controller (which writes them to the change feed when they changed).
// One goroutine sends them, the latest of each xTR, so a report never
// overtakes a newer one and a slow database delays no switch.
type bfdReporter struct {
	ctl Learner
	log *slog.Logger

	mu     sync.Mutex
	latest map[string]controller.BFDReport
	kick   chan struct{}
}

func newBFDReporter(ctl Learner, log *slog.Logger) *bfdReporter {
	return &bfdReporter{ctl: ctl, log: log, latest: map[string]controller.BFDReport{}, kick: make(chan struct{}, 1)}
}

// report is the ovsdb.Manager's BFD callback.
func (b *bfdReporter) report(xtr string, sessions map[netip.Addr]bool) {
	up := 0
	for _, fwd := range sessions {
		if fwd {
			up++
		}
	}
	metrics.BFDSessions.WithLabelValues(xtr, "up").Set(float64(up))
	metrics.BFDSessions.WithLabelValues(xtr, "down").Set(float64(len(sessions) - up))
	b.mu.Lock()
	b.latest[xtr] = controller.BFDReport(maps.Clone(sessions))
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *bfdReporter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		}
		b.mu.Lock()
		batch := b.latest
		b.latest = map[string]controller.BFDReport{}
		b.mu.Unlock()
		for xtr, r := range batch {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := b.ctl.ReportBFD(rctx, xtr, r); err != nil {
				b.log.Warn("report BFD sessions", "xtr", xtr, "err", err)
			}
			cancel()
		}
	}
}

// multihomeGauges is what the status gauges read of the controller.
type multihomeGauges interface {
	XTRs() []controller.XTR
	LocatorDown(a netip.Addr) bool
	DesignatedForwarders(name string) []uint32
}

// exportMultihome keeps the locator, drain and DF gauges current.
func exportMultihome(ctx context.Context, ctl multihomeGauges) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		for _, x := range ctl.XTRs() {
			metrics.LocatorUp.WithLabelValues(x.Name).Set(boolGauge(!ctl.LocatorDown(x.RLOC)))
			metrics.XTRDrained.WithLabelValues(x.Name).Set(boolGauge(x.Drained))
			metrics.DesignatedForwarder.WithLabelValues(x.Name).Set(float64(len(ctl.DesignatedForwarders(x.Name))))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// WaitConverged waits until every xTR whose switch is connected reflects
// the change feed up to event id pos (the drain of an xTR, say) and the
// LAN announcements that follow are sent, or ctx ends; it reports which.
func (s *Southbound) WaitConverged(ctx context.Context, pos int64) bool {
	return s.rec.WaitCaughtUp(ctx, pos) && s.rec.WaitAnnounced(ctx)
}
