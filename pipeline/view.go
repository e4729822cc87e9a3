package pipeline

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/mapping"
)

// SwitchView is everything the pipeline needs to know to compute the flows
// of one edge switch. The controller builds it from the database (through
// its in-memory index) and nothing else, so any replica computes the same
// flows.
type SwitchView struct {
	XTR        string
	Site       string
	RLOC       netip.Addr
	TunnelPort uint32     // OpenFlow port number of the LISP-GPE tunnel port (lisp0)
	VXLANPort  uint32     // OpenFlow port number of the VXLAN tunnel port (vxlan0)
	Ports      []PortView // access ports bound to tenant networks
	Networks   []uint32   // instance-ids the xTR's site serves
	// Encaps is the encapsulation of each served instance-id: its frames
	// leave and arrive through that encapsulation's tunnel port only. An
	// instance-id not listed uses EncapLISPGPE.
	Encaps map[uint32]Encap
	// Peers lists, per instance-id, the RLOCs of the other xTRs serving it:
	// the head-end replication targets for broadcast and unknown unicast.
	Peers map[uint32][]netip.Addr
	// Records are the MAC records of the served instance-ids, and the IP
	// host records bound to a MAC (for the ARP responder).
	Records []mapping.Record
	// Learn configures host learning (tables 10 and 40).
	Learn LearnView
	// Modes is the forwarding mode of each served instance-id; one not
	// listed is ModePush. In an on-demand network the view's remote MAC
	// records are the switch's map-cache: the hosts it asked for
	// (docs/pipeline.md, "On-demand forwarding").
	Modes map[uint32]Mode
	// MapCache tunes the flows of on-demand networks.
	MapCache MapCacheView
	// Mates are the other xTRs of a multihomed site, which share its host
	// LANs; empty for a site with one xTR. DF lists the served
	// instance-ids this xTR is the designated forwarder of (read only when
	// Mates is not empty). See multihome.go.
	Mates []Mate
	DF    []uint32
	// BFDPorts maps a peer RLOC to the OpenFlow port of this bridge's BFD
	// session with it: select-group buckets towards the RLOC watch it.
	BFDPorts map[netip.Addr]uint32
	// RLOCState marks RLOCs down or drained (keys unmapped); flows follow
	// it as Map-Replies do, whatever the records say.
	RLOCState map[netip.Addr]RLOCState
}

// PortView is one access port bound to an instance-id.
type PortView struct {
	Name   string
	OFPort uint32
	IID    uint32
}

// TunnelOFPort and VXLANOFPort are the OpenFlow port numbers the LISP-GPE
// and VXLAN tunnel ports ask for; access ports get FirstAccessOFPort and
// up, so flows never depend on numbers only the switch knows.
const (
	TunnelOFPort      = 10
	VXLANOFPort       = 11
	FirstAccessOFPort = 100
)

// sameBase says whether two views agree on everything but their records:
// when they do, compiled state kept for the first can take the second's
// record changes as a delta.
func sameBase(a, b SwitchView) bool {
	if a.XTR != b.XTR || a.Site != b.Site || a.RLOC != b.RLOC || a.TunnelPort != b.TunnelPort ||
		a.VXLANPort != b.VXLANPort || a.Learn != b.Learn || !slices.Equal(a.Ports, b.Ports) ||
		!slices.Equal(a.Networks, b.Networks) || !maps.Equal(a.Encaps, b.Encaps) || len(a.Peers) != len(b.Peers) ||
		!sameModes(a.Modes, b.Modes) || a.MapCache != b.MapCache || !sameMultihome(a, b) {
		return false
	}
	for iid, pa := range a.Peers {
		if pb, ok := b.Peers[iid]; !ok || !slices.Equal(pa, pb) {
			return false
		}
	}
	return true
}
