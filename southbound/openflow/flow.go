package openflow

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Cookies mark who owns a flow. Every flow l2lisp installs carries
// CookieOwner in its top 16 bits; the next 8 bits name the pipeline stage
// that made it; the low 40 bits are a hash of the flow's content, filled in
// by the switch sync so that a flow whose cookie matches needs no rewrite.
const (
	CookieOwner     uint64 = 0x4c32 << 48 // "L2"
	CookieOwnerMask uint64 = 0xffff << 48
	CookieStageMask uint64 = 0xff << 40
	CookieHashMask  uint64 = 1<<40 - 1
)

// StageCookie is the cookie prefix for flows of one pipeline stage.
func StageCookie(stage uint8) uint64 { return CookieOwner | uint64(stage)<<40 }

// Groups have no cookie, so ownership is by id: l2lisp creates groups only
// in [GroupOwnedBase, GroupOwnedBase+GroupOwnedSpan), and a sync reads,
// changes and deletes only groups in that range. Groups others put on the
// bridge outside it are left alone.
const (
	GroupOwnedBase uint32 = 0x40000000
	GroupOwnedSpan uint32 = 1 << 29
)

// OwnedGroup reports whether a group id is in l2lisp's range.
func OwnedGroup(id uint32) bool { return id-GroupOwnedBase < GroupOwnedSpan }

// OXM classes used by l2lisp: the OpenFlow basic class and the two Nicira
// classes (NXM_0 and NXM_1) that OVS accepts in OpenFlow 1.3 matches and
// set-field actions.
const (
	ClassNXM0          uint16 = 0x0000
	ClassNXM1          uint16 = 0x0001
	ClassOpenFlowBasic uint16 = 0x8000
	// ClassEricsson is OVS's ERICOXM_OF_ class (0x1000, not an experimenter
	// OXM): the ND reserved-flags and option-type fields OVS 2.11+ can set,
	// as an ND responder needs (ovs-fields(7), "nd_reserved").
	ClassEricsson uint16 = 0x1000
)

// OXM is one match field (or set-field target): class, field number, value
// and an optional mask of the same length as the value.
type OXM struct {
	Class uint16
	Field uint8
	Value []byte
	Mask  []byte
}

func (o OXM) String() string { return string(o.appendText(nil)) }

// appendText writes name=value[/mask] in hex. It avoids fmt because the
// pipeline keys every flow by this text on every compile.
func (o OXM) appendText(b []byte) []byte {
	if n, ok := fieldNames[[2]uint16{o.Class, uint16(o.Field)}]; ok {
		b = append(b, n...)
	} else {
		b = fmt.Appendf(b, "oxm(%#x,%d)", o.Class, o.Field)
	}
	b = append(b, '=')
	b = hex.AppendEncode(b, o.Value)
	if o.Mask != nil {
		b = append(b, '/')
		b = hex.AppendEncode(b, o.Mask)
	}
	return b
}

// Match is a list of OXM fields; order does not matter to the switch, and
// Key gives a canonical form for comparing matches.
type Match []OXM

// Key is a canonical text form of the match, independent of field order.
func (m Match) Key() string {
	if len(m) == 1 {
		return m[0].String()
	}
	var buf [256]byte
	parts := make([][]byte, len(m))
	b := buf[:0]
	for i, o := range m {
		start := len(b)
		b = o.appendText(b)
		parts[i] = b[start:len(b):len(b)]
	}
	slices.SortFunc(parts, bytes.Compare)
	out := make([]byte, 0, len(b)+len(m))
	for i, p := range parts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, p...)
	}
	return string(out)
}

// Field numbers (OpenFlow 1.3 §7.2.3.7 and OVS's meta-flow for Nicira ones).
const (
	fieldInPort   = 0
	fieldMetadata = 2
	fieldEthDst   = 3
	fieldEthSrc   = 4
	fieldEthType  = 5
	fieldIPProto  = 10
	fieldIPv6Src  = 26
	fieldIPv6Dst  = 27
	fieldICMPv6T  = 29
	fieldICMPv6C  = 30
	fieldArpOp    = 21
	fieldArpSPA   = 22
	fieldArpTPA   = 23
	fieldArpSHA   = 24
	fieldArpTHA   = 25
	fieldNDTarget = 31
	fieldNDSLL    = 32
	fieldNDTLL    = 33
	fieldTunnelID = 38
	nxmTunIPv4Src = 31 // NXM_NX_TUN_IPV4_SRC, class NXM_1
	nxmTunIPv4Dst = 32 // NXM_NX_TUN_IPV4_DST, class NXM_1
	nxmTunIPv6Src = 109
	nxmTunIPv6Dst = 110
	nxmReg0       = 0 // NXM_NX_REG0..7 are fields 0..7 of class NXM_1
	ericNDRes     = 1 // ERICOXM_OF_ICMPV6_ND_RESERVED, 32 bits, class 0x1000
	ericNDOptType = 2 // ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE, 8 bits, class 0x1000
)

