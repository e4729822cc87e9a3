package pipeline

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/l2lisp/l2lisp/frame"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// LearnView is the part of the view that turns host learning on. The zero
// value leaves tables 10 and 40 as a bare pass-through and no-op, which is
// what a controller with learning disabled (or an old view) compiles.
type LearnView struct {
	Enabled     bool
	IdleTimeout uint16 // seconds a learned MAC may stay silent; 0: never ages
	Meter       bool   // meter packet-ins per access port (meter id = OFPort)
	PuntLen     uint16 // bytes of each punted frame sent; 0: PuntMaxLen
}

// Priorities of the learning, responder and punt tables.
const (
	PriorityARPKnown   uint16 = 110 // table 10: ARP from a known (port, MAC, IP)
	PriorityFrozen     uint16 = 107 // table 10: a frozen duplicate MAC, ARP included: no punt
	PriorityARPPunt    uint16 = 105 // table 10: other ARP / ND: punt
	PriorityKnownSrc   uint16 = 100 // table 10: known (port, MAC)
	PrioritySuppress   uint16 = 90  // table 10: MAC configured here on no particular port (static)
	PriorityUnknownSrc uint16 = 1   // table 10: unknown source from an access port: punt
	PriorityNoAnswer   uint16 = 110 // table 20: ARP probes, gratuitous ARP, DAD and NS without SLL: not answered
	PriorityAnswer     uint16 = 100 // tables 20, 21: ARP request or NS for a bound IP: answered
	PriorityPunt       uint16 = 100 // table 40
)

// PuntMaxLen is how much of a punted frame the switch sends by default:
// enough for Ethernet + VLAN + IPv6 + an ND message with its options.
const PuntMaxLen = 128

// localBit matches any frame from an access port.
func localBit() openflow.OXM { return openflow.Metadata(MetaFromLocal, MetaFromLocal) }

// markPunt is the table-10 instruction pair "mark for table 40, go on".
func (c *compiler) markPunt(f *openflow.Flow) {
	f.WriteMeta = &openflow.MetadataWrite{Value: MetaPunt, Mask: MetaPunt}
	f.Goto = TableResponder
}

// learn builds table 10. Without learning it is a single goto. With it:
// a known (port, MAC) passes on (learned ones with the idle timeout that
// ages them out, and flow-removed notification), ARP and ND from access
// ports are marked for punting unless the (port, MAC, IP) binding is known,
// and any other frame from an access port is marked too. Marked frames are
// still forwarded; table 40 sends a metered copy to the controller.
func (c *compiler) learn() {
	c.add(TableLearn, PriorityTableMiss, StageLearn, nil, nil).Goto = TableResponder
	if !c.v.Learn.Enabled || len(c.byName) == 0 {
		return
	}
	c.markPunt(c.add(TableLearn, PriorityUnknownSrc, StageLearn, openflow.Match{localBit()}, nil))
	c.markPunt(c.add(TableLearn, PriorityARPPunt, StageLearn,
		openflow.Match{localBit(), openflow.EthType(frame.EthTypeARP)}, nil))
	for _, t := range []uint8{frame.Icmp6NS, frame.Icmp6NA} {
		c.markPunt(c.add(TableLearn, PriorityARPPunt, StageLearn, openflow.Match{localBit(),
			openflow.EthType(frame.EthTypeIPv6), openflow.IPProto(frame.IpProtoICMP6), openflow.ICMPv6Type(t)}, nil))
	}
	for _, r := range c.records() {
		c.learnRecord(r)
	}
	for _, b := range c.bindings() {
		if !c.onDemand(b.EID.IID) { // on demand: bindingFlows
			c.arpKnown(b)
		}
	}
}

// arpKnown lets ARP from a binding known on its local port pass unpunted.
func (c *compiler) arpKnown(b *mapping.Record) {
	if p, ok := c.localPort(b); ok && b.EID.Prefix.Addr().Is4() {
		c.add(TableLearn, PriorityARPKnown, StageLearn, openflow.Match{openflow.InPort(p.OFPort),
			openflow.EthSrc([6]byte(b.MAC)), openflow.EthType(frame.EthTypeARP),
			openflow.ArpSPA(b.EID.Prefix.Addr())}, nil).Goto = TableResponder
	}
}

