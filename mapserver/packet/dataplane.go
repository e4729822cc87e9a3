package packet

import (
	"encoding/binary"
	"strconv"
)

// UDP destination ports of LISP and of the data-plane encapsulations.
const (
	PortLISPData    uint16 = 4341 // LISP data plane and LISP-GPE (RFC 9300, RFC 9305)
	PortLISPControl uint16 = 4342 // LISP control plane (RFC 9301)
	PortVXLAN       uint16 = 4789 // VXLAN (RFC 7348)
)

// NextProtocol is the LISP-GPE Next Protocol field (IANA "LISP-GPE Next
// Protocol", RFC 9305 §7).
type NextProtocol uint8

// Next protocols of the IANA registry.
const (
	NextProtoIPv4     NextProtocol = 0x01
	NextProtoIPv6     NextProtocol = 0x02
	NextProtoEthernet NextProtocol = 0x03
	NextProtoNSH      NextProtocol = 0x04
)

// String returns the registry name of p.
func (p NextProtocol) String() string {
	switch p {
	case NextProtoIPv4:
		return "IPv4"
	case NextProtoIPv6:
		return "IPv6"
	case NextProtoEthernet:
		return "Ethernet"
	case NextProtoNSH:
		return "NSH"
	}
	return "next-protocol-" + strconv.Itoa(int(p))
}

// Header lengths of the data-plane encapsulations, and the shortest inner
// Ethernet frame (destination, source, EtherType) DecodeOverlay accepts.
const (
	GPEHeaderLen   = 8
	VXLANHeaderLen = 8
	ethHeaderLen   = 14
)

// Flag bits of the first byte of the LISP data header (RFC 9300 §5.3) and
// the P bit RFC 9305 §3 takes from its reserved bit 5.
const (
	gpeFlagN    = 0x80
	gpeFlagL    = 0x40
	gpeFlagE    = 0x20
	gpeFlagV    = 0x10
	gpeFlagI    = 0x08
	gpeFlagP    = 0x04
	gpeKeyMask  = 0x03
	vxlanFlagI  = 0x08 // RFC 7348 §5: the VNI is valid
	maxIID24    = 0xffffff
	maxNonce16  = 0xffff
	maxNonce24  = 0xffffff
	maxLSBWithI = 0xff
)

// GPEHeader is the 8-byte LISP-GPE header (RFC 9305 §3): the RFC 9300
// LISP data header whose P bit announces an 8-bit Next Protocol in the low
// byte of the first word. With the P bit clear it is the plain RFC 9300
// header, whose payload is IPv4 or IPv6.
//
//	|N|L|E|V|I|P|K|K|  Nonce/Map-Version (16)      | Next Protocol |  P set
//	|N|L|E|V|I|P|K|K|        Nonce/Map-Version (24)                |  P clear
//	|        Instance ID (24)                       |  LSBs (8)     |  I set
//	|                Locator-Status-Bits (32)                       |  I clear
//
// Open vSwitch's VXLAN port with options:exts=gpe writes the same bytes
// (VXLAN-GPE flags I and P, Next Protocol, VNI), so a LISP-GPE Ethernet
// packet from OVS has first byte 0x0c and Next Protocol 0x03.
type GPEHeader struct {
	NoncePresent bool  // N
	LSBEnabled   bool  // L: Locator-Status-Bits are meaningful
	EchoNonce    bool  // E: echo-nonce request
	MapVersion   bool  // V: the Nonce field holds Map-Versions
	HasIID       bool  // I: the second word carries an instance-id
	HasNextProto bool  // P: NextProto is present (RFC 9305)
	KeyID        uint8 // KK: LISP-crypto key id (RFC 8061), 2 bits
	// Nonce is the Nonce/Map-Version field: 24 bits, or 16 when P is set.
	Nonce     uint32
	NextProto NextProtocol // only when HasNextProto
	IID       uint32       // 24 bits, only when HasIID
	LSB       uint32       // 8 bits when HasIID, else 32
}