var fieldNames = map[[2]uint16]string{
	{ClassOpenFlowBasic, fieldInPort}:   "in_port",
	{ClassOpenFlowBasic, fieldMetadata}: "metadata",
	{ClassOpenFlowBasic, fieldEthDst}:   "eth_dst",
	{ClassOpenFlowBasic, fieldEthSrc}:   "eth_src",
	{ClassOpenFlowBasic, fieldEthType}:  "eth_type",
	{ClassOpenFlowBasic, fieldIPProto}:  "ip_proto",
	{ClassOpenFlowBasic, fieldIPv6Src}:  "ipv6_src",
	{ClassOpenFlowBasic, fieldIPv6Dst}:  "ipv6_dst",
	{ClassOpenFlowBasic, fieldICMPv6T}:  "icmpv6_type",
	{ClassOpenFlowBasic, fieldICMPv6C}:  "icmpv6_code",
	{ClassOpenFlowBasic, fieldArpOp}:    "arp_op",
	{ClassOpenFlowBasic, fieldArpSPA}:   "arp_spa",
	{ClassOpenFlowBasic, fieldArpTPA}:   "arp_tpa",
	{ClassOpenFlowBasic, fieldArpSHA}:   "arp_sha",
	{ClassOpenFlowBasic, fieldArpTHA}:   "arp_tha",
	{ClassOpenFlowBasic, fieldNDTarget}: "nd_target",
	{ClassOpenFlowBasic, fieldNDSLL}:    "nd_sll",
	{ClassOpenFlowBasic, fieldNDTLL}:    "nd_tll",
	{ClassOpenFlowBasic, fieldTunnelID}: "tun_id",
	{ClassNXM1, nxmTunIPv4Src}:          "tun_src",
	{ClassNXM1, nxmTunIPv4Dst}:          "tun_dst",
	{ClassNXM1, nxmTunIPv6Src}:          "tun_ipv6_src",
	{ClassNXM1, nxmTunIPv6Dst}:          "tun_ipv6_dst",
	{ClassNXM1, nxmReg0}:                "reg0",
	{ClassEricsson, ericNDRes}:          "nd_reserved",
	{ClassEricsson, ericNDOptType}:      "nd_options_type",
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func basic(f uint8, v []byte) OXM { return OXM{Class: ClassOpenFlowBasic, Field: f, Value: v} }

// Match field constructors.
func InPort(p uint32) OXM         { return basic(fieldInPort, u32(p)) }
func Metadata(v, mask uint64) OXM { return OXM{ClassOpenFlowBasic, fieldMetadata, u64(v), u64(mask)} }
func EthDst(mac [6]byte) OXM      { return basic(fieldEthDst, mac[:]) }
func EthSrc(mac [6]byte) OXM      { return basic(fieldEthSrc, mac[:]) }
func EthDstMasked(mac, mask [6]byte) OXM {
	return OXM{ClassOpenFlowBasic, fieldEthDst, mac[:], mask[:]}
}
func EthType(t uint16) OXM      { return basic(fieldEthType, u16(t)) }
func IPProto(p uint8) OXM       { return basic(fieldIPProto, []byte{p}) }
func ICMPv6Type(t uint8) OXM    { return basic(fieldICMPv6T, []byte{t}) }
func ArpOp(op uint16) OXM       { return basic(fieldArpOp, u16(op)) }
func ArpTPA(a netip.Addr) OXM   { return basic(fieldArpTPA, a.AsSlice()) }
func ArpSPA(a netip.Addr) OXM   { return basic(fieldArpSPA, a.AsSlice()) }
func ArpSHA(mac [6]byte) OXM    { return basic(fieldArpSHA, mac[:]) }
func NDTarget(a netip.Addr) OXM { return basic(fieldNDTarget, a.AsSlice()) }
func TunnelID(id uint64) OXM    { return basic(fieldTunnelID, u64(id)) }

// IPv6 and ICMPv6 fields. IPv6Src and IPv6Dst take an IPv6 address (an
// IPv4-mapped one is written as its 16 bytes); the ND link-layer options
// are matched and set like any other field, with OVS's prerequisites:
// nd_sll needs icmpv6_type=135 in the match, nd_tll icmpv6_type=136.
func IPv6Src(a netip.Addr) OXM { return basic(fieldIPv6Src, v6(a)) }
func IPv6Dst(a netip.Addr) OXM { return basic(fieldIPv6Dst, v6(a)) }
func ICMPv6Code(c uint8) OXM   { return basic(fieldICMPv6C, []byte{c}) }
func NDSLL(mac [6]byte) OXM    { return basic(fieldNDSLL, mac[:]) }
func NDTLL(mac [6]byte) OXM    { return basic(fieldNDTLL, mac[:]) }
func v6(a netip.Addr) []byte   { b := a.As16(); return b[:] }

// ND flags (the first bits of the 32-bit field after the ICMPv6 checksum
// of a neighbour advertisement, RFC 4861 §4.4) for NDReserved.
const (
	NDFlagRouter    uint32 = 1 << 31
	NDFlagSolicited uint32 = 1 << 30
	NDFlagOverride  uint32 = 1 << 29
)

// NDReserved is OVS's nd_reserved: the 32 bits after the ICMPv6 checksum
// of an NS or NA (R/S/O flags and reserved bits). Set-field only in
// practice; OVS cannot mask it.
func NDReserved(v uint32) OXM { return OXM{Class: ClassEricsson, Field: ericNDRes, Value: u32(v)} }

// NDOptionsType is OVS's nd_options_type: the type of the first ND option
// (1 source, 2 target link-layer address). Setting it to 2 turns an NS's
// SLL option into the TLL option of the advertisement built from it.
func NDOptionsType(t uint8) OXM {
	return OXM{Class: ClassEricsson, Field: ericNDOptType, Value: []byte{t}}
}

// TunSrc matches the outer source address of a decapsulated frame (the
// sending site's RLOC); TunDst, as a set-field target, picks the remote RLOC
// of a flow-based tunnel. Both are Nicira extensions.
func TunSrc(a netip.Addr) OXM {
	if a.Is4() {
		return OXM{Class: ClassNXM1, Field: nxmTunIPv4Src, Value: a.AsSlice()}
	}
	return OXM{Class: ClassNXM1, Field: nxmTunIPv6Src, Value: a.AsSlice()}
}

// TunDst is the tunnel destination field for the address's family.
func TunDst(a netip.Addr) OXM {
	if a.Is4() {
		return OXM{Class: ClassNXM1, Field: nxmTunIPv4Dst, Value: a.AsSlice()}
	}
	return OXM{Class: ClassNXM1, Field: nxmTunIPv6Dst, Value: a.AsSlice()}
}

// Reg is Nicira register n (0-7), 32 bits.
func Reg(n uint8, v uint32) OXM { return OXM{Class: ClassNXM1, Field: nxmReg0 + n, Value: u32(v)} }

// Action is one OpenFlow action inside an apply-actions instruction or a
// group bucket. The concrete types below are all there is; the codec encodes
// each.
type Action interface{ String() string }

// Special port numbers (OpenFlow 1.3).
const (
	PortInPort     uint32 = 0xfffffff8
	PortTable      uint32 = 0xfffffff9 // packet-out only: run the packet through table 0
	PortFlood      uint32 = 0xfffffffb
	PortAll        uint32 = 0xfffffffc
	PortController uint32 = 0xfffffffd
	PortLocal      uint32 = 0xfffffffe
	PortAny        uint32 = 0xffffffff
)

// Output sends the packet out a port; MaxLen matters only for the controller port.
type Output struct {
	Port   uint32
	MaxLen uint16
}

// Group hands the packet to a group.
type Group struct{ ID uint32 }

// SetField writes a field (tun_id, tun_dst, eth_src, arp_op, ...).
type SetField struct{ Field OXM }

// Move copies NBits bits between fields (Nicira NXAST_REG_MOVE), as the ARP
// responder needs to turn a request into a reply.
type Move struct {
	Src, Dst       OXM // only Class and Field are used
	NBits          uint16
	SrcOfs, DstOfs uint16
}

// Controller sends the packet to the controller as a packet-in carrying
// Reason (Nicira NXAST_CONTROLLER), so the controller can tell packet-ins of
// different pipeline purposes apart. MaxLen 0 sends the whole packet; ID
// selects a controller connection id (0 is every controller's default).
type Controller struct {
	MaxLen uint16
	Reason uint8
	ID     uint16
}

// Packet-in reasons (OpenFlow 1.3) for Controller.Reason and PacketIn.Reason.
const (
	ReasonNoMatch uint8 = 0
	ReasonAction  uint8 = 1
)

// Learn and other Nicira actions are added here when the pipeline needs them.

func (a Output) String() string   { return "output:" + strconv.FormatUint(uint64(a.Port), 10) }
func (a Group) String() string    { return "group:" + strconv.FormatUint(uint64(a.ID), 10) }
func (a SetField) String() string { return "set_field:" + a.Field.String() }
func (a Controller) String() string {
	return fmt.Sprintf("controller(reason=%d,max_len=%d,id=%d)", a.Reason, a.MaxLen, a.ID)
}
func (a Move) String() string {
	return fmt.Sprintf("move:%#x.%d[%d+%d]->%#x.%d[%d]", a.Src.Class, a.Src.Field, a.SrcOfs, a.NBits, a.Dst.Class, a.Dst.Field, a.DstOfs)
}

// Flow is one flow entry as the pipeline wants it: the match, then the
// instructions (apply-actions, write-metadata, goto-table) in OpenFlow order.
type Flow struct {
	Table         uint8
	Priority      uint16
	Cookie        uint64 // stage cookie; the hash bits are the sync's business
	Match         Match
	Actions       []Action // apply-actions; empty with no Goto means drop
	WriteMeta     *MetadataWrite
	Goto          uint8 // next table; 0 means none (table 0 is never a goto target)
	IdleTimeout   uint16
	HardTimeout   uint16
	NotifyRemoval bool   // OFPFF_SEND_FLOW_REM
	Meter         uint32 // meter instruction (rate limit); 0 means none
}

// MetadataWrite is a write-metadata instruction.
type MetadataWrite struct{ Value, Mask uint64 }

// Key identifies a flow in a table the way OpenFlow does: table, priority
// and match. Two flows with the same key cannot both be installed.
func (f Flow) Key() string {
	return strconv.Itoa(int(f.Table)) + "/" + strconv.Itoa(int(f.Priority)) + "/" + f.Match.Key()
}

func (f Flow) String() string {
	var b strings.Builder
	b.WriteString("table=" + strconv.Itoa(int(f.Table)) + ",priority=" + strconv.Itoa(int(f.Priority)) + "," + f.Match.Key() + " actions=")
	for i, a := range f.Actions {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.String())
	}
	if f.WriteMeta != nil {
		fmt.Fprintf(&b, ",write_metadata:%#x/%#x", f.WriteMeta.Value, f.WriteMeta.Mask)
	}
	if f.Goto != 0 {
		fmt.Fprintf(&b, ",goto_table:%d", f.Goto)
	}
	if f.Meter != 0 {
		fmt.Fprintf(&b, ",meter:%d", f.Meter)
	}
	if f.IdleTimeout != 0 || f.HardTimeout != 0 {
		fmt.Fprintf(&b, " idle=%d hard=%d", f.IdleTimeout, f.HardTimeout)
	}
	return b.String()
}

// GroupType is an OpenFlow group type.
type GroupType uint8

// Group types used by l2lisp.
const (
	GroupAll      GroupType = 0 // replicate to every bucket (flooding, head-end replication)
	GroupSelect   GroupType = 1 // one bucket by weight (equal-priority RLOCs)
	GroupIndirect GroupType = 2
)

// GroupEntry is a group as the pipeline wants it.
type GroupEntry struct {
	ID      uint32
	Type    GroupType
	Buckets []Bucket
}

// Bucket is one group bucket; Weight matters for select groups only.
// WatchPort, when not zero, ties the bucket's liveness to that port's: a
// select group skips the bucket while the port is not live (for a tunnel
// port with BFD, while the session is down), without the controller.
type Bucket struct {
	Weight    uint16
	WatchPort uint32
	Actions   []Action
}

func (g GroupEntry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "group_id=%d,type=%d", g.ID, g.Type)
	for _, bk := range g.Buckets {
		fmt.Fprintf(&b, ",bucket=weight:%d", bk.Weight)
		if bk.WatchPort != 0 {
			fmt.Fprintf(&b, ",watch_port:%d", bk.WatchPort)
		}
		for _, a := range bk.Actions {
			b.WriteString("," + a.String())
		}
	}
	return b.String()
}