// learnRecord emits the table-10 flows of one MAC record.
func (c *compiler) learnRecord(r *mapping.Record) {
	iid, mac := r.EID.IID, [6]byte(r.EID.MAC)
	local := c.isLocal(r)
	p, onPort := c.localPort(r)
	if onPort {
		f := c.add(TableLearn, PriorityKnownSrc, StageLearn,
			openflow.Match{openflow.InPort(p.OFPort), openflow.EthSrc(mac)}, nil)
		f.Goto = TableResponder
		if r.Origin == mapping.OriginLearned {
			f.IdleTimeout, f.NotifyRemoval = c.v.Learn.IdleTimeout, true
		}
	}
	// A MAC the controller would not learn here anyway: one configured
	// locally on no particular port (a static record), or one frozen as a
	// duplicate. Punting it would only load the controller. A learned MAC
	// whose port is gone is punted so it can be learned again.
	prio := uint16(0)
	switch {
	case r.Frozen:
		prio = PriorityFrozen
	case local && !onPort && (r.Origin != mapping.OriginLearned || c.heldByLiveMate(r)):
		prio = PrioritySuppress
	}
	if prio != 0 {
		c.add(TableLearn, prio, StageLearn,
			openflow.Match{metaMatch(iid, MetaFromLocal), openflow.EthSrc(mac)}, nil).Goto = TableResponder
	}
}

// localPort is the access port a record sits on at this xTR, if any.
func (c *compiler) localPort(r *mapping.Record) (PortView, bool) {
	if c.v.XTR == "" || r.XTR != c.v.XTR {
		return PortView{}, false
	}
	p, ok := c.byName[r.Port]
	return p, ok && p.IID == r.EID.IID
}

