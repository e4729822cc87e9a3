package reconcile

import (
	"net/netip"

	"github.com/l2lisp/l2lisp/frame"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// missed turns a frame punted from an access port of an on-demand
// network into a map-cache entry: for the host it was sent to, or, for an
// ARP request or neighbor solicitation (punted for learning), for the host
// that owns the address sought, which the sender is about to talk to.
func (s *Southbound) missed(name string, pi openflow.PacketIn) {
	if pi.Table != pipeline.TablePunt {
		return
	}
	port, ok := s.ctl.PortByOFPort(name, pi.InPort)
	if !ok {
		return
	}
	f, err := frame.Parse(pi.Data)
	if err != nil {
		return
	}
	iid := port.InstanceID
	if !f.Dst.IsMulticast() {
		s.rec.Miss(name, iid, f.Dst)
		return
	}
	if !f.Sought.IsValid() || s.ctl.Mode(iid) != pipeline.ModeOnDemand {
		return
	}
	if b, ok := s.ctl.Record(mapping.PrefixEID(iid, netip.PrefixFrom(f.Sought, f.Sought.BitLen()))); ok && b.HasMAC() {
		s.rec.Miss(name, iid, b.MAC)
	}
}

// isMapCacheFlow says whether a flow is a map-cache entry.
func isMapCacheFlow(f openflow.Flow) bool {
	return f.Cookie&(openflow.CookieOwnerMask|openflow.CookieStageMask) == mapCacheCookie
}
