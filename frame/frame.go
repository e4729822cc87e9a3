package frame

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/l2lisp/l2lisp/mapping"
)

// Frame is what learning needs from a punted Ethernet frame.
type Frame struct {
	Src, Dst  mapping.MAC
	EtherType uint16 // after any 802.1Q tags
	// Announced is the IP address the frame's sender claims (ARP sender
	// protocol address, ND NS source or NA target) and Owner the MAC it
	// binds it to; Announced is invalid if the frame announces nothing.
	Announced netip.Addr
	Owner     mapping.MAC
	// Sought is the address an ARP request or ND neighbor solicitation
	// asks about (invalid otherwise): whom the sender is about to talk to.
	Sought netip.Addr
}

// Ethernet, IP protocol, ICMPv6 and ARP numbers the parser and the
// pipeline share.
const (
	EthTypeARP   uint16 = 0x0806
	EthTypeIPv6  uint16 = 0x86dd
	IpProtoICMP6 uint8  = 58
	Icmp6NS      uint8  = 135
	Icmp6NA      uint8  = 136
	ArpRequest   uint16 = 1
	ArpReply     uint16 = 2
)

var errShort = errors.New("frame too short")

// Parse decodes the Ethernet header and, for ARP and ICMPv6 neighbor
// discovery, the address binding the frame announces. It reads only the
// bytes it needs, so a truncated packet-in (max_len) is fine.
func Parse(b []byte) (Frame, error) {
	var f Frame
	if len(b) < 14 {
		return f, errShort
	}
	copy(f.Dst[:], b[0:6])
	copy(f.Src[:], b[6:12])
	f.EtherType = binary.BigEndian.Uint16(b[12:14])
	off := 14
	for (f.EtherType == 0x8100 || f.EtherType == 0x88a8) && len(b) >= off+4 {
		f.EtherType = binary.BigEndian.Uint16(b[off+2 : off+4])
		off += 4
	}
	switch f.EtherType {
	case EthTypeARP:
		parseARP(&f, b[off:])
	case EthTypeIPv6:
		parseND(&f, b[off:])
	}
	return f, nil
}

// parseARP takes the sender binding of an Ethernet/IPv4 ARP request or
// reply; a probe (sender 0.0.0.0) announces nothing.
func parseARP(f *Frame, b []byte) {
	if len(b) < 28 || binary.BigEndian.Uint16(b[0:2]) != 1 || binary.BigEndian.Uint16(b[2:4]) != 0x0800 ||
		b[4] != 6 || b[5] != 4 {
		return
	}
	op := binary.BigEndian.Uint16(b[6:8])
	if op != ArpRequest && op != ArpReply {
		return
	}
	if tpa := netip.AddrFrom4([4]byte(b[24:28])); op == ArpRequest && usableHostIP(tpa) {
		f.Sought = tpa
	}
	var sha mapping.MAC
	copy(sha[:], b[8:14])
	spa := netip.AddrFrom4([4]byte(b[14:18]))
	if usableHostIP(spa) && !sha.IsMulticast() && sha != (mapping.MAC{}) {
		f.Announced, f.Owner = spa, sha
	}
}

// parseND takes the binding of a neighbor solicitation (source address,
// source link-layer option) or advertisement (target, target link-layer
// option); without the option the Ethernet source is the owner.
func parseND(f *Frame, b []byte) {
	const ipv6Len = 40
	if len(b) < ipv6Len+24 || b[6] != IpProtoICMP6 {
		return // extension headers before ICMPv6 are not followed
	}
	src := netip.AddrFrom16([16]byte(b[8:24]))
	icmp := b[ipv6Len:]
	var addr netip.Addr
	var optType byte
	switch icmp[0] {
	case Icmp6NS:
		addr, optType = src, 1
		if t := netip.AddrFrom16([16]byte(icmp[8:24])); usableHostIP(t) {
			f.Sought = t
		}
	case Icmp6NA:
		addr, optType = netip.AddrFrom16([16]byte(icmp[8:24])), 2
	default:
		return
	}
	owner := f.Src
	for opts := icmp[24:]; len(opts) >= 8 && opts[1] != 0; opts = opts[min(int(opts[1])*8, len(opts)):] {
		if opts[0] == optType {
			copy(owner[:], opts[2:8])
		}
	}
	if usableHostIP(addr) && !owner.IsMulticast() && owner != (mapping.MAC{}) {
		f.Announced, f.Owner = addr, owner
	}
}

// usableHostIP keeps global unicast addresses: link-local addresses are
// per link and left to the hosts, unspecified ones are probes (DAD).
func usableHostIP(a netip.Addr) bool {
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsLinkLocalUnicast()
}