// bindings returns the IPv4 and IPv6 host EIDs of served iids that are
// bound to a unicast MAC, sorted by EID, one per EID (highest version).
func (c *compiler) bindings() []*mapping.Record {
	rs := make([]*mapping.Record, 0)
	for i := range c.v.Records {
		if r := &c.v.Records[i]; c.isBinding(r) {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, bindingOrder)
	return slices.CompactFunc(rs, func(a, b *mapping.Record) bool { return a.EID == b.EID })
}

// isBinding says whether r is an IP host EID of a served iid bound to a
// unicast MAC: what the responder answers for.
func (c *compiler) isBinding(r *mapping.Record) bool {
	return r.EID.Family() != mapping.FamilyMAC && r.HasMAC() && !r.MAC.IsMulticast() &&
		c.served[r.EID.IID] && r.EID.Prefix.IsSingleIP()
}

// bindingOrder sorts bindings by EID, the one that wins first.
func bindingOrder(a, b *mapping.Record) int {
	return cmp.Or(cmp.Compare(a.EID.IID, b.EID.IID), a.EID.Prefix.Addr().Compare(b.EID.Prefix.Addr()),
		cmp.Compare(b.Version, a.Version), cmp.Compare(a.MAC.Uint64(), b.MAC.Uint64()),
		cmp.Compare(a.XTR, b.XTR), cmp.Compare(a.Port, b.Port))
}

// TableNDAdvert is the second half of the ND responder: table 20 turns a
// neighbour solicitation for a bound IPv6 EID into an advertisement
// (icmpv6_type 136) and sends it here, where OVS accepts a set-field of
// nd_tll, whose prerequisite is an NA in the match (docs/pipeline.md).
// Only frames of the table-20 NS flows ever reach it.
const TableNDAdvert uint8 = 21

// NA flags of an answer on a host's behalf: Solicited and Override, not
// Router (RFC 4861 §7.2.4).
const ndAnswerFlags = openflow.NDFlagSolicited | openflow.NDFlagOverride

// respond builds table 20 (and 21): an ARP request or an IPv6 neighbour
// solicitation from an access port for a bound IP EID is turned into the
// reply in place and sent back out its port, so it never crosses the WAN.
// Probes (ARP sender 0.0.0.0, DAD NS from ::), NS without a source
// link-layer option and gratuitous ARP (sender = target) are not answered:
// they are announcements the network must see, or the answer could not be
// addressed.
func (c *compiler) respond() {
	c.add(TableResponder, PriorityTableMiss, StageResponder, nil, nil).Goto = TableL2Forward
	any4, any6 := false, false
	for _, b := range c.bindings() {
		if c.onDemand(b.EID.IID) {
			continue // bindingFlows
		}
		if !c.answers(b) {
			continue
		}
		if b.EID.Prefix.Addr().Is4() {
			any4 = true
		} else {
			any6 = true
		}
		c.answer(b)
	}
	if c.missing() {
		// Answers of on-demand networks come and go with their hosts'
		// entries; the flows that keep probes and DAD unanswered stay.
		any4, any6 = true, true
	}
	if any4 {
		c.add(TableResponder, PriorityNoAnswer, StageResponder, openflow.Match{localBit(),
			openflow.EthType(frame.EthTypeARP), openflow.ArpSPA(netip.IPv4Unspecified())}, nil).Goto = TableL2Forward
	}
	if any6 {
		// DAD (source ::) must reach the owner so it can defend its
		// address; an NS without an SLL option has no option to turn into
		// the TLL one. RFC 4861 forbids SLL with source ::, so the second
		// flow covers the first; both are kept so neither case hinges on
		// the other.
		ns := func(o openflow.OXM) openflow.Match {
			return openflow.Match{localBit(), openflow.EthType(frame.EthTypeIPv6), openflow.IPProto(frame.IpProtoICMP6),
				openflow.ICMPv6Type(frame.Icmp6NS), o}
		}
		c.add(TableResponder, PriorityNoAnswer, StageResponder,
			ns(openflow.IPv6Src(netip.IPv6Unspecified())), nil).Goto = TableL2Forward
		c.add(TableResponder, PriorityNoAnswer, StageResponder, ns(openflow.NDSLL([6]byte{})), nil).Goto = TableL2Forward
		c.add(TableNDAdvert, PriorityTableMiss, StageResponder, nil, nil)
	}
}

// answers says whether this switch answers for binding b: its network has
// access ports here, and at a multihomed site only the DF answers, and not
// for the site's own hosts: they are on the LAN and answer themselves.
func (c *compiler) answers(b *mapping.Record) bool {
	if len(c.ports[b.EID.IID]) == 0 {
		return false
	}
	return !c.mh.on || c.floods(b.EID.IID) && !c.isLocal(b)
}

// answer emits the responder's flows of one binding from an access port
// of its iid: ARP request → reply (gratuitous ARP left alone), or NS →
// NA through table 21.
func (c *compiler) answer(b *mapping.Record) {
	ip := b.EID.Prefix.Addr()
	meta := metaMatch(b.EID.IID, MetaFromLocal)
	if !ip.Is4() {
		c.add(TableResponder, PriorityAnswer, StageResponder, ndMatch(meta, frame.Icmp6NS, ip),
			[]openflow.Action{openflow.SetField{Field: openflow.ICMPv6Type(frame.Icmp6NA)}}).Goto = TableNDAdvert
		c.add(TableNDAdvert, PriorityAnswer, StageResponder, ndMatch(meta, frame.Icmp6NA, ip), ndAdvertActions(b.MAC, ip))
		return
	}
	c.add(TableResponder, PriorityNoAnswer, StageResponder, openflow.Match{meta,
		openflow.EthType(frame.EthTypeARP), openflow.ArpSPA(ip), openflow.ArpTPA(ip)}, nil).Goto = TableL2Forward
	c.add(TableResponder, PriorityAnswer, StageResponder, openflow.Match{meta,
		openflow.EthType(frame.EthTypeARP), openflow.ArpOp(frame.ArpRequest), openflow.ArpTPA(ip)}, arpReplyActions(b.MAC, ip))
}

// ndMatch matches an NS (or, after table 20's rewrite, NA) for target ip
// from an access port of the iid in meta.
func ndMatch(meta openflow.OXM, icmpType uint8, ip netip.Addr) openflow.Match {
	return openflow.Match{meta, openflow.EthType(frame.EthTypeIPv6), openflow.IPProto(frame.IpProtoICMP6),
		openflow.ICMPv6Type(icmpType), openflow.NDTarget(ip)}
}

// ndAdvertActions finish turning a solicitation for ip (its type already
// rewritten to NA by table 20) into the advertisement "ip is at mac": back
// to the solicitor, from ip, flags S|O, the SLL option retyped as TLL and
// carrying mac, out the port it came in on. The target and hop limit (255)
// stay. OVS's userspace datapath fixes the ICMPv6 checksum (checked by
// test/e2e TestNeighbourResponder). The option is retyped before nd_tll is
// set, the order that test verified: OVS writes nd_tll into a TLL option.
func ndAdvertActions(mac mapping.MAC, ip netip.Addr) []openflow.Action {
	m := [6]byte(mac)
	return []openflow.Action{
		openflow.Move{Src: openflow.EthSrc(m), Dst: openflow.EthDst(m), NBits: 48},
		openflow.SetField{Field: openflow.EthSrc(m)},
		openflow.Move{Src: openflow.IPv6Src(ip), Dst: openflow.IPv6Dst(ip), NBits: 128},
		openflow.SetField{Field: openflow.IPv6Src(ip)},
		openflow.SetField{Field: openflow.NDReserved(ndAnswerFlags)},
		openflow.SetField{Field: openflow.NDOptionsType(2)},
		openflow.SetField{Field: openflow.NDTLL(m)},
		openflow.Output{Port: openflow.PortInPort},
	}
}

// arpReplyActions rewrite an ARP request for ip into the reply "ip is at
// mac" and send it back where it came from.
func arpReplyActions(mac mapping.MAC, ip netip.Addr) []openflow.Action {
	m := [6]byte(mac)
	return []openflow.Action{
		openflow.Move{Src: openflow.EthSrc(m), Dst: openflow.EthDst(m), NBits: 48},
		openflow.SetField{Field: openflow.EthSrc(m)},
		openflow.SetField{Field: openflow.ArpOp(frame.ArpReply)},
		openflow.Move{Src: openflow.ArpSHA(m), Dst: arpTHA(m), NBits: 48},
		openflow.Move{Src: openflow.ArpSPA(ip), Dst: openflow.ArpTPA(ip), NBits: 32},
		openflow.SetField{Field: openflow.ArpSHA(m)},
		openflow.SetField{Field: openflow.ArpSPA(ip)},
		openflow.Output{Port: openflow.PortInPort},
	}
}

// arpTHA is the ARP target hardware address field (OXM basic 25); the
// openflow package has no constructor for it.
func arpTHA(m [6]byte) openflow.OXM {
	return openflow.OXM{Class: openflow.ClassOpenFlowBasic, Field: 25, Value: m[:]}
}

// punt builds table 40 when learning is on, and points every forwarding
// flow of table 30 at it: the frame has already been output by then, so a
// meter dropping the copy never drops the frame itself.
func (c *compiler) punt() {
	learning := c.v.Learn.Enabled && len(c.byName) > 0
	missing := c.missing()
	if !learning && !missing {
		return
	}
	if learning {
		for i := range c.flows {
			if f := &c.flows[i]; f.Table == TableL2Forward && len(f.Actions) > 0 {
				f.Goto = TablePunt
			}
		}
		maxLen := c.v.Learn.PuntLen
		if maxLen == 0 {
			maxLen = PuntMaxLen
		}
		for _, iid := range c.iids {
			for _, p := range c.ports[iid] {
				f := c.add(TablePunt, PriorityPunt, StagePunt, openflow.Match{openflow.InPort(p.OFPort),
					openflow.Metadata(MetaPunt, MetaPunt)}, []openflow.Action{openflow.Controller{MaxLen: maxLen, Reason: openflow.ReasonAction}})
				if c.v.Learn.Meter {
					f.Meter = p.OFPort
				}
			}
		}
	}
	if missing {
		c.missPunt()
	}
	c.add(TablePunt, PriorityTableMiss, StagePunt, nil, nil)
}
