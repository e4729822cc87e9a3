package ovsdb

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
)

// BFD between RLOCs. OVS runs BFD on an interface, and a tunnel interface
// needs a fixed remote_ip for it: the flow-based LISP port cannot carry
// sessions. So each bridge gets one BFD port per peer RLOC, of the LISP
// port's type and UDP port, with remote_ip the peer and the fixed key
// BFDKey. OVS matches a received tunnel packet to the most specific port
// (exact key and remote before key=flow and remote_ip=flow), so only
// packets with that key land on a BFD port; every other key still arrives
// on the LISP port. The BFD port's liveness follows its session, which
// select-group buckets watch (pipeline, BFDPorts), and the session state
// is read back from bfd_status.

// BFDSession is one BFD session a bridge holds with a peer RLOC.
type BFDSession struct {
	Peer   netip.Addr
	OFPort int // ofport_request: the number the pipeline's buckets watch
}

// BFDTimers tune every session (milliseconds; zero: OVS's default).
type BFDTimers struct {
	MinRx, MinTx, Mult int
}

// BFDKey is the tunnel key of the BFD ports (pipeline.BFDKey; this package
// does not import the pipeline).
const BFDKey = 1<<24 - 1

// BFDPortName is the name of the BFD port with OpenFlow number ofport.
func BFDPortName(ofport int) string { return "l2bfd" + strconv.Itoa(ofport) }

// bfdTunnel is the tunnel BFD rides on, whatever encapsulations the
// bridge's networks use: LISP-GPE on the LISP data port, so that every
// pair of RLOCs agrees on it. A BFD port with the same UDP port and header
// as lisp0 shares its receive path; on a bridge with only vxlan0 it opens
// the LISP data port for BFD alone.
var bfdTunnel = Tunnel{DstPort: LISPDataPort, GPE: true}

// bfdSpecs are the BFD ports of a desired state.
func bfdSpecs(d Desired) []portSpec {
	out := make([]portSpec, 0, len(d.BFD))
	for _, s := range d.BFD {
		opts := tunnelOptions(d.LocalRLOC, bfdTunnel)
		opts["remote_ip"] = s.Peer.Unmap().String()
		opts["key"] = strconv.Itoa(BFDKey)
		bfd := map[string]string{"enable": "true"}
		for k, v := range map[string]int{"min_rx": d.BFDTimers.MinRx, "min_tx": d.BFDTimers.MinTx, "mult": d.BFDTimers.Mult} {
			if v > 0 {
				bfd[k] = strconv.Itoa(v)
			}
		}
		out = append(out, portSpec{name: BFDPortName(s.OFPort), ifType: tunnelType, options: opts, ofport: s.OFPort, bfd: bfd})
	}
	return out
}

// validateBFD checks the sessions: peers of the local RLOC's family, other
// than it, each once.
func (d Desired) validateBFD() error {
	seen := map[netip.Addr]bool{}
	for _, s := range d.BFD {
		p := s.Peer.Unmap()
		switch {
		case !p.IsValid() || p.IsUnspecified():
			return fmt.Errorf("BFD peer %v is not a usable address", s.Peer)
		case p == d.LocalRLOC.Unmap() || p.Is4() != d.LocalRLOC.Unmap().Is4():
			return fmt.Errorf("BFD peer %s: the local RLOC itself or another address family", p)
		case seen[p]:
			return fmt.Errorf("BFD peer %s listed twice", p)
		case s.OFPort <= 0:
			return fmt.Errorf("BFD peer %s: an OpenFlow port number is needed", p)
		}
		seen[p] = true
	}
	if t := d.BFDTimers; t.MinRx < 0 || t.MinTx < 0 || t.Mult < 0 || t.Mult > 255 {
		return fmt.Errorf("BFD timers %+v out of range", t)
	}
	return nil
}

// BFDStatus reads the sessions of our BFD ports from the cache: for each
// peer RLOC, whether OVS lets traffic through (bfd_status:forwarding).
// A session that never came up (flap_count 0: the switch or the peer just
// started, or the peer runs no BFD) is no evidence either way and is left
// out, as are sessions OVS has not reported on yet.
func (c *Client) BFDStatus() map[netip.Addr]bool {
	ovs, err := c.current()
	if err != nil {
		return nil
	}
	out := map[netip.Addr]bool{}
	var ifaces []vswitchd.Interface
	if err := ovs.List(c.ctx, &ifaces); err != nil {
		return nil
	}
	for _, i := range ifaces {
		if i.ExternalIDs[OwnerKey] != c.opts.owner || i.BFD["enable"] != "true" {
			continue
		}
		peer, err := netip.ParseAddr(i.Options["remote_ip"])
		fwd, ok := i.BFDStatus["forwarding"]
		if flaps, _ := strconv.Atoi(i.BFDStatus["flap_count"]); err != nil || !ok || flaps == 0 {
			continue
		}
		out[peer.Unmap()] = fwd == "true"
	}
	return out
}

// OnBFDChange registers f to run when the BFD status of one of our ports
// changes (and after a reconnect). f runs on the cache's goroutine and
// must not block.
func (c *Client) OnBFDChange(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bfdHandlers = append(c.bfdHandlers, f)
}

// bfdChanged tells the BFD handlers, when old and cur (nil for an insert
// or delete) differ in bfd_status on a row of ours.
func (c *Client) bfdChanged(old, cur model.Model) {
	o, ok := old.(*vswitchd.Interface)
	if !ok || o.ExternalIDs[OwnerKey] != c.opts.owner {
		return
	}
	if n, ok := cur.(*vswitchd.Interface); ok && sameMap(o.BFDStatus, n.BFDStatus) {
		return
	}
	c.mu.Lock()
	hs := append([]func(){}, c.bfdHandlers...)
	c.mu.Unlock()
	for _, f := range hs {
		f()
	}
}

// statusOnly says whether two versions of a row differ only in the
// columns ovs-vswitchd writes (bfd_status): no reason to re-apply.
func statusOnly(old, cur model.Model) bool {
	o, ok1 := old.(*vswitchd.Interface)
	n, ok2 := cur.(*vswitchd.Interface)
	if !ok1 || !ok2 {
		return false
	}
	a, b := *o, *n
	a.BFDStatus, b.BFDStatus = nil, nil
	return reflect.DeepEqual(a, b)
}
