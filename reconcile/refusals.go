package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Budgets of the refusal reports: each (reason, source address, name the
// certificate gives) is logged at most once a second and raised as an event
// at most once a minute, and all of them together within a global rate, so
// a flood fills neither the log nor the change feed. The metric counts
// every refusal.
var (
	refusalLogBudget   = budget{perKey: time.Second, rate: 20, burst: 40}
	refusalEventBudget = budget{perKey: time.Minute, rate: 1.0 / 6, burst: 10}
)

// maxRefusalKeys bounds the memory of the per-source budgets.
const maxRefusalKeys = 4096

// refusals reports the OpenFlow connections the server turned away.
type refusals struct {
	ctl    State
	log    *slog.Logger
	logs   *limiter
	events *limiter
	queue  chan refusalEvent
}

type refusalEvent struct {
	r          openflow.Refusal
	suppressed int
}

func newRefusals(ctl State, log *slog.Logger) *refusals {
	for _, reason := range []string{openflow.RefusedNoCert, openflow.RefusedUntrusted, openflow.RefusedTLS,
		openflow.RefusedUnknownXTR, openflow.RefusedDPIDMismatch, openflow.RefusedDuplicate} {
		metrics.OpenFlowRefused.WithLabelValues(reason) // shows 0 until the first one
	}
	return &refusals{ctl: ctl, log: log, logs: newLimiter(refusalLogBudget), events: newLimiter(refusalEventBudget),
		queue: make(chan refusalEvent, 64)}
}

// report is the OpenFlow server's OnRefused: it must not block.
func (rf *refusals) report(r openflow.Refusal) {
	metrics.OpenFlowRefused.WithLabelValues(r.Reason).Inc()
	key := refusalKey{reason: r.Reason, src: remoteIP(r.Remote), name: r.Name + "/" + r.Claimed}
	now := time.Now()
	if ok, skipped := rf.logs.allow(key, now); ok {
		rf.log.Warn("OpenFlow connection refused", "reason", r.Reason, "remote", addrString(r.Remote),
			"name", r.Name, "claimed_name", r.Claimed, "dpid", dpidString(r), "err", r.Err, "suppressed", skipped)
	}
	if ok, skipped := rf.events.allow(key, now); ok {
		select {
		case rf.queue <- refusalEvent{r: r, suppressed: skipped}:
		default: // the writer is behind: the metric still counts it
		}
	}
}

// run writes the queued events until ctx ends.
func (rf *refusals) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-rf.queue:
			rf.emit(ctx, ev)
		}
	}
}

func (rf *refusals) emit(ctx context.Context, ev refusalEvent) {
	r := ev.r
	data := map[string]any{"reason": r.Reason, "remote": addrString(r.Remote), "suppressed": ev.suppressed}
	if r.Err != nil {
		data["error"] = r.Err.Error()
	}
	if r.Name != "" {
		data["name"] = r.Name
	}
	if r.Claimed != "" {
		data["claimed_name"] = r.Claimed
	}
	if d := dpidString(r); d != "" {
		data["dpid"] = d
	}
	var site, xtr string
	if r.Name != "" {
		if x, err := rf.ctl.XTR(r.Name); err == nil {
			site, xtr = x.Site, x.Name // the certificate proved this name
		}
	}
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rf.ctl.Emit(ectx, controller.EvOpenFlowRefused, nil, "", site, xtr, data); err != nil {
		rf.log.Debug("record OpenFlow refusal", "err", err)
	}
}

func dpidString(r openflow.Refusal) string {
	if r.DPID == 0 {
		return "" // refused before the features reply
	}
	return fmt.Sprintf("%016x", r.DPID)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

type refusalKey struct {
	reason string
	src    netip.Addr
	name   string // verified or claimed certificate name: another identity is another incident
}

// budget is how often a limiter lets one key, and all keys, through.
type budget struct {
	perKey      time.Duration
	rate, burst float64 // global token bucket: tokens per second, size
}

// limiter applies a budget; it remembers how many reports of each key it
// held back, so the next one can say so.
type limiter struct {
	b      budget
	mu     sync.Mutex
	keys   map[refusalKey]*keyState
	tokens float64
	last   time.Time
}

type keyState struct {
	last    time.Time
	skipped int
}

func newLimiter(b budget) *limiter {
	return &limiter{b: b, keys: map[refusalKey]*keyState{}, tokens: b.burst}
}

// allow reports whether key may be reported at now, and how many of its
// reports were held back since the last one let through.
func (l *limiter) allow(key refusalKey, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() {
		l.tokens = min(l.b.burst, l.tokens+now.Sub(l.last).Seconds()*l.b.rate)
	}
	l.last = now
	st := l.keys[key]
	if st == nil {
		l.prune(now)
		st = &keyState{}
		l.keys[key] = st
	}
	if (!st.last.IsZero() && now.Sub(st.last) < l.b.perKey) || l.tokens < 1 {
		st.skipped++
		return false, 0
	}
	l.tokens--
	skipped := st.skipped
	st.last, st.skipped = now, 0
	return true, skipped
}

// prune forgets keys quiet for a while, and all of them if a flood from
// many sources keeps the table full (the global bucket still holds).
func (l *limiter) prune(now time.Time) {
	if len(l.keys) < maxRefusalKeys {
		return
	}
	for k, st := range l.keys {
		if now.Sub(st.last) > 10*l.b.perKey {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= maxRefusalKeys {
		clear(l.keys)
	}
}
