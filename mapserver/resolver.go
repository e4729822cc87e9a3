package mapserver

import (
	"net/netip"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// The A bit of the records the resolver sends. RFC 9301 §5.4: a Map-Server
// proxy-replying for a site sets it to 0, since the answer does not come
// from the site itself; a negative answer for space no site registered is
// ours alone to give, so it is marked authoritative.
const (
	proxyAuthoritative    = false
	negativeAuthoritative = true
)

// ecmTTL is the inner IP TTL of a forwarded Map-Request.
const ecmTTL = 64

// handleRequest answers one Map-Request. src is where it came from (for
// an ECM, the inner source), raw the request bytes (forwarded verbatim
// when the ETR answers for itself).
func (r *reader) handleRequest(req *packet.MapRequest, src netip.AddrPort, raw []byte) {
	r.st.requests++
	switch {
	case req.SMR && !req.SMRInvoked:
		// RFC 9301 §6.6.2: an SMR asks its receiver to refresh a map-cache
		// entry for the source EID; a Map-Server/Map-Resolver keeps no
		// map-cache, so there is nothing to do and nothing to answer.
		r.st.drop[dropSMR]++
		return
	case req.Probe:
		r.st.drop[dropProbe]++ // RLOC-probes are for ETRs, not the mapping system
		return
	case len(req.EIDs) == 0:
		r.st.drop[dropNoRecords]++
		return
	case unsubscribing(req):
		if r.s.limiter.allow(src.Addr(), r.mono) {
			r.unsubscribe(req, src, raw)
		} else {
			r.st.limited++
		}
		return
	}
	dst, ok := r.itrRLOC(req)
	if !ok {
		r.st.drop[dropNoITRRLOC]++
		return
	}
	dst = netip.AddrPortFrom(dst.Addr(), src.Port())
	r.replyTo = dst
	// Limit by the reply's destination: with a spoofed request that is the
	// victim, so the resolver cannot be used as an amplifier against it.
	if !r.s.limiter.allow(dst.Addr(), r.mono) {
		r.st.limited++
		return
	}
	r.reply = packet.MapReply{Nonce: req.Nonce, Records: r.reply.Records[:0]}
	r.locs = r.locs[:0]
	forwarded := false
	var subscribed packet.RecordBits
	if req.Notify.Any() {
		subscribed = r.subscribe(req, src, raw) // answered by a Map-Notify instead
	}
	for i := range req.EIDs {
		if !subscribed.Has(i) {
			r.resolve(&req.EIDs[i], src, raw, &forwarded)
		}
	}
	if len(r.reply.Records) == 0 || req.DontMapReply {
		return
	}
	out := r.next()
	b, err := r.reply.Append(out.Buf[:0])
	if err != nil {
		r.unnext()
		r.st.drop[dropMalformed]++
		return
	}
	out.Buf, out.N, out.Addr = b[:cap(b)], len(b), dst
	r.st.replies++
}

// itrRLOC picks the first ITR-RLOC the socket can reach.
func (r *reader) itrRLOC(req *packet.MapRequest) (netip.AddrPort, bool) {
	for i := range req.ITRRLOCs {
		a := &req.ITRRLOCs[i]
		if a.AFI != packet.AFIIPv4 && a.AFI != packet.AFIIPv6 {
			continue
		}
		ip := a.IP.Unmap()
		if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() || r.is4 && !ip.Is4() {
			continue
		}
		return netip.AddrPortFrom(ip, 0), true
	}
	return netip.AddrPort{}, false
}

// resolve adds the answer for one requested EID to r.reply, or forwards
// the request to the ETR that asked not to be proxied.
func (r *reader) resolve(e *packet.EID, src netip.AddrPort, raw []byte, forwarded *bool) {
	var iid uint32
	if e.Addr.HasIID {
		iid = e.Addr.IID
	}
	idx := r.s.ctl.Index()
	switch {
	case e.Addr.AFI == packet.AFIIPv4 || e.Addr.AFI == packet.AFIIPv6:
		p := netip.PrefixFrom(e.Addr.IP, int(e.MaskLen))
		if !p.IsValid() {
			r.st.drop[dropMalformed]++
			return
		}
		if rec, ok := idx.Lookup(mapping.PrefixEID(iid, p)); ok {
			r.positive(e, &rec, src, raw, forwarded)
			return
		}
		r.st.lookup[lookupMiss]++
		p = p.Masked()
		if np, ok := idx.Negative(iid, p.Addr()); ok {
			r.negative(e, packet.NewPrefixEID(np), mapping.NegativeTTL, packet.ActionNativelyForward)
		} else {
			// More specific EIDs lie inside the requested prefix: tell the
			// ITR to ask for the addresses it needs.
			r.negative(e, packet.NewPrefixEID(p), 1, packet.ActionSendMapRequest)
		}
		return
	case e.Addr.IsMAC():
		if rec, ok := idx.LookupMAC(iid, mapping.MAC(e.Addr.MAC)); ok {
			r.positive(e, &rec, src, raw, forwarded)
			return
		}
		r.st.lookup[lookupMiss]++
		ne := packet.EID{Addr: e.Addr, MaskLen: 48}
		ne.Addr.HasIID, ne.Addr.IID, ne.Addr.IIDMaskLen = false, 0, 0
		r.negative(e, ne, mapping.NegativeTTL, packet.ActionNativelyForward)
		return
	}
	r.st.drop[dropUnsupportedEID]++
}

// withIID wraps an answer's EID like the request's.
func withIID(req *packet.EID, e packet.EID) packet.EID {
	if req.Addr.HasIID {
		e.Addr.HasIID, e.Addr.IID = true, req.Addr.IID
	}
	return e
}

func (r *reader) negative(req *packet.EID, e packet.EID, ttl uint32, act packet.Action) {
	r.reply.Records = append(r.reply.Records, packet.Record{TTL: ttl, EID: withIID(req, e),
		Action: act, Authoritative: negativeAuthoritative})
	r.st.negative++
}

func (r *reader) positive(req *packet.EID, rec *mapping.Record, src netip.AddrPort, raw []byte, forwarded *bool) {
	if rec.NoProxy && rec.XTR != "" {
		if !*forwarded {
			r.forward(rec, src, raw)
			*forwarded = true
		}
		r.st.lookup[lookupForward]++
		return
	}
	r.st.lookup[lookupHit]++
	r.requesters.note(rec.EID, r.replyTo, r.now)
	var e packet.EID
	if rec.EID.Family() == mapping.FamilyMAC {
		e = packet.NewMACEID(rec.EID.MAC)
	} else {
		e = packet.NewPrefixEID(rec.EID.Prefix)
	}
	start := len(r.locs)
	r.locs = appendLocators(r.locs, rec.Locators, r.s.ctl)
	r.reply.Records = append(r.reply.Records, packet.Record{TTL: rec.TTL, EID: withIID(req, e),
		Authoritative: proxyAuthoritative, Locators: r.locs[start:len(r.locs):len(r.locs)]})
}

// forward sends the request in an ECM with the to-ETR bit to the ETR that
// registered rec, which answers the ITR itself (RFC 9301 §8.4).
func (r *reader) forward(rec *mapping.Record, src netip.AddrPort, raw []byte) {
	etr, err := netip.ParseAddr(rec.XTR)
	if err != nil {
		r.st.drop[dropNoITRRLOC]++
		return
	}
	etr = etr.Unmap()
	inner := src.Addr().Unmap()
	if etr.Is4() != inner.Is4() || r.is4 && !etr.Is4() {
		r.st.drop[dropNoITRRLOC]++
		return
	}
	m := packet.ECM{ToETR: true, Src: netip.AddrPortFrom(inner, src.Port()),
		Dst: netip.AddrPortFrom(etr, DefaultETRPort), TTL: ecmTTL, Payload: raw}
	out := r.next()
	b, err := m.Append(out.Buf[:0])
	if err != nil {
		r.unnext()
		r.st.drop[dropMalformed]++
		return
	}
	out.Buf, out.N, out.Addr = b[:cap(b)], len(b), netip.AddrPortFrom(etr, r.s.cfg.ETRPort)
	r.st.forwarded++
}
