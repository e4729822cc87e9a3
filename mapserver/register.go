package mapserver

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// handleRegister checks a Map-Register against the registration
// authority at the cost of at most one HMAC (see candidate.go), then
// either refreshes the registrations in place (nothing changed) or hands
// it to a worker that writes the change. A refusal answers nothing.
func (r *reader) handleRegister(raw []byte, src netip.AddrPort) {
	if r.s.budget.exhausted(src.Addr(), r.mono) {
		// A source that keeps failing authentication costs no HMAC.
		r.refuse(refusal{reason: regRefusedBudget, src: src}, nil)
		return
	}
	reg := &r.reg
	if err := reg.Decode(raw); err != nil {
		r.st.drop[dropMalformed]++
		return
	}
	if len(reg.Records) == 0 {
		r.st.drop[dropNoRecords]++
		return
	}
	if !r.collect(reg) {
		r.refuse(refusal{reason: regRefusedRecord, src: src}, reg)
		return
	}
	if reg.AlgID == packet.AuthNone || len(reg.AuthData) == 0 {
		r.refuse(refusal{reason: regRefusedAuth, src: src}, reg)
		return
	}
	site, snap, reason := r.choose(src)
	if reason >= 0 {
		r.refuse(refusal{reason: reason, src: src}, reg)
		return
	}
	if !r.verify(site.AuthKey, raw) {
		r.s.budget.allow(src.Addr(), r.mono) // charge the failure to the source
		r.refuse(refusal{reason: regRefusedAuth, src: src, candidate: site.Name}, reg)
		return
	}
	if why, owner := r.authority(snap, site); why >= 0 {
		r.refuse(refusal{reason: why, src: src, site: site.Name, owner: owner}, reg)
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

// collect fills r.eids and r.rlocs from the records; false if one is
// not something a site can register.
func (r *reader) collect(reg *packet.MapRegister) bool {
	r.eids, r.rlocs = r.eids[:0], r.rlocs[:0]
	for i := range reg.Records {
		rec := &reg.Records[i]
		e, ok := recordEID(rec)
		if !ok {
			return false
		}
		r.eids = append(r.eids, e)
		for j := range rec.Locators {
			r.rlocs = append(r.rlocs, rec.Locators[j].Addr.IP.Unmap())
		}
	}
	return true
}

// choose picks the one site whose key may have signed the message. The
// site list may be behind a change just committed: before refusing, it
// looks again.
func (r *reader) choose(src netip.AddrPort) (*controller.Site, *siteSnap, int) {
	r.info.eids, r.info.rlocs, r.info.src = r.eids, r.rlocs, src.Addr().Unmap()
	snap := r.s.sites.get(r.now)
	i, reason := snap.pick(&r.info, &r.pick)
	if reason >= 0 {
		if snap2 := r.s.sites.fresh(snap, r.now); snap2 != snap {
			snap = snap2
			i, reason = snap.pick(&r.info, &r.pick)
		}
	}
	if reason >= 0 {
		return nil, snap, reason
	}
	return &snap.sites[i], snap, -1
}

// registrant names the site for which the source registered the current
// record of the first EID, if it did.
func (r *reader) registrant() string {
	old, ok := r.s.ctl.Index().Get(r.eids[0])
	if !ok || old.Origin != mapping.OriginRegistered {
		return ""
	}
	r.scratch = r.info.src.AppendTo(r.scratch[:0])
	if old.XTR != string(r.scratch) {
		return ""
	}
	return old.Site
}

// verify is the one HMAC computation a Map-Register may cost.
func (r *reader) verify(key string, raw []byte) bool {
	if r.auth.get(key).Verify(raw) != nil {
		r.st.verify[verifyFailed]++
		return false
	}
	r.st.verify[verifyOK]++
	return true
}

// authority applies the precedence between the authenticated site and the
// records already held (controller.ReplaceRefusal): it returns the
// refusal and the site holding the EID, or -1. The controller checks
// again when it writes.
func (r *reader) authority(snap *siteSnap, site *controller.Site) (int, string) {
	idx := r.s.ctl.Index()
	for _, e := range r.eids {
		old, ok := idx.Lookup(e)
		if !ok {
			continue
		}
		exact := old.EID == e
		var oldSite *controller.Site
		if exact && old.Site != site.Name {
			oldSite, _ = snap.byName(old.Site)
		}
		if why := refusalOutcome(controller.ReplaceRefusal(site.Name, &old, exact, oldSite)); why >= 0 {
			return why, old.Site
		}
	}
	return -1, ""
}

// refusalOutcome maps a controller refusal to its outcome, -1 for none.
func refusalOutcome(why controller.Refusal) int {
	switch why {
	case "":
		return -1
	case controller.RefusedStatic:
		return regRefusedStatic
	case controller.RefusedForeign:
		return regRefusedForeign
	case controller.RefusedIID:
		return regRefusedIID
	case controller.RefusedPrefix:
		return regRefusedPrefix
	case controller.RefusedMAC:
		return regRefusedMAC
	case controller.RefusedRLOC:
		return regRefusedRLOC
	}
	return regFailed
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

// refusal is a refused registration: what the metrics count and, within
// the event budget, the registration.refused event tells.
type refusal struct {
	reason    int
	src       netip.AddrPort
	site      string // the authenticated site that may not do this
	candidate string // the site whose key failed to verify
	owner     string // the site holding the EID, for static and foreign
	iid       *uint32
	eid       string
}

// refuse counts and logs a refused Map-Register and, within the event
// budget, records it in the change feed. Nothing is stored or answered.
func (r *reader) refuse(ref refusal, reg *packet.MapRegister) {
	r.st.outcome[ref.reason]++
	r.s.noteRefusal(ref, reg, r.mono)
}

// noteRefusal logs a refusal and queues its event, within the budget.
func (s *Server) noteRefusal(ref refusal, reg *packet.MapRegister, mono int64) {
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		n := 0
		if reg != nil {
			n = len(reg.Records)
		}
		s.log.Debug("lisp: map-register refused", "reason", outcomeNames[ref.reason], "source", ref.src,
			"site", ref.site, "candidate", ref.candidate, "owner", ref.owner, "records", n)
	}
	if !s.refLim.allow(netip.IPv4Unspecified(), mono) {
		return
	}
	if reg != nil && len(reg.Records) > 0 {
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
	case s.refused <- ref:
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
			if ref.candidate != "" {
				data["candidate_site"] = ref.candidate
			}
			if ref.owner != "" {
				data["owner_site"] = ref.owner
			}
			if err := s.ctl.Emit(controller.WithActor(s.ctx, controller.ActorSite(ref.site)), controller.EvRegisterRefused, ref.iid, ref.eid, ref.site, "", data); err != nil {
				s.log.Debug("lisp: record refusal", "err", err)
			}
		}
	}
}
