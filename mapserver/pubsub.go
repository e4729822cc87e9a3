package mapserver

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
	"github.com/l2lisp/l2lisp/metrics"
)

// Publish/subscribe (RFC 9437). An xTR subscribes with a Map-Request whose
// EID-records carry the N bit and whose trailer names its xTR-ID. The
// security association is the key of the subscriber's site: the site of the
// xTR whose RLOC the ITR-RLOC is, or of the xTR that registered mappings
// from that address. The Map-Server answers with a Map-Notify signed with
// that key; only a Map-Notify-Ack signed with the same key (proof that the
// subscriber holds it) makes the subscription real, written through the
// change feed. Every later change of a mapping it covers is published to
// it in a Map-Notify with the next nonce of the subscription, signed with
// the same key and retransmitted until acknowledged.

// NotifyConfig tunes acknowledged Map-Notify and publish/subscribe; zero
// values take the defaults.
type NotifyConfig struct {
	// Interval is the time between copies of an unacknowledged Map-Notify,
	// Retries how many copies follow the first before giving up (0: the
	// default, negative: none). RFC 9301 §5.7 asks for retransmission until
	// a Map-Notify-Ack with the same nonce arrives.
	Interval time.Duration
	Retries  int
	// MaxPending bounds the Map-Notifies waiting for their Ack.
	MaxPending int
	// Publisher reports whether this replica sends publications and sweeps
	// expired subscriptions. Every replica follows the feed and keeps the
	// subscriptions; only one should publish. nil: always (a single node);
	// a leader election hands in its "am I the leader" here.
	Publisher func() bool
	// SweepInterval is how often expired subscriptions are removed.
	SweepInterval time.Duration
	// Events bounds the subscription.refused and map-notify.unacknowledged
	// events per second written to the feed; the metrics count them all.
	Events float64
	// Workers handle subscription requests and their Acks.
	Workers int
}

// Defaults of NotifyConfig not given with the timers.
const (
	DefaultSweepInterval = 10 * time.Second
	subQueue             = 1024
	// minSubTTL and maxSubTTL bound a subscription's lifetime whatever the
	// TTL of the mapping it was answered with (0 would end it at once).
	minSubTTL = time.Minute
	maxSubTTL = 365 * 24 * time.Hour
	// notifyAlg signs Map-Notifies we originate: RFC 9301 asks every
	// implementation for HMAC-SHA-256-128.
	notifyAlg = packet.AuthHMACSHA256
)

func (c *NotifyConfig) setDefaults() {
	if c.Interval <= 0 {
		c.Interval = DefaultNotifyInterval
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = DefaultNotifyRetries
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.Publisher == nil {
		c.Publisher = func() bool { return true }
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.Events <= 0 {
		c.Events = 1
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
}

// Subscription request outcomes (SubscriptionRequests{outcome}).
const (
	subCreated = iota
	subRefreshed
	subUnsubscribed
	subRefusedNoXTRID
	subRefusedNoSite
	subRefusedAuth
	subRefusedReplay
	subRefusedUnacked
	subRefusedBusy
	subFailed
	nSubOutcomes
)

var subOutcomeNames = [nSubOutcomes]string{"created", "refreshed", "unsubscribed", "refused_no_xtr_id",
	"refused_no_site", "refused_auth", "refused_replay", "refused_unacknowledged", "refused_busy", "failed"}

// Map-Notify-Ack results (NotifyAcks{result}).
const (
	ackOK = iota
	ackBadAuth
	ackUnknown
	nAckResults
)

var ackNames = [nAckResults]string{"ok", "bad_auth", "unknown_nonce"}

var (
	subOutcomes [nSubOutcomes]prometheus.Counter
	ackResults  [nAckResults]prometheus.Counter
	retransmits [nKinds]prometheus.Counter
	giveUps     [nKinds]prometheus.Counter
)

func init() {
	for i, n := range subOutcomeNames {
		subOutcomes[i] = metrics.SubscriptionRequests.WithLabelValues(n)
	}
	for i, n := range ackNames {
		ackResults[i] = metrics.NotifyAcks.WithLabelValues(n)
	}
	for i, n := range kindNames {
		retransmits[i] = metrics.NotifyRetransmits.WithLabelValues(n)
		giveUps[i] = metrics.NotifyGiveUps.WithLabelValues(n)
	}
}

// pubsub is the Server's publish/subscribe and acknowledged Map-Notify part.
type pubsub struct {
	s     *Server
	cfg   NotifyConfig
	pend  *pendingTable
	jobs  chan subJob   // subscription requests the readers hand over
	acked chan *pending // confirmations acknowledged, to commit
	evs   chan feedEvent
	evLim *rateLimiter
	outMu sync.Mutex
	out   *udpio.BatchConn // writes of everything but the readers

	regMu       sync.RWMutex
	registrants map[netip.Addr]string // xTR address -> site it registered for
}

// feedEvent is an event for the change feed, written off the hot path.
type feedEvent struct {
	typ       string
	iid       *uint32
	eid, site string
	data      map[string]string
}

func newPubSub(s *Server) (*pubsub, error) {
	out, err := udpio.NewBatchConn(s.conns[0], DefaultBatch)
	if err != nil {
		return nil, err
	}
	ps := &pubsub{s: s, cfg: s.cfg.Notify, pend: newPendingTable(s.cfg.Notify.MaxPending),
		jobs: make(chan subJob, subQueue), acked: make(chan *pending, subQueue), evs: make(chan feedEvent, 64),
		evLim: newRateLimiter(s.cfg.Notify.Events, max(1, int(s.cfg.Notify.Events)*10), 1), out: out,
		registrants: map[netip.Addr]string{}}
	return ps, nil
}

// start runs the publisher, the retransmitter, the sweeper, the event
// writer and the subscription workers until the server's context ends.
func (ps *pubsub) start() {
	s := ps.s
	run := func(f func()) {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); f() }()
	}
	events, cancel := s.ctl.Subscribe(feedBuffer)
	run(func() { ps.publish(events, cancel) })
	run(ps.retransmit)
	run(ps.sweep)
	run(ps.emit)
	for range ps.cfg.Workers {
		run(ps.work)
	}
}

// siteOf finds the subscriber's site from its addresses: the site of the
// controller's xTR with that RLOC, else the site an xTR registered for
// from that address.
func (ps *pubsub) siteOf(now time.Time, addrs ...netip.Addr) (*controller.Site, bool) {
	snap := ps.s.sites.get(now)
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		a = a.Unmap()
		name := ""
		if x, ok := ps.s.ctl.XTRByRLOC(a); ok {
			name = x.Site
		} else {
			ps.regMu.RLock()
			name = ps.registrants[a]
			ps.regMu.RUnlock()
		}
		if name == "" {
			continue
		}
		if st, ok := snap.byName(name); ok {
			return st, true
		}
		if st, ok := ps.s.sites.fresh(snap, now).byName(name); ok {
			return st, true
		}
	}
	return nil, false
}

