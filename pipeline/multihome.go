package pipeline

import (
	"cmp"
	"encoding/binary"
	"hash/crc32"
	"maps"
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// Multihomed sites (docs/pipeline.md, "Multihomed sites"). A site whose
// xTRs share its host LANs lists the others as Mates in each xTR's view.
// Every xTR of the site delivers unicast to the site's hosts and sends
// unicast to remote hosts; for broadcast, unknown unicast and multicast
// exactly one of them per instance-id, the designated forwarder (DF),
// floods in both directions and the others drop. A frame one xTR puts on
// the shared LAN is seen by the others' access ports, so:
//
//   - a non-DF drops BUM from its access ports and from the tunnel;
//   - every xTR of the site drops a frame from an access port whose
//     destination is one of the site's hosts (the LAN itself delivers it),
//     without punting it: a remote host's frame that another xTR put on
//     the LAN is never learned as a move;
//   - head-end replication skips the mates (they share the LAN);
//   - a host held by a live mate is known at every xTR of the site, so its
//     frames are not punted there.

// OpenFlow port numbers of the BFD sessions: every bridge gives its session
// with an RLOC the number the controller stored for that RLOC's xTR, so
// flows can name it (access ports count up from FirstAccessOFPort below).
const (
	FirstBFDOFPort = 60000
	LastBFDOFPort  = 65279 // the highest ofport_request OVS takes
)

// BFDKey is the tunnel key of the BFD sessions: OVS runs BFD on a tunnel
// port with a fixed remote RLOC, and that port (key BFDKey, remote_ip the
// peer) is more specific than the flow-based tunnel port only for packets
// with this key, so data with any other instance-id still arrives on the
// tunnel port. As RFC 8971 reserves a management VNI, the highest
// instance-id is given to BFD; a network may still use it (classifyBFD).
const BFDKey = mapping.MaxIID

// classifyBFD classifies frames of instance-id BFDKey from the BFD ports,
// where OVS delivers them, like the tunnel's; BFD control packets never
// reach the flow table's actions (OVS consumes them).
func (c *compiler) classifyBFD() {
	if !c.served[BFDKey] || c.v.TunnelPort == 0 {
		return
	}
	ports := slices.Sorted(maps.Values(c.v.BFDPorts))
	for _, p := range slices.Compact(ports) {
		if p == 0 || p == c.v.TunnelPort {
			continue
		}
		f := c.add(TableClassifier, PriorityClassify, StageClassifier,
			openflow.Match{openflow.InPort(p), openflow.TunnelID(BFDKey)}, nil)
		f.WriteMeta = &openflow.MetadataWrite{Value: BFDKey | MetaFromTunnel, Mask: MetaMask}
		f.Goto = TableLearn
	}
}

// RLOCState is what the controller knows of an RLOC beyond its records
// (SwitchView.RLOCState): the pipeline applies it to every locator with
// that address, as Map-Replies do.
type RLOCState uint8

const (
	// RLOCDown: BFD or the xTR's connection says it is unreachable; no
	// flow sends to it.
	RLOCDown RLOCState = 1
	// RLOCDrained: its xTR is drained for maintenance; it carries traffic
	// only when no better locator is left.
	RLOCDrained RLOCState = 2
)

// DrainPriority is the priority a drained xTR's locator is given: the
// worst one still usable (RFC 9301: 255 means "do not use").
const DrainPriority = 254

// withState applies the view's RLOC state to one locator.
func (c *compiler) withState(l mapping.Locator) mapping.Locator {
	switch c.v.RLOCState[l.Addr] {
	case RLOCDown:
		l.Up = false
	case RLOCDrained:
		l.Priority = max(l.Priority, DrainPriority)
	}
	return l
}

// StageSiteLAN marks the table-30 drops of frames from a multihomed
// site's LAN to one of its own hosts.
const StageSiteLAN uint8 = 8

// Mate is another xTR of the same site. Live is false while its locator is
// down: hosts it holds may then be learned again by this xTR.
type Mate struct {
	Name string
	RLOC netip.Addr
	Live bool
}

// ElectDF picks the designated forwarder of instance-id iid among the
// RLOCs of a site's eligible xTRs by highest random weight, with the
// weight function of RFC 8584 §3.2: Wrand(v, Si) = (1103515245 ×
// ((1103515245 × Si + 12345) XOR D(v)) + 12345) mod 2^31, where D(v) is
// the CRC-32 of the instance-id and Si the RLOC (an IPv6 one folded to 32
// bits). The highest weight wins, ties go to the lower address. Only the
// instance-ids of a candidate that leaves move, and every replica computes
// the same answer from the same set. It returns the zero Addr when there
// is no candidate.
func ElectDF(iid uint32, candidates []netip.Addr) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], iid)
	d := crc32.ChecksumIEEE(b[:])
	var best netip.Addr
	var bestScore uint32
	for _, a := range candidates {
		a = a.Unmap()
		if !a.IsValid() {
			continue
		}
		s := dfWeight(d, a)
		if !best.IsValid() || s > bestScore || (s == bestScore && a.Less(best)) {
			best, bestScore = a, s
		}
	}
	return best
}

