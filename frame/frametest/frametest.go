// Package frametest builds Ethernet, ARP and neighbor-discovery frames for
// tests of the code that parses punted frames.
package frametest

import (
	"encoding/binary"
	"net/netip"

	"github.com/l2lisp/l2lisp/mapping"
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = mapping.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Eth builds an Ethernet header, with an 802.1Q tag (VLAN 42) if vlan.
func Eth(dst, src mapping.MAC, typ uint16, vlan bool) []byte {
	b := append(append([]byte{}, dst[:]...), src[:]...)
	if vlan {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, 42)
	}
	return binary.BigEndian.AppendUint16(b, typ)
}

// ARP builds an Ethernet/IPv4 ARP frame (op 1 request, 2 reply) sent by
// sha, broadcast.
func ARP(op uint16, sha mapping.MAC, spa, tpa string, vlan bool) []byte {
	b := Eth(Broadcast, sha, 0x0806, vlan)
	b = append(b, 0, 1, 8, 0, 6, 4)
	b = binary.BigEndian.AppendUint16(b, op)
	b = append(b, sha[:]...)
	b = append(b, netip.MustParseAddr(spa).AsSlice()...)
	b = append(b, make([]byte, 6)...)
	return append(b, netip.MustParseAddr(tpa).AsSlice()...)
}

// ND builds an IPv6 NS (135) or NA (136) with an optional
// link-layer address option (type 1 for NS, 2 for NA).
func ND(typ uint8, src mapping.MAC, ipSrc, target string, opt *mapping.MAC) []byte {
	b := Eth(mapping.MAC{0x33, 0x33, 0, 0, 0, 1}, src, 0x86dd, false)
	icmp := []byte{typ, 0, 0, 0, 0, 0, 0, 0}
	icmp = append(icmp, netip.MustParseAddr(target).AsSlice()...)
	if opt != nil {
		icmp = append(icmp, map[uint8]byte{135: 1, 136: 2}[typ], 1)
		icmp = append(icmp, opt[:]...)
	}
	ip := []byte{0x60, 0, 0, 0}
	ip = binary.BigEndian.AppendUint16(ip, uint16(len(icmp)))
	ip = append(ip, 58, 255)
	ip = append(ip, netip.MustParseAddr(ipSrc).AsSlice()...)
	ip = append(ip, netip.MustParseAddr("ff02::1").AsSlice()...)
	return append(append(b, ip...), icmp...)
}
