package mapserver

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// handleRegister authenticates a Map-Register, finds the site it belongs
// to and either refreshes the registrations in place (nothing changed) or
// hands it to a worker that writes the change.
func (r *reader) handleRegister(raw []byte, src netip.AddrPort) {
	reg := &r.reg
	if err := reg.Decode(raw); err != nil {
		r.st.drop[dropMalformed]++
		return
	}
	if len(reg.Records) == 0 {
		r.st.drop[dropNoRecords]++
		return
	}
	r.eids = r.eids[:0]
	for i := range reg.Records {
		e, ok := recordEID(&reg.Records[i])
		if !ok {
			r.refuse(regRefusedRecord, src, "", reg)
			return
		}
		r.eids = append(r.eids, e)
	}
	if reg.AlgID == packet.AuthNone || len(reg.AuthData) == 0 {
		r.refuse(regRefusedAuth, src, "", reg)
		return
	}
	snap := r.s.sites.get(r.now)
	site, reason := r.match(snap, raw)
	if site == nil || reason >= 0 {
		// The site list may be behind a change just committed: look again.
		if snap2 := r.s.sites.fresh(snap, r.now); snap2 != snap {
			site, reason = r.match(snap2, raw)
		}
	}
	if reason >= 0 {
		name := ""
		if site != nil {
			name = site.Name
		}
		r.refuse(reason, src, name, reg)
		return
	}
	if !r.unchanged(site.Name, src) {
		r.s.enqueue(r, regJob{raw: append([]byte(nil), raw...), src: src, site: site.Name, key: site.AuthKey}, r.eids[0])
		return
	}
	exp := r.s.expiry(r.now)
	for _, e := range r.eids {
		r.touch.add(e, exp)
	}
	r.st.outcome[regRefreshed] += len(r.eids)
	if reg.WantMapNotify {
		r.ackNotify(site.AuthKey, src)
	}
}

// recordEID is the mapping EID of a registered record; it also checks
// that every locator is an IP address.
func recordEID(rec *packet.Record) (mapping.EID, bool) {
	for i := range rec.Locators {
		a := &rec.Locators[i].Addr
		if a.AFI != packet.AFIIPv4 && a.AFI != packet.AFIIPv6 || a.HasIID {
			return mapping.EID{}, false
		}
	}
	var iid uint32
	if rec.EID.Addr.HasIID {
		iid = rec.EID.Addr.IID
	}
	if iid > mapping.MaxIID {
		return mapping.EID{}, false
	}
	a := &rec.EID.Addr
	switch {
	case a.AFI == packet.AFIIPv4 || a.AFI == packet.AFIIPv6:
		p := netip.PrefixFrom(a.IP, int(rec.EID.MaskLen))
		if !p.IsValid() || p.Masked() != p {
			return mapping.EID{}, false
		}
		return mapping.PrefixEID(iid, p), true
	case a.IsMAC():
		m := mapping.MAC(a.MAC)
		if rec.EID.MaskLen != 48 || m.IsMulticast() {
			return mapping.EID{}, false
		}
		return mapping.MACEID(iid, m), true
	}
	return mapping.EID{}, false
}

// holds reports whether site may register every EID of the message.
func holds(site *controller.Site, eids []mapping.EID) bool {
	for _, e := range eids {
		if !site.Serves(e.IID) || e.Family() != mapping.FamilyMAC && !site.Covers(e.Prefix) {
			return false
		}
	}
	return true
}

// maxProbeSites bounds the keys tried to explain a refusal.
const maxProbeSites = 64

// match finds the site whose key signs raw among those that may hold the
// EIDs. When none does, it names the reason: a site whose key verifies but
// that may not register these EIDs (iid or prefix), a bad signature, or no
// site at all. reason is -1 on success.
func (r *reader) match(snap *siteSnap, raw []byte) (*controller.Site, int) {
	candidates := false
	for i := range snap.sites {
		st := &snap.sites[i]
		if !holds(st, r.eids) {
			continue
		}
		candidates = true
		if r.auth.get(st.AuthKey).Verify(raw) == nil {
			return st, -1
		}
	}
	for i := range snap.sites[:min(len(snap.sites), maxProbeSites)] {
		st := &snap.sites[i]
		if holds(st, r.eids) || r.auth.get(st.AuthKey).Verify(raw) != nil {
			continue
		}
		for _, e := range r.eids {
			if !st.Serves(e.IID) {
				return st, regRefusedIID
			}
		}
		return st, regRefusedPrefix
	}
	if candidates {
		return nil, regRefusedAuth
	}
	return nil, regRefusedNoSite
}