func dfWeight(d uint32, a netip.Addr) uint32 {
	var si uint32
	b := a.AsSlice()
	for i := 0; i+4 <= len(b); i += 4 {
		si ^= binary.BigEndian.Uint32(b[i:])
	}
	return (1103515245*((1103515245*si+12345)^d) + 12345) & (1<<31 - 1)
}

// multihome is the compiler's normalised view of the site's other xTRs.
type multihome struct {
	on    bool                // the site has mates
	rlocs map[netip.Addr]bool // the mates' RLOCs
	live  map[string]bool     // mate name -> live
	df    map[uint32]bool     // served iids this xTR is DF of
}

func newMultihome(v SwitchView) multihome {
	m := multihome{rlocs: map[netip.Addr]bool{}, live: map[string]bool{}, df: map[uint32]bool{}}
	for _, mt := range v.Mates {
		if mt.Name == "" || mt.Name == v.XTR {
			continue
		}
		m.on = true
		if a := mt.RLOC.Unmap(); a.IsValid() && a != v.RLOC.Unmap() {
			m.rlocs[a] = true
		}
		m.live[mt.Name] = m.live[mt.Name] || mt.Live
	}
	for _, iid := range v.DF {
		m.df[iid] = true
	}
	return m
}

// floods says whether this xTR floods BUM of iid: always at a site with
// one xTR, only as DF at a multihomed one.
func (c *compiler) floods(iid uint32) bool { return !c.mh.on || c.mh.df[iid] }

// heldByMate says whether a record sits behind another xTR of the site.
func (c *compiler) heldByMate(r *mapping.Record) bool {
	if !c.mh.on {
		return false
	}
	if _, ok := c.mh.live[r.XTR]; ok {
		return true
	}
	return slices.ContainsFunc(r.Locators, func(l mapping.Locator) bool { return c.mh.rlocs[l.Addr.Unmap()] })
}

// heldByLiveMate says whether a live mate holds the record's host, so this
// xTR need not learn it.
func (c *compiler) heldByLiveMate(r *mapping.Record) bool {
	return c.mh.on && r.XTR != c.v.XTR && c.mh.live[r.XTR]
}

// dropBUM builds table 30's BUM flows of an iid at a multihomed
// site's xTR that is not its DF: BUM from the LAN and from the tunnel is
// dropped, and no flood group is needed.
func (c *compiler) dropBUM(iid uint32) {
	c.add(TableL2Forward, PriorityFlood, StageFlood, openflow.Match{metaMatch(iid, MetaFromLocal)}, nil)
	c.add(TableL2Forward, PriorityFlood, StageFlood, openflow.Match{metaMatch(iid, MetaFromTunnel)}, nil)
}

// forwardSiteHost emits the table-30 flows of one of a multihomed site's
// own hosts: from the tunnel, out to its port (if it is on one of ours) or
// to every access port of the iid, which all sit on the site's LANs; from
// the LAN, dropped unpunted, as the LAN has delivered it already.
func (c *compiler) forwardSiteHost(r *mapping.Record) {
	iid, mac := r.EID.IID, [6]byte(r.EID.MAC)
	var acts []openflow.Action
	if p, ok := c.byName[r.Port]; ok && p.IID == iid && r.XTR == c.v.XTR {
		acts = []openflow.Action{openflow.Output{Port: p.OFPort}}
	} else {
		for _, p := range c.ports[iid] {
			acts = append(acts, openflow.Output{Port: p.OFPort})
		}
	}
	if len(acts) == 0 {
		return // no access port of the iid here
	}
	c.add(TableL2Forward, PriorityUnicast, StageL2Forward,
		openflow.Match{metaMatch(iid, MetaFromTunnel), openflow.EthDst(mac)}, acts)
	c.add(TableL2Forward, PriorityUnicast, StageSiteLAN,
		openflow.Match{metaMatch(iid, MetaFromLocal), openflow.EthDst(mac)}, nil)
}

// watchPort is the OpenFlow port whose liveness stands for RLOC a's: this
// bridge's BFD session with it, 0 when there is none.
func (c *compiler) watchPort(a netip.Addr) uint32 { return c.v.BFDPorts[a.Unmap()] }

// sameMultihome says whether two views agree on their site's other xTRs,
// designated forwarders and BFD ports.
func sameMultihome(a, b SwitchView) bool {
	norm := func(ms []Mate) []Mate {
		ms = slices.Clone(ms)
		slices.SortFunc(ms, func(x, y Mate) int { return cmp.Or(cmp.Compare(x.Name, y.Name), x.RLOC.Compare(y.RLOC)) })
		return ms
	}
	sorted := func(s []uint32) []uint32 {
		s = slices.Clone(s)
		slices.Sort(s)
		return slices.Compact(s)
	}
	return slices.Equal(norm(a.Mates), norm(b.Mates)) && slices.Equal(sorted(a.DF), sorted(b.DF)) &&
		maps.Equal(a.BFDPorts, b.BFDPorts) && maps.Equal(a.RLOCState, b.RLOCState)
}
