package mapserver

import (
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/pipeline"
)

// subJob is a subscription (or unsubscription) request a reader hands to a
// worker: the checks that need the database run off the readers.
type subJob struct {
	raw   []byte           // the Map-Request, copied
	port  uint16           // its source port, where Map-Notifies go
	dsts  []netip.AddrPort // where the confirming Map-Notify goes
	site  string           // the subscriber's site
	key   string           // and its key, the security association
	unsub bool
}

// subRequest is what an acknowledged confirmation commits.
type subRequest struct {
	subs  []controller.Subscription
	unsub bool
	src   netip.AddrPort
}

// unsubscribing reports a request to end subscriptions: RFC 9437 §5 has a
// single ITR-RLOC with AFI 0.
func unsubscribing(req *packet.MapRequest) bool {
	return req.Notify.Any() && len(req.ITRRLOCs) == 1 && req.ITRRLOCs[0].AFI == packet.AFINone
}

// subscribe hands the records of req with the N bit to a worker and returns
// them, so that the Map-Reply leaves them out: the confirming Map-Notify
// carries their mappings (RFC 9437 §5). A request that cannot subscribe is
// refused, counted, and answered by the Map-Reply as if the N bit were not
// there.
func (r *reader) subscribe(req *packet.MapRequest, src netip.AddrPort, raw []byte) packet.RecordBits {
	ps := r.s.ps
	if !req.HasXTRID {
		ps.refuseSub(subRefusedNoXTRID, src, "", "")
		return packet.RecordBits{}
	}
	var dsts []netip.AddrPort
	addrs := make([]netip.Addr, 0, len(req.ITRRLOCs)+1)
	for i := range req.ITRRLOCs {
		a := &req.ITRRLOCs[i]
		if ip := a.IP.Unmap(); (a.AFI == packet.AFIIPv4 || a.AFI == packet.AFIIPv6) && usableRLOC(ip, r.is4) {
			dsts = append(dsts, netip.AddrPortFrom(ip, src.Port()))
			addrs = append(addrs, ip)
		}
	}
	if len(dsts) == 0 {
		return packet.RecordBits{} // handleRequest checked there is one; be safe
	}
	addrs = append(addrs, src.Addr())
	site, ok := ps.siteOf(r.now, addrs...)
	if !ok {
		ps.refuseSub(subRefusedNoSite, src, "", xtrIDText(&req.XTRID))
		return packet.RecordBits{}
	}
	j := subJob{raw: append([]byte(nil), raw...), port: src.Port(), dsts: dsts, site: site.Name, key: site.AuthKey}
	select {
	case ps.jobs <- j:
	default:
		ps.refuseSub(subRefusedBusy, src, site.Name, xtrIDText(&req.XTRID))
		return packet.RecordBits{}
	}
	return req.Notify
}

// unsubscribe hands a request to end subscriptions to a worker; its
// confirmation goes to the request's source (RFC 9437 §5), signed with the
// key of the site that holds the subscriptions.
func (r *reader) unsubscribe(req *packet.MapRequest, src netip.AddrPort, raw []byte) {
	ps := r.s.ps
	if !req.HasXTRID {
		ps.refuseSub(subRefusedNoXTRID, src, "", "")
		return
	}
	xtrID := xtrIDText(&req.XTRID)
	var site *controller.Site
	for i := range req.EIDs {
		if e, ok := eidOf(&req.EIDs[i]); ok && req.Notify.Has(i) {
			if sub, ok := r.s.ctl.SubscriptionByKey(controller.SubKey{XTRID: xtrID, IID: e.IID, EID: e.Address()}); ok {
				if st, ok := r.s.sites.get(r.now).byName(sub.Site); ok {
					site = st
					break
				}
			}
		}
	}
	if site == nil {
		if st, ok := ps.siteOf(r.now, src.Addr()); ok {
			site = st
		} else {
			ps.refuseSub(subRefusedNoSite, src, "", xtrID)
			return
		}
	}
	j := subJob{raw: append([]byte(nil), raw...), port: src.Port(), dsts: []netip.AddrPort{src},
		site: site.Name, key: site.AuthKey, unsub: true}
	select {
	case ps.jobs <- j:
	default:
		ps.refuseSub(subRefusedBusy, src, site.Name, xtrID)
	}
}

func usableRLOC(ip netip.Addr, sock4 bool) bool {
	return ip.IsValid() && !ip.IsUnspecified() && !ip.IsMulticast() && (!sock4 || ip.Is4())
}

