package reconcile

import (
	"context"
	"encoding/binary"
	"log/slog"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/frame"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/ratelimit"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Punts turns the packet-ins of table 40 and the flow-removed messages of
// table 10 into learning and aging. Its only state is rate limiting; what
// it learns goes to the database.
type Punts struct {
	Ctl Learner
	Log *slog.Logger

	mu      sync.Mutex
	buckets map[string]*ratelimit.Bucket // xtr/port -> token bucket
	limited map[string]time.Time         // xtr/port -> last learn.limit event
}

// limitEventEvery spaces the learn.limit events of one port.
const limitEventEvery = time.Minute

func (p *Punts) allow(key string, now time.Time, lc controller.LearnConfig) bool {
	if lc.PortRate <= 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buckets == nil {
		p.buckets, p.limited = map[string]*ratelimit.Bucket{}, map[string]time.Time{}
	}
	b := p.buckets[key]
	if b == nil {
		b = &ratelimit.Bucket{}
		p.buckets[key] = b
	}
	return b.Take(now, lc.PortRate, max(lc.PortBurst, 1))
}

// PacketIn handles one punted frame from xTR xtr, received at time at.
// Frames from other tables, unbound ports or over the port's rate are
// ignored (Verdict "").
func (p *Punts) PacketIn(ctx context.Context, xtr string, pi openflow.PacketIn, at time.Time) (controller.LearnResult, error) {
	lc := p.Ctl.LearnConfig()
	if !lc.Enabled || pi.Table != pipeline.TablePunt {
		return controller.LearnResult{}, nil
	}
	port, ok := p.Ctl.PortByOFPort(xtr, pi.InPort)
	if !ok {
		return controller.LearnResult{}, nil
	}
	key := xtr + "/" + port.Name
	if !p.allow(key, at, lc) {
		return controller.LearnResult{}, nil
	}
	f, err := frame.Parse(pi.Data)
	if err != nil {
		return controller.LearnResult{}, nil
	}
	s := controller.Sighting{XTR: xtr, Port: port.Name, IID: port.InstanceID, MAC: f.Src, At: at}
	if f.Announced.IsValid() {
		s.IP, s.BindMAC = f.Announced, f.Owner
	}
	res, err := p.Ctl.Learn(ctx, s)
	if err != nil {
		return res, err
	}
	if res.Verdict == controller.VerdictLimit {
		p.limitEvent(ctx, key, at, s, lc)
	}
	return res, nil
}

// limitEvent emits learn.limit at most once a minute per port.
func (p *Punts) limitEvent(ctx context.Context, key string, at time.Time, s controller.Sighting, lc controller.LearnConfig) {
	p.mu.Lock()
	last := p.limited[key]
	due := at.Sub(last) >= limitEventEvery
	if due {
		p.limited[key] = at
	}
	p.mu.Unlock()
	if !due {
		return
	}
	x, _ := p.Ctl.XTR(s.XTR)
	data := map[string]any{"port": s.Port, "limit": lc.MaxPerPort, "mac": s.MAC.String()}
	if err := p.Ctl.Emit(controller.OrActor(ctx, controller.ActorLearning), controller.EvLearnLimit, &s.IID, "", x.Site, s.XTR, data); err != nil {
		p.Log.Warn("emit learn.limit", "xtr", s.XTR, "port", s.Port, "err", err)
	}
}

// FlowRemoved ages out the MAC of a learned table-10 flow that idled out.
// Removals the sync itself made (reason delete) mean nothing here.
func (p *Punts) FlowRemoved(ctx context.Context, xtr string, fr openflow.FlowRemoved) (bool, error) {
	f := fr.Flow
	if fr.Reason != openflow.RemovedIdleTimeout || f.Table != pipeline.TableLearn ||
		f.Cookie&(openflow.CookieOwnerMask|openflow.CookieStageMask) != openflow.StageCookie(pipeline.StageLearn) {
		return false, nil
	}
	var inPort uint32
	var mac mapping.MAC
	var haveMAC bool
	for _, o := range f.Match {
		switch {
		case o.Class == openflow.ClassOpenFlowBasic && o.Field == 0 && len(o.Value) == 4:
			inPort = binary.BigEndian.Uint32(o.Value)
		case isEthSrc(o) && len(o.Value) == 6 && o.Mask == nil:
			copy(mac[:], o.Value)
			haveMAC = true
		}
	}
	port, ok := p.Ctl.PortByOFPort(xtr, inPort)
	if !haveMAC || !ok {
		return false, nil
	}
	return p.Ctl.Age(ctx, xtr, port.Name, port.InstanceID, mac, time.Duration(f.IdleTimeout)*time.Second)
}

// isEthSrc matches eth_src in either encoding OVS may report.
func isEthSrc(o openflow.OXM) bool {
	return (o.Class == openflow.ClassOpenFlowBasic && o.Field == 4) || (o.Class == openflow.ClassNXM0 && o.Field == 2)
}
