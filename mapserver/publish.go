package mapserver

import (
	"context"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/metrics"
)

// feedBuffer is how far the publisher may fall behind the feed before it
// is dropped and subscribes again (those changes go unpublished): more
// than one commit of bulk writes (controller's maxBatchRecords) holds.
const feedBuffer = 65536

// publish follows the change feed: every replica keeps its registrant map
// and subscription gauge current; the publishing replica sends a Map-Notify
// to every subscriber of each changed mapping, and to the subscribers of
// every mapping whose locator changed status.
func (ps *pubsub) publish(events <-chan controller.Event, cancel func()) {
	defer func() { cancel() }()
	ps.loadRegistrants()
	metrics.Subscriptions.Set(float64(ps.s.ctl.SubscriptionCount()))
	pb := &publisher{ps: ps, auth: newAuthCache(workerAuthKeys), status: takeStatus(ps.s.ctl)}
	for {
		select {
		case <-ps.s.ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				ps.s.log.Warn("lisp: publisher fell behind the change feed; some changes go unpublished")
				events, cancel = ps.s.ctl.Subscribe(feedBuffer)
				continue
			}
			pb.handle(ev)
		}
	}
}

// publisher holds the publishing goroutine's scratch space.
type publisher struct {
	ps     *pubsub
	auth   authCache
	status statusSnapshot // the RLOC status last published
}

func (pb *publisher) handle(ev controller.Event) {
	ps := pb.ps
	switch ev.Type {
	case controller.EvMappingCreated, controller.EvMappingUpdated, controller.EvMappingMoved, controller.EvMappingDeleted:
		start := time.Now()
		rec, err := ev.MappingRecord()
		if err != nil {
			return
		}
		deleted := ev.Type == controller.EvMappingDeleted
		if !deleted {
			ps.noteRegistrant(&rec)
		}
		if ps.cfg.Publisher() {
			pb.publishRecord(&rec, deleted, start)
		}
	case controller.EvXTRUp, controller.EvXTRDown, controller.EvBFDStatus,
		controller.EvXTRDrained, controller.EvXTRUndrained:
		changed := pb.status.changes(ps.s.ctl)
		if ps.cfg.Publisher() {
			for _, a := range changed {
				pb.publishStatus(a)
			}
		}
	case controller.EvSubscriptionCreated, controller.EvSubscriptionDeleted:
		metrics.Subscriptions.Set(float64(ps.s.ctl.SubscriptionCount()))
	}
}

// publishRecord notifies the subscribers of every prefix the changed
// record concerns (RFC 9437 §6); a deleted record goes out with TTL 0.
func (pb *publisher) publishRecord(rec *mapping.Record, deleted bool, start time.Time) {
	ps := pb.ps
	prefixes := ps.s.ctl.SubscribedPrefixes(rec.EID)
	if len(prefixes) == 0 {
		return
	}
	pr := ps.notifyRecord(rec, rec.EID.IID != 0, deleted)
	subs := pb.nextNonces(rec.EID.IID, prefixes)
	pend := make([]*pending, 0, len(subs))
	for i := range subs {
		if p := pb.build(&subs[i], pr); p != nil {
			pend = append(pend, p)
		}
	}
	ps.send(pend)
	metrics.Publications.Add(float64(len(pend)))
	metrics.PublishSeconds.Observe(time.Since(start).Seconds())
}

// nextNonces raises the nonces of the subscriptions to prefixes and
// returns them (the database decides who is subscribed).
func (pb *publisher) nextNonces(iid uint32, prefixes []string) []controller.Subscription {
	ps := pb.ps
	ctx, cancel := context.WithTimeout(ps.s.ctx, 30*time.Second)
	defer cancel()
	subs, err := ps.s.ctl.NextNonces(ctx, iid, prefixes, time.Now())
	if err != nil {
		ps.s.log.Warn("lisp: publish: raise nonces", "iid", iid, "err", err)
		return nil
	}
	return subs
}

// publishStatus notifies the subscribers whose mapping has a locator at
// rloc, whose status changed, with the mapping as it now reads.
func (pb *publisher) publishStatus(rloc netip.Addr) {
	ps := pb.ps
	start := time.Now()
	type prefixKey struct {
		iid uint32
		eid string
	}
	byPrefix := map[prefixKey]packet.Record{}
	perIID := map[uint32][]string{}
	all, _ := ps.s.ctl.Subscriptions(controller.SubFilter{})
	idx := ps.s.ctl.Index()
	for _, sub := range all {
		k := prefixKey{sub.InstanceID, sub.EID}
		if _, done := byPrefix[k]; done {
			continue
		}
		e, err := sub.Prefix()
		if err != nil {
			continue
		}
		var rec mapping.Record
		var found bool
		if e.Family() == mapping.FamilyMAC {
			rec, found = idx.LookupMAC(e.IID, e.MAC)
		} else {
			rec, found = idx.Lookup(e)
		}
		if !found || !hasLocator(rec.Locators, rloc) {
			continue
		}
		byPrefix[k] = ps.notifyRecord(&rec, e.IID != 0, false)
		perIID[e.IID] = append(perIID[e.IID], sub.EID)
	}
	n := 0
	for iid, prefixes := range perIID {
		subs := pb.nextNonces(iid, prefixes)
		pend := make([]*pending, 0, len(subs))
		for i := range subs {
			if p := pb.build(&subs[i], byPrefix[prefixKey{iid, subs[i].EID}]); p != nil {
				pend = append(pend, p)
			}
		}
		ps.send(pend)
		n += len(pend)
	}
	if n > 0 {
		metrics.Publications.Add(float64(n))
		metrics.PublishSeconds.Observe(time.Since(start).Seconds())
	}
}

func hasLocator(ls []mapping.Locator, a netip.Addr) bool {
	for _, l := range ls {
		if l.Addr == a {
			return true
		}
	}
	return false
}

// build encodes and signs one publication: the subscription's nonce (just
// raised), its xTR-ID and site-ID, signed with its site's key.
func (pb *publisher) build(sub *controller.Subscription, rec packet.Record) *pending {
	ps := pb.ps
	site, ok := ps.s.sites.get(time.Now()).byName(sub.Site)
	if !ok || len(sub.ITRRLOCs) == 0 {
		return nil
	}
	n := packet.MapNotify{Nonce: sub.Nonce, AlgID: notifyAlg, HasXTRID: true, Records: []packet.Record{rec}}
	if b, err := hex.DecodeString(sub.XTRID); err == nil && len(b) == len(n.XTRID) {
		copy(n.XTRID[:], b)
	}
	if b, err := hex.DecodeString(sub.SiteID); err == nil && len(b) == len(n.SiteID) {
		copy(n.SiteID[:], b)
	}
	b, err := n.Append(make([]byte, 0, 128))
	if err != nil || pb.auth.get(site.AuthKey).Sign(b, notifyAlg) != nil {
		return nil
	}
	dsts := make([]netip.AddrPort, len(sub.ITRRLOCs))
	for i, a := range sub.ITRRLOCs {
		dsts[i] = netip.AddrPortFrom(a, sub.Port)
	}
	iid := sub.InstanceID
	return &pending{nonce: sub.Nonce, kind: kindPublish, msg: b, dsts: dsts, key: site.AuthKey,
		site: sub.Site, xtrID: sub.XTRID, eid: sub.EID, iid: &iid}
}