func xtrIDText(id *[16]byte) string { return hex.EncodeToString(id[:]) }

// eidOf is the mapping EID a requested EID-record names.
func eidOf(e *packet.EID) (mapping.EID, bool) {
	var iid uint32
	if e.Addr.HasIID {
		iid = e.Addr.IID
	}
	switch {
	case e.Addr.AFI == packet.AFIIPv4 || e.Addr.AFI == packet.AFIIPv6:
		p := netip.PrefixFrom(e.Addr.IP.Unmap(), int(e.MaskLen))
		if !p.IsValid() {
			return mapping.EID{}, false
		}
		return mapping.PrefixEID(iid, p), true
	case e.Addr.IsMAC():
		return mapping.MACEID(iid, mapping.MAC(e.Addr.MAC)), true
	}
	return mapping.EID{}, false
}

// work runs subscription requests and commits acknowledged ones.
func (ps *pubsub) work() {
	w := &subWorker{ps: ps, auth: newAuthCache(workerAuthKeys)}
	for {
		select {
		case <-ps.s.ctx.Done():
			return
		case j := <-ps.jobs:
			w.request(j)
		case p := <-ps.acked:
			ps.commit(p)
		}
	}
}

// subWorker holds one worker's scratch space.
type subWorker struct {
	ps   *pubsub
	auth authCache
	req  packet.MapRequest
}

// request checks a subscription request against the stored nonces (RFC
// 9437 §5: a nonce not greater than the stored one is dropped as a
// possible replay) and sends the confirming Map-Notify, with the current
// mapping of every record and the request's nonce, signed with the
// subscriber's site key.
func (w *subWorker) request(j subJob) {
	ps, req := w.ps, &w.req
	if err := req.Decode(j.raw); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ps.s.ctx, 10*time.Second)
	defer cancel()
	now := time.Now().UTC()
	xtrID, siteID := xtrIDText(&req.XTRID), hex.EncodeToString(req.SiteID[:])
	var recs []packet.Record
	var subs []controller.Subscription
	for i := range req.EIDs {
		e, ok := eidOf(&req.EIDs[i])
		if !req.Notify.Has(i) || !ok {
			continue
		}
		stored, exists, err := ps.s.ctl.SubscriptionNonce(ctx, controller.SubKey{XTRID: xtrID, IID: e.IID, EID: e.Address()})
		if err != nil {
			subOutcomes[subFailed].Inc()
			ps.s.log.Warn("lisp: read subscription", "err", err)
			return
		}
		if exists && req.Nonce <= stored {
			ps.s.log.Warn("lisp: subscription request with an old nonce dropped: a replay?", "xtr_id", xtrID, "eid", e)
			ps.refuseSub(subRefusedReplay, j.dsts[0], j.site, xtrID)
			return
		}
		if j.unsub && !exists {
			continue
		}
		rec, ttl := ps.answer(&req.EIDs[i], e)
		recs = append(recs, rec)
		subs = append(subs, controller.Subscription{XTRID: xtrID, SiteID: siteID, Site: j.site,
			InstanceID: e.IID, EID: e.Address(), ITRRLOCs: dstAddrs(j.dsts), Port: j.port, TTL: ttl,
			CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(subTTL(ttl)), Nonce: req.Nonce})
	}
	if len(subs) == 0 {
		return
	}
	n := packet.MapNotify{Nonce: req.Nonce, AlgID: notifyAlg, HasXTRID: true, XTRID: req.XTRID,
		SiteID: req.SiteID, Records: recs}
	b, err := n.Append(nil)
	if err != nil || w.auth.get(j.key).Sign(b, notifyAlg) != nil {
		subOutcomes[subFailed].Inc()
		return
	}
	kind := kindSubscribe
	if j.unsub {
		kind = kindUnsubscribe
	}
	iid := subs[0].InstanceID
	ps.send([]*pending{{nonce: req.Nonce, kind: kind, msg: b, dsts: j.dsts, key: j.key, site: j.site,
		xtrID: xtrID, eid: subs[0].EID, iid: &iid, sub: &subRequest{subs: subs, unsub: j.unsub, src: j.dsts[0]}}})
}

func dstAddrs(ds []netip.AddrPort) []netip.Addr {
	out := make([]netip.Addr, len(ds))
	for i, d := range ds {
		out[i] = d.Addr()
	}
	return out
}