// Append appends the 8-byte wire form of h to b.
func (h *GPEHeader) Append(b []byte) ([]byte, error) {
	if h.KeyID > gpeKeyMask {
		return b, fieldErr("lisp-gpe key id", ErrInvalidValue)
	}
	first := h.Nonce
	switch {
	case h.HasNextProto && h.Nonce > maxNonce16, !h.HasNextProto && h.Nonce > maxNonce24:
		return b, fieldErr("lisp-gpe nonce", ErrInvalidValue)
	case h.HasNextProto:
		first = h.Nonce<<8 | uint32(h.NextProto)
	case h.NextProto != 0:
		return b, fieldErr("lisp-gpe next protocol", ErrInvalidValue)
	}
	second := h.LSB
	if h.HasIID {
		if h.IID > maxIID24 || h.LSB > maxLSBWithI {
			return b, fieldErr("lisp-gpe instance-id", ErrInvalidValue)
		}
		second |= h.IID << 8
	} else if h.IID != 0 {
		return b, fieldErr("lisp-gpe instance-id", ErrInvalidValue)
	}
	flags := flag(h.NoncePresent, gpeFlagN) | flag(h.LSBEnabled, gpeFlagL) |
		flag(h.EchoNonce, gpeFlagE) | flag(h.MapVersion, gpeFlagV) |
		flag(h.HasIID, gpeFlagI) | flag(h.HasNextProto, gpeFlagP) | h.KeyID
	b = binary.BigEndian.AppendUint32(b, uint32(flags)<<24|first)
	return binary.BigEndian.AppendUint32(b, second), nil
}

// Decode decodes the header at the start of b; the payload follows at
// b[GPEHeaderLen:].
func (h *GPEHeader) Decode(b []byte) error {
	if len(b) < GPEHeaderLen {
		return fieldErr("lisp-gpe header", ErrTruncated)
	}
	f := b[0]
	*h = GPEHeader{
		NoncePresent: f&gpeFlagN != 0, LSBEnabled: f&gpeFlagL != 0,
		EchoNonce: f&gpeFlagE != 0, MapVersion: f&gpeFlagV != 0,
		HasIID: f&gpeFlagI != 0, HasNextProto: f&gpeFlagP != 0, KeyID: f & gpeKeyMask,
	}
	first, second := be32(b)&0xffffff, be32(b[4:])
	if h.HasNextProto {
		h.Nonce, h.NextProto = first>>8, NextProtocol(first)
	} else {
		h.Nonce = first
	}
	if h.HasIID {
		h.IID, h.LSB = second>>8, second&0xff
	} else {
		h.LSB = second
	}
	return nil
}

// VXLANHeader is the 8-byte VXLAN header (RFC 7348 §5):
//
//	|R|R|R|R|I|R|R|R|               Reserved (24)                   |
//	|      VXLAN Network Identifier (VNI) (24)      | Reserved (8)  |
type VXLANHeader struct {
	VNI uint32 // 24 bits
}

// Append appends the 8-byte wire form of h to b: the I flag set, every
// reserved bit zero.
func (h *VXLANHeader) Append(b []byte) ([]byte, error) {
	if h.VNI > maxIID24 {
		return b, fieldErr("vxlan vni", ErrInvalidValue)
	}
	b = append(b, vxlanFlagI, 0, 0, 0)
	return binary.BigEndian.AppendUint32(b, h.VNI<<8), nil
}

// Decode decodes the header at the start of b; the inner Ethernet frame
// follows at b[VXLANHeaderLen:]. The I flag must be set (RFC 7348: it marks
// the VNI valid); reserved bits are ignored on receipt.
func (h *VXLANHeader) Decode(b []byte) error {
	if len(b) < VXLANHeaderLen {
		return fieldErr("vxlan header", ErrTruncated)
	}
	if b[0]&vxlanFlagI == 0 {
		return fieldErr("vxlan i flag", ErrInvalidValue)
	}
	h.VNI = be32(b[4:]) >> 8
	return nil
}

// Encap names a data-plane encapsulation of Ethernet frames.
type Encap uint8

// Encapsulations l2lisp speaks on the WAN.
const (
	EncapUnknown Encap = iota
	EncapLISPGPE       // LISP-GPE, Next Protocol Ethernet, on UDP 4341
	EncapVXLAN         // VXLAN on UDP 4789
)

