package reconcile

import (
	"context"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// convergeTimeout bounds the wait for every switch to reflect a move.
const convergeTimeout = 30 * time.Second

// packetIn feeds a punted frame to learning. It runs on the switch's event
// goroutine, so one switch's packet-ins are handled in order.
func (s *Southbound) packetIn(sw *openflow.Switch, pi openflow.PacketIn) {
	at := time.Now()
	name := s.xtrOf(sw.DPID())
	if name == "" || !s.leading() {
		return
	}
	s.missed(name, pi)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.punts.PacketIn(ctx, name, pi, at)
	if err != nil {
		s.log.Warn("learn from packet-in", "xtr", name, "err", err)
		return
	}
	if res.Changed() {
		s.log.Debug("learned", "xtr", name, "verdict", res.Verdict, "eid", res.Record.EID.Address(),
			"iid", res.Record.EID.IID, "bound", res.Bound, "took", time.Since(at))
	}
	if res.Verdict == controller.VerdictMove {
		go s.converge(res, name, at)
	}
}

// converge waits until every connected switch serving the moved EID's
// instance-id reflects the move, then records how long that took from the
// packet-in, in the histogram and as a mapping.converged event.
func (s *Southbound) converge(res controller.LearnResult, xtr string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), convergeTimeout)
	defer cancel()
	var waited []string
	ok := true
	for _, name := range s.ctl.XTRsServing(res.Record.EID.IID) {
		x, err := s.ctl.XTR(name)
		if err != nil {
			continue
		}
		if sw, found := s.of.Switch(x.DatapathID); !found || !sw.Connected() {
			continue
		}
		waited = append(waited, name)
		ok = s.rec.WaitSynced(ctx, name, res.Pos) && ok
	}
	took := time.Since(at)
	if ok {
		metrics.ConvergenceTime.Observe(took.Seconds())
	}
	data := map[string]any{"from_site": res.FromSite, "from_xtr": res.FromXTR, "to_site": res.Record.Site,
		"to_xtr": xtr, "detected_at": at.UTC(), "converged": ok, "seconds": took.Seconds(),
		"switches": waited, "version": res.Record.Version}
	ectx, ecancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ecancel()
	iid := res.Record.EID.IID
	if err := s.ctl.Emit(ectx, controller.EvMappingConverged, &iid, res.Record.EID.Address(), res.Record.Site, xtr, data); err != nil {
		s.log.Warn("emit convergence", "err", err)
	}
	s.log.Info("move converged", "eid", res.Record.EID.Address(), "iid", iid, "from", res.FromSite,
		"to", res.Record.Site, "took", took, "complete", ok)
}

// flowRemoved ages out hosts whose learned flow idled out.
func (s *Southbound) flowRemoved(sw *openflow.Switch, fr openflow.FlowRemoved) {
	name := s.xtrOf(sw.DPID())
	if name == "" {
		return
	}
	if isMapCacheFlow(fr.Flow) {
		s.rec.CacheRemoved(name, fr) // idled out; a removal of ours needs nothing
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	aged, err := s.punts.FlowRemoved(ctx, name, fr)
	if !aged {
		// Not an aged host: put back whatever the switch dropped.
		s.rec.Resync(sw.DPID())
	}
	if err != nil {
		s.log.Warn("age learned host", "xtr", name, "err", err)
	} else if aged {
		s.log.Debug("learned host aged out", "xtr", name, "flow", fr.Flow.String())
	}
}

// sweep periodically withdraws learned hosts whose port was unbound: they
// have no flow left to idle out.
func (s *Southbound) sweep(ctx context.Context) {
	every := max(s.learn.IdleTimeout, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.leading() { // the leader sweeps for all replicas
			continue
		}
		if n, err := s.ctl.SweepLearned(ctx, every); err != nil {
			s.log.Warn("sweep learned hosts", "err", err)
		} else if n > 0 {
			s.log.Info("withdrew learned hosts of unbound ports", "count", n)
		}
	}
}