// unchanged reports whether every record of r.reg is already stored
// exactly as registered by this xTR, so only the expiry needs to move.
func (r *reader) unchanged(site string, src netip.AddrPort) bool {
	r.scratch = src.Addr().Unmap().AppendTo(r.scratch[:0])
	idx := r.s.ctl.Index()
	for i, e := range r.eids {
		old, ok := idx.Get(e)
		if !ok || !sameRegistration(&old, &r.reg.Records[i], site, !r.reg.ProxyReply) || old.XTR != string(r.scratch) {
			return false
		}
	}
	return true
}

func sameRegistration(old *mapping.Record, rec *packet.Record, site string, noProxy bool) bool {
	if old.Origin != mapping.OriginRegistered || old.Site != site || old.TTL != rec.TTL ||
		old.NoProxy != noProxy || len(old.Locators) != len(rec.Locators) {
		return false
	}
	for i := range rec.Locators {
		l, o := &rec.Locators[i], &old.Locators[i]
		if o.Addr != l.Addr.IP.Unmap() || o.Priority != l.Priority || o.Weight != l.Weight || o.Up != l.Reachable {
			return false
		}
	}
	return true
}

// ackNotify answers r.reg with the Map-Notify that echoes it (RFC 9301
// §5.7), signed with the site's key and sent to the register's source.
func (r *reader) ackNotify(key string, src netip.AddrPort) {
	out := r.next()
	b, ok := buildNotify(out.Buf[:0], &r.notify, &r.reg, r.auth.get(key))
	if !ok {
		r.unnext()
		return
	}
	out.Buf, out.N, out.Addr = b[:cap(b)], len(b), src
	r.st.notifies++
}

// buildNotify encodes and signs the Map-Notify acknowledging reg.
func buildNotify(b []byte, n *packet.MapNotify, reg *packet.MapRegister, au *packet.Authenticator) ([]byte, bool) {
	*n = packet.MapNotify{Nonce: reg.Nonce, KeyID: reg.KeyID, AlgID: reg.AlgID, Records: reg.Records,
		HasXTRID: reg.HasXTRID, XTRID: reg.XTRID, SiteID: reg.SiteID}
	start := len(b)
	b, err := n.Append(b)
	if err != nil {
		return b, false
	}
	if err := au.Sign(b[start:], reg.AlgID); err != nil {
		return b, false
	}
	return b, true
}

// refusal is a refused registration worth an event in the feed.
type refusal struct {
	reason int
	src    netip.AddrPort
	site   string
	iid    *uint32
	eid    string
}

// refuse counts and logs a refused Map-Register and, within the event
// budget, records it in the change feed. Nothing is stored.
func (r *reader) refuse(reason int, src netip.AddrPort, site string, reg *packet.MapRegister) {
	r.st.outcome[reason]++
	if r.s.log.Enabled(context.Background(), slog.LevelDebug) {
		r.s.log.Debug("lisp: map-register refused", "reason", outcomeNames[reason], "source", src,
			"site", site, "records", len(reg.Records))
	}
	if !r.s.refLim.allow(netip.IPv4Unspecified(), r.mono) {
		return
	}
	ref := refusal{reason: reason, src: src, site: site}
	if len(reg.Records) > 0 {
		e := &reg.Records[0].EID
		iid := uint32(0)
		if e.Addr.HasIID {
			iid = e.Addr.IID
		}
		plain := packet.EID{Addr: e.Addr, MaskLen: e.MaskLen}
		plain.Addr.HasIID, plain.Addr.IID = false, 0
		ref.iid, ref.eid = &iid, plain.String()
	}
	select {
	case r.s.refused <- ref:
	default:
	}
}

// emitRefusals writes refusal events without holding up a reader.
func (s *Server) emitRefusals() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case ref := <-s.refused:
			data := map[string]string{"reason": outcomeNames[ref.reason], "source": ref.src.String()}
			if err := s.ctl.Emit(controller.WithActor(s.ctx, controller.ActorSite(ref.site)), controller.EvRegisterRefused, ref.iid, ref.eid, ref.site, "", data); err != nil {
				s.log.Debug("lisp: record refusal", "err", err)
			}
		}
	}
}