// String returns the name l2lisp uses for e in configuration and the API.
func (e Encap) String() string {
	switch e {
	case EncapLISPGPE:
		return "lisp-gpe"
	case EncapVXLAN:
		return "vxlan"
	}
	return "unknown"
}

// ParseEncap returns the encapsulation named s ("lisp-gpe" or "vxlan").
func ParseEncap(s string) (Encap, error) {
	switch s {
	case "lisp-gpe":
		return EncapLISPGPE, nil
	case "vxlan":
		return EncapVXLAN, nil
	}
	return EncapUnknown, fieldErr("encapsulation "+strconv.Quote(s), ErrInvalidValue)
}

// Port returns the UDP destination port of e (0 for EncapUnknown).
func (e Encap) Port() uint16 {
	switch e {
	case EncapLISPGPE:
		return PortLISPData
	case EncapVXLAN:
		return PortVXLAN
	}
	return 0
}

// Overlay is an Ethernet frame found inside a UDP payload.
type Overlay struct {
	Encap Encap
	IID   uint32 // LISP-GPE instance-id or VXLAN VNI
	Frame []byte // the inner Ethernet frame; aliases the payload
}

// DecodeOverlay decodes the UDP payload sent to dstPort: a LISP-GPE
// packet carrying Ethernet (flags I and P, Next Protocol 0x03) on 4341, or
// a VXLAN packet on 4789. With dstPort 0 the encapsulation is told from the
// header alone: the P bit means LISP-GPE, otherwise VXLAN; that guess is
// only safe for traffic known to be one of the two, since a plain RFC 9300
// header with the I bit reads like VXLAN. Errors wrap ErrTruncated,
// ErrInvalidValue (not Ethernet, no instance-id, VNI not valid) or
// ErrUnknownType (another port).
func DecodeOverlay(dstPort uint16, payload []byte) (Overlay, error) {
	encap := EncapUnknown
	switch dstPort {
	case PortLISPData:
		encap = EncapLISPGPE
	case PortVXLAN:
		encap = EncapVXLAN
	case 0:
		encap = EncapVXLAN
		if len(payload) > 0 && payload[0]&gpeFlagP != 0 {
			encap = EncapLISPGPE
		}
	default:
		return Overlay{}, fieldErr("udp port "+strconv.Itoa(int(dstPort)), ErrUnknownType)
	}
	o := Overlay{Encap: encap}
	if encap == EncapLISPGPE {
		var h GPEHeader
		if err := h.Decode(payload); err != nil {
			return o, err
		}
		if !h.HasNextProto || h.NextProto != NextProtoEthernet {
			return o, fieldErr("lisp-gpe next protocol", ErrInvalidValue)
		}
		if !h.HasIID {
			return o, fieldErr("lisp-gpe i flag", ErrInvalidValue)
		}
		o.IID = h.IID
	} else {
		var h VXLANHeader
		if err := h.Decode(payload); err != nil {
			return o, err
		}
		o.IID = h.VNI
	}
	o.Frame = payload[GPEHeaderLen:] // both headers are 8 bytes
	if len(o.Frame) < ethHeaderLen {
		return o, fieldErr("inner ethernet frame", ErrTruncated)
	}
	return o, nil
}

// AppendOverlay appends the encapsulation header of o followed by o.Frame
// to b: for LISP-GPE the header OVS writes (flags I and P, Next Protocol
// Ethernet, nonce and LSBs zero), for VXLAN the RFC 7348 header.
func AppendOverlay(b []byte, o *Overlay) ([]byte, error) {
	if len(o.Frame) < ethHeaderLen {
		return b, fieldErr("inner ethernet frame", ErrInvalidValue)
	}
	var err error
	switch o.Encap {
	case EncapLISPGPE:
		h := GPEHeader{HasIID: true, HasNextProto: true, NextProto: NextProtoEthernet, IID: o.IID}
		b, err = h.Append(b)
	case EncapVXLAN:
		h := VXLANHeader{VNI: o.IID}
		b, err = h.Append(b)
	default:
		return b, fieldErr("encapsulation", ErrInvalidValue)
	}
	if err != nil {
		return b, err
	}
	return append(b, o.Frame...), nil
}
