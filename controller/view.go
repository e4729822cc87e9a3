package controller

import (
	"net/netip"

	"github.com/l2lisp/l2lisp/mapping"
)

// SwitchView is everything the pipeline needs to know to compute the flows
// of one edge switch. It is built from the database (through the in-memory
// index) and nothing else, so any replica computes the same flows.
type SwitchView struct {
	XTR        string
	Site       string
	RLOC       netip.Addr
	TunnelPort uint32     // OpenFlow port number of the LISP tunnel port
	Ports      []PortView // access ports bound to tenant networks
	Networks   []uint32   // instance-ids the xTR's site serves
	// Peers lists, per instance-id, the RLOCs of the other xTRs serving it:
	// the head-end replication targets for broadcast and unknown unicast.
	Peers map[uint32][]netip.Addr
	// Records are the mapping records of the served instance-ids.
	Records []mapping.Record
}

// PortView is one access port bound to an instance-id.
type PortView struct {
	Name   string
	OFPort uint32
	IID    uint32
}
