package packet

import (
	"encoding/binary"
	"net/netip"
)

// ECM is an Encapsulated Control Message (type 8, RFC 9301 §5.8): an ECM
// header followed by an inner IPv4 or IPv6 header, a UDP header and a LISP
// control message (normally a Map-Request).
type ECM struct {
	Security bool // S: LISP-SEC
	DDT      bool // D: DDT-originated
	ToETR    bool // E: forwarded by a Map-Server to an ETR
	ToMS     bool // M: sent to a Map-Server
	// Src and Dst are the inner IP addresses and UDP ports; both addresses
	// must be of the same family.
	Src, Dst netip.AddrPort
	TTL      uint8 // inner IPv4 TTL or IPv6 hop limit, written as given
	// Inner is the encapsulated message. When encoding, a nil Inner sends
	// Payload verbatim instead (e.g. to forward a request unmodified).
	Inner Message
	// Payload is the encapsulated LISP message as received (aliases the
	// input of Decode).
	Payload []byte
}

const (
	ecmHeaderLen  = 4
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	udpHeaderLen  = 8
	protoUDP      = 17
)

var zeroHeaders [ipv6HeaderLen + udpHeaderLen]byte

// Type returns TypeECM.
func (m *ECM) Type() Type { return TypeECM }

// Marshal returns the wire encoding of m.
func (m *ECM) Marshal() ([]byte, error) { return m.Append(nil) }

// Append appends the wire encoding of m to b, computing the inner IP and
// UDP lengths and checksums.
func (m *ECM) Append(b []byte) ([]byte, error) {
	src, dst := m.Src.Addr(), m.Dst.Addr()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return b, fieldErr("ecm inner addresses", ErrInvalidValue)
	}
	hl := ipv6HeaderLen
	if src.Is4() {
		hl = ipv4HeaderLen
	}
	b = append(b, byte(TypeECM)<<4|flag(m.Security, 0x08)|flag(m.DDT, 0x04)|
		flag(m.ToETR, 0x02)|flag(m.ToMS, 0x01), 0, 0, 0)
	ip := len(b)
	b = append(b, zeroHeaders[:hl+udpHeaderLen]...)
	var err error
	switch {
	case m.Inner == nil:
		b = append(b, m.Payload...)
	case m.Inner.Type() == TypeECM:
		return b, fieldErr("ecm inner message", ErrInvalidValue)
	default:
		if b, err = m.Inner.Append(b); err != nil {
			return b, wrapField("ecm inner message", err)
		}
	}
	udpLen := len(b) - ip - hl
	if udpLen+hl > 0xffff {
		return b, fieldErr("ecm inner length", ErrInvalidValue)
	}
	h := b[ip:]
	if hl == ipv4HeaderLen {
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(udpLen+hl))
		h[8], h[9] = m.TTL, protoUDP
		s, d := src.As4(), dst.As4()
		copy(h[12:16], s[:])
		copy(h[16:20], d[:])
		binary.BigEndian.PutUint16(h[10:], ^fold(sum16(0, h[:ipv4HeaderLen])))
	} else {
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(udpLen))
		h[6], h[7] = protoUDP, m.TTL
		s, d := src.As16(), dst.As16()
		copy(h[8:24], s[:])
		copy(h[24:40], d[:])
	}
	u := h[hl:]
	binary.BigEndian.PutUint16(u[0:], m.Src.Port())
	binary.BigEndian.PutUint16(u[2:], m.Dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen))
	c := ^fold(sum16(pseudoSum(src, dst, udpLen), u))
	if c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return b, nil
}