// maxRegistrants bounds the address-to-site map; past it, it starts over
// from the index.
const maxRegistrants = 1 << 20

// noteRegistrant remembers which site an xTR registers for.
func (ps *pubsub) noteRegistrant(rec *mapping.Record) {
	if rec.Origin != mapping.OriginRegistered || rec.XTR == "" {
		return
	}
	a, err := netip.ParseAddr(rec.XTR)
	if err != nil {
		return
	}
	a = a.Unmap()
	ps.regMu.RLock()
	same := ps.registrants[a] == rec.Site
	ps.regMu.RUnlock()
	if same {
		return
	}
	ps.regMu.Lock()
	if len(ps.registrants) >= maxRegistrants {
		clear(ps.registrants)
	}
	ps.registrants[a] = rec.Site
	ps.regMu.Unlock()
}

// loadRegistrants fills the address-to-site map from the index, so a
// subscriber is known at once after a restart.
func (ps *pubsub) loadRegistrants() {
	ps.s.ctl.Index().Range(func(r mapping.Record) bool {
		ps.noteRegistrant(&r)
		return true
	})
}

// refuseSub counts a refused subscription and, within the event budget,
// records it in the feed.
func (ps *pubsub) refuseSub(outcome int, src netip.AddrPort, site, xtrID string) {
	subOutcomes[outcome].Inc()
	data := map[string]string{"reason": subOutcomeNames[outcome], "source": src.String()}
	if xtrID != "" {
		data["xtr_id"] = xtrID
	}
	ps.event(feedEvent{typ: controller.EvSubscriptionRefused, site: site, data: data})
}

// event queues an event for the feed within the event budget.
func (ps *pubsub) event(ev feedEvent) {
	if !ps.evLim.allow(netip.IPv4Unspecified(), ps.s.mono(time.Now())) {
		return
	}
	select {
	case ps.evs <- ev:
	default:
	}
}

func (ps *pubsub) emit() {
	s := ps.s
	for {
		select {
		case <-s.ctx.Done():
			return
		case ev := <-ps.evs:
			if err := s.ctl.Emit(s.ctx, ev.typ, ev.iid, ev.eid, ev.site, "", ev.data); err != nil {
				s.log.Debug("lisp: record event", "type", ev.typ, "err", err)
			}
		}
	}
}

// sweep removes the subscriptions whose TTL ran out without a refresh.
func (ps *pubsub) sweep() {
	s := ps.s
	t := time.NewTicker(ps.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if !ps.cfg.Publisher() {
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		n, err := s.ctl.ExpireSubscriptions(ctx, time.Now())
		cancel()
		if err != nil {
			s.log.Warn("lisp: expire subscriptions", "err", err)
		} else if n > 0 {
			s.log.Info("lisp: subscriptions expired", "count", n)
		}
	}
}

// subTTL is how long a subscription answered with a record of ttl
// minutes lives unless refreshed.
func subTTL(ttl uint32) time.Duration {
	d := time.Duration(ttl) * time.Minute
	if ttl > uint32(maxSubTTL/time.Minute) {
		d = maxSubTTL
	}
	return max(d, minSubTTL)
}