// commit writes what an acknowledged confirmation asked for through the
// change feed; the database checks the nonce once more, as another
// replica may have taken a newer request meanwhile.
func (ps *pubsub) commit(p *pending) {
	ctx, cancel := context.WithTimeout(ps.s.ctx, 10*time.Second)
	defer cancel()
	for _, sub := range p.sub.subs {
		var err error
		outcome := subUnsubscribed
		if p.sub.unsub {
			err = ps.s.ctl.Unsubscribe(ctx, sub.Key(), sub.Nonce)
		} else {
			var created bool
			created, err = ps.s.ctl.SaveSubscription(ctx, sub)
			outcome = subRefreshed
			if created {
				outcome = subCreated
			}
		}
		switch {
		case errors.Is(err, controller.ErrReplay):
			ps.refuseSub(subRefusedReplay, p.sub.src, sub.Site, sub.XTRID)
		case err != nil:
			subOutcomes[subFailed].Inc()
			ps.s.log.Warn("lisp: store subscription", "xtr_id", sub.XTRID, "eid", sub.EID, "err", err)
		default:
			subOutcomes[outcome].Inc()
		}
	}
}

// answer is the record a Map-Notify carries for a requested EID, as the
// resolver would answer it, and the TTL the subscription takes from it.
func (ps *pubsub) answer(req *packet.EID, e mapping.EID) (packet.Record, uint32) {
	idx := ps.s.ctl.Index()
	var rec mapping.Record
	var ok bool
	if e.Family() == mapping.FamilyMAC {
		rec, ok = idx.LookupMAC(e.IID, e.MAC)
	} else {
		rec, ok = idx.Lookup(e)
	}
	if ok && !(rec.NoProxy && rec.XTR != "") {
		return ps.notifyRecord(&rec, req.Addr.HasIID || e.IID != 0, false), rec.TTL
	}
	// No mapping: a temporary subscription to the requested prefix, with
	// the negative answer's TTL (RFC 9437 §5 recommends 15 minutes).
	neg := packet.Record{TTL: mapping.NegativeTTL, EID: *req, Action: packet.ActionNativelyForward,
		Authoritative: negativeAuthoritative}
	if e.Family() != mapping.FamilyMAC {
		neg.EID = withIID(req, packet.NewPrefixEID(e.Prefix))
		if np, found := idx.Negative(e.IID, e.Prefix.Addr()); found {
			neg.EID = withIID(req, packet.NewPrefixEID(np))
		}
	}
	return neg, mapping.NegativeTTL
}

// notifyRecord encodes a mapping for a Map-Notify, with the controller's
// locator status; a withdrawn mapping has TTL 0 and no locators (RFC 9437
// §5).
func (ps *pubsub) notifyRecord(rec *mapping.Record, iidLCAF, withdrawn bool) packet.Record {
	var e packet.EID
	if rec.EID.Family() == mapping.FamilyMAC {
		e = packet.NewMACEID(rec.EID.MAC)
	} else {
		e = packet.NewPrefixEID(rec.EID.Prefix)
	}
	if iidLCAF {
		e = e.WithIID(rec.EID.IID)
	}
	out := packet.Record{TTL: rec.TTL, EID: e, Authoritative: proxyAuthoritative}
	if withdrawn {
		out.TTL = 0
		return out
	}
	out.Locators = appendLocators(nil, rec.Locators, ps.s.ctl)
	return out
}

// appendLocators encodes a locator set as Map-Replies and Map-Notifies
// carry it: a locator the controller knows to be down has the R bit clear
// and priority 255, "do not use" (RFC 9301 §5.4); a drained xTR's has
// priority pipeline.DrainPriority, used only when nothing better is left.
func appendLocators(dst []packet.Locator, ls []mapping.Locator, ctl *controller.Controller) []packet.Locator {
	anyDown, anyDrained := ctl.AnyLocatorDown(), ctl.AnyLocatorDrained()
	for _, l := range ls {
		loc := packet.Locator{Priority: l.Priority, Weight: l.Weight, MPriority: 255, Reachable: l.Up,
			Addr: packet.AddrFromIP(l.Addr)}
		if anyDrained && loc.Priority < pipeline.DrainPriority && ctl.LocatorDrained(l.Addr) {
			loc.Priority = pipeline.DrainPriority
		}
		if anyDown && ctl.LocatorDown(l.Addr) {
			loc.Priority, loc.Reachable = 255, false
		}
		dst = append(dst, loc)
	}
	return dst
}
