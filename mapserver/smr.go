package mapserver

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/metrics"
)

// When a mapping moves or changes, the ITRs that resolved it keep using
// the old locators until the TTL (a day by default) runs out. RFC 9301
// §6.6.2: the site that changed sends them a Solicit-Map-Request (SMR), and
// they re-resolve at once. As the Map-Server proxy-replying for the sites,
// l2lisp knows who asked, so it sends the SMRs itself.

// Bounds on what the requester log remembers, per reader.
const (
	maxRequesterEIDs = 1 << 16
	maxITRsPerEID    = 4
)

// requesterLog remembers the reply addresses of the ITRs that recently got
// a positive answer for an EID. Each reader has its own, so the hot path
// takes an uncontended lock.
type requesterLog struct {
	mu sync.Mutex
	m  map[mapping.EID][]smrTarget
}

type smrTarget struct {
	addr netip.AddrPort
	at   time.Time
}

func newRequesterLog() *requesterLog {
	return &requesterLog{m: make(map[mapping.EID][]smrTarget)}
}

// note records that addr was told about eid; repeats only refresh the time.
func (l *requesterLog) note(eid mapping.EID, addr netip.AddrPort, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.m[eid]
	oldest := 0
	for i := range ts {
		if ts[i].addr == addr {
			ts[i].at = now
			return
		}
		if ts[i].at.Before(ts[oldest].at) {
			oldest = i
		}
	}
	if len(ts) >= maxITRsPerEID {
		ts[oldest] = smrTarget{addr, now}
		return
	}
	if ts == nil && len(l.m) >= maxRequesterEIDs {
		// Bounded memory beats completeness: forgetting means an ITR
		// waits for its TTL, as it would without SMRs.
		clear(l.m)
	}
	l.m[eid] = append(ts, smrTarget{addr, now})
}

// take removes and returns the ITRs that asked for eid since not before.
func (l *requesterLog) take(eid mapping.EID, notBefore time.Time) []netip.AddrPort {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []netip.AddrPort
	for _, t := range l.m[eid] {
		if !t.at.Before(notBefore) {
			out = append(out, t.addr)
		}
	}
	delete(l.m, eid)
	return out
}

// solicit follows the change feed (events, subscribed by the caller) and
// sends SMRs for changed mappings.
func (s *Server) solicit(ctx context.Context, events <-chan controller.Event, cancel func()) {
	defer func() { cancel() }()
	status := takeStatus(s.ctl)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events, cancel = s.ctl.Subscribe(feedBuffer) // fell behind: some ITRs wait for their TTL
				continue
			}
			switch ev.Type {
			case controller.EvMappingMoved, controller.EvMappingUpdated, controller.EvMappingDeleted:
				if rec, err := ev.MappingRecord(); err == nil {
					s.sendSMRs(rec)
				}
			case controller.EvXTRUp, controller.EvXTRDown, controller.EvBFDStatus,
				controller.EvXTRDrained, controller.EvXTRUndrained:
				s.solicitStatus(status.changes(s.ctl))
			}
		}
	}
}

// sendSMRs tells every ITR that resolved rec's EID within its TTL to ask again.
func (s *Server) sendSMRs(rec mapping.Record) {
	ttl := time.Duration(rec.TTL) * time.Minute
	if ttl <= 0 || ttl > 24*time.Hour {
		ttl = 24 * time.Hour
	}
	notBefore := time.Now().Add(-ttl)
	seen := map[netip.AddrPort]bool{}
	for _, r := range s.readers {
		for _, to := range r.requesters.take(rec.EID, notBefore) {
			if seen[to] {
				continue
			}
			seen[to] = true
			if b, ok := s.buildSMR(rec.EID, to); ok {
				s.sendTo(0, b, to)
				metrics.SMRsSent.Inc()
			}
		}
	}
}

// buildSMR encodes a Map-Request with the S bit for eid, whose ITR-RLOC is
// the address the target reaches us at.
func (s *Server) buildSMR(eid mapping.EID, to netip.AddrPort) ([]byte, bool) {
	var e packet.EID
	if eid.Family() == mapping.FamilyMAC {
		e = packet.NewMACEID(eid.MAC)
	} else {
		e = packet.NewPrefixEID(eid.Prefix)
	}
	if eid.IID != 0 {
		e = e.WithIID(eid.IID)
	}
	local, ok := s.localAddrFor(to)
	if !ok {
		return nil, false
	}
	req := packet.MapRequest{SMR: true, Nonce: packet.NewNonce(), ITRRLOCs: []packet.Address{packet.AddrFromIP(local)},
		EIDs: []packet.EID{e}}
	b, err := req.Marshal()
	return b, err == nil
}

// localAddrFor is our address as seen from to: the bound one, or, for a
// wildcard bind, the one the routing table picks (no packet is sent).
func (s *Server) localAddrFor(to netip.AddrPort) (netip.Addr, bool) {
	if a := s.addr.Addr(); !a.IsUnspecified() {
		return a, true
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), true
}