// Decode decodes b into m. The inner message is decoded too, reusing m.Inner
// when it has the right type; nested ECMs are rejected. Checksums are
// verified: the IPv4 header checksum always, the UDP checksum unless zero.
func (m *ECM) Decode(b []byte) error {
	if err := checkType(b, ecmHeaderLen, TypeECM); err != nil {
		return err
	}
	m.Security = b[0]&0x08 != 0
	m.DDT = b[0]&0x04 != 0
	m.ToETR = b[0]&0x02 != 0
	m.ToMS = b[0]&0x01 != 0
	udp, err := m.decodeIP(b[ecmHeaderLen:])
	if err != nil {
		return err
	}
	if m.Payload, err = m.decodeUDP(udp); err != nil {
		return err
	}
	if t, err := PeekType(m.Payload); err != nil || t == TypeECM {
		return fieldErr("ecm inner message", ErrInvalidValue)
	}
	inner, err := decodeInto(m.Inner, m.Payload)
	if err != nil {
		return wrapField("ecm inner message", err)
	}
	m.Inner = inner
	return nil
}

// decodeIP parses the inner IP header into m and returns the IP payload.
func (m *ECM) decodeIP(b []byte) ([]byte, error) {
	if len(b) < 1 {
		return nil, ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < ipv4HeaderLen {
			return nil, ErrTruncated
		}
		ihl, total := int(b[0]&0x0f)*4, int(be16(b[2:4]))
		if ihl < ipv4HeaderLen || total < ihl {
			return nil, fieldErr("inner ipv4 length", ErrInvalidValue)
		}
		if len(b) < total {
			return nil, ErrTruncated
		}
		if be16(b[6:8])&0x3fff != 0 {
			return nil, fieldErr("inner ipv4 fragment", ErrInvalidValue)
		}
		if b[9] != protoUDP {
			return nil, fieldErr("inner ip protocol", ErrInvalidValue)
		}
		if fold(sum16(0, b[:ihl])) != 0xffff {
			return nil, fieldErr("inner ipv4 header checksum", ErrChecksum)
		}
		m.TTL = b[8]
		m.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[12:16])), 0)
		m.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), 0)
		return b[ihl:total], nil
	case 6:
		if len(b) < ipv6HeaderLen {
			return nil, ErrTruncated
		}
		end := ipv6HeaderLen + int(be16(b[4:6]))
		if len(b) < end {
			return nil, ErrTruncated
		}
		// Extension headers are not expected inside an ECM.
		if b[6] != protoUDP {
			return nil, fieldErr("inner ip protocol", ErrInvalidValue)
		}
		m.TTL = b[7]
		m.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), 0)
		m.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[24:40])), 0)
		return b[ipv6HeaderLen:end], nil
	}
	return nil, fieldErr("inner ip version", ErrInvalidValue)
}

// decodeUDP validates the UDP header, fills in the ports and returns the
// UDP payload.
func (m *ECM) decodeUDP(b []byte) ([]byte, error) {
	if len(b) < udpHeaderLen {
		return nil, ErrTruncated
	}
	n := int(be16(b[4:6]))
	if n < udpHeaderLen {
		return nil, fieldErr("inner udp length", ErrInvalidValue)
	}
	if len(b) < n {
		return nil, ErrTruncated
	}
	src, dst := m.Src.Addr(), m.Dst.Addr()
	// Zero means "no checksum" (allowed for IPv4; tolerated for IPv6 as
	// some xTRs send it).
	if be16(b[6:8]) != 0 && fold(sum16(pseudoSum(src, dst, n), b[:n])) != 0xffff {
		return nil, fieldErr("inner udp checksum", ErrChecksum)
	}
	m.Src = netip.AddrPortFrom(src, be16(b[0:2]))
	m.Dst = netip.AddrPortFrom(dst, be16(b[2:4]))
	return b[udpHeaderLen:n], nil
}

// sum16 adds b to the running one's-complement sum s as 16-bit words.
func sum16(s uint64, b []byte) uint64 {
	for len(b) >= 2 {
		s += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// pseudoSum is the UDP pseudo-header contribution; IPv4 and IPv6 forms
// reduce to the same word sum.
func pseudoSum(src, dst netip.Addr, udpLen int) uint64 {
	var s uint64
	if src.Is4() {
		a, b := src.As4(), dst.As4()
		s = sum16(sum16(0, a[:]), b[:])
	} else {
		a, b := src.As16(), dst.As16()
		s = sum16(sum16(0, a[:]), b[:])
	}
	return s + protoUDP + uint64(udpLen)
}
