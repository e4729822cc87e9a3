package packet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// Address Family Identifiers used by LISP (IANA "Address Family Numbers").
const (
	AFINone uint16 = 0 // no address (RFC 9301 §5.2: AFI 0, zero length)
	AFIIPv4 uint16 = 1
	AFIIPv6 uint16 = 2
	// AFIMAC is IANA AFI 6 "802 (includes all 802 media plus Ethernet
	// canonical format)". RFC 8060 and the deployed LISP implementations
	// (and Wireshark) use it for 48-bit MAC EIDs, so encoders should too.
	AFIMAC uint16 = 6
	// AFIMAC48 is IANA AFI 16389 "48-bit MAC". It is decoded as a MAC and
	// re-encoded with the same AFI, but AFIMAC is the interoperable choice.
	AFIMAC48 uint16 = 16389
	// AFILCAF is the LISP Canonical Address Format (RFC 8060).
	AFILCAF uint16 = 16387
)

// LCAFTypeIID is the RFC 8060 Instance-ID LCAF type.
const LCAFTypeIID = 2

const lcafHeaderLen = 6 // Rsvd1, Flags, Type, Rsvd2, Length (after the AFI)

// Address is a LISP address: an EID or RLOC, optionally inside an
// Instance-ID LCAF.
//
// AFI selects which field holds the value: IP for AFIIPv4/AFIIPv6, MAC for
// AFIMAC/AFIMAC48, nothing for AFINone, and Raw for anything else. Raw holds
// an LCAF of a type other than Instance-ID (the bytes after its AFI, from
// Rsvd1 to the end of the LCAF body) or, inside an Instance-ID LCAF only, the
// body of an address family this package does not interpret. HasIID wraps the
// address in an Instance-ID LCAF carrying IID and IIDMaskLen.
type Address struct {
	AFI        uint16
	IID        uint32 // the data plane carries only the low 24 bits
	IIDMaskLen uint8  // RFC 8060 IID mask-len (0 for a single instance)
	HasIID     bool
	IP         netip.Addr
	MAC        [6]byte
	Raw        []byte
}

// AddrFromIP returns an IPv4 or IPv6 address (AFINone if ip is invalid).
// IPv4-mapped IPv6 addresses stay IPv6; zones are dropped.
func AddrFromIP(ip netip.Addr) Address {
	switch {
	case ip.Is4():
		return Address{AFI: AFIIPv4, IP: ip}
	case ip.Is6():
		return Address{AFI: AFIIPv6, IP: ip.WithZone("")}
	}
	return Address{}
}

// AddrFromMAC returns a MAC address encoded with AFIMAC.
func AddrFromMAC(mac [6]byte) Address { return Address{AFI: AFIMAC, MAC: mac} }

// WithIID returns a copy of a wrapped in an Instance-ID LCAF.
func (a Address) WithIID(iid uint32) Address {
	a.HasIID, a.IID = true, iid
	return a
}

// IsMAC reports whether a holds a MAC address.
func (a Address) IsMAC() bool { return a.AFI == AFIMAC || a.AFI == AFIMAC48 }

// Equal reports whether a and b are the same address.
func (a Address) Equal(b Address) bool {
	return a.AFI == b.AFI && a.HasIID == b.HasIID && a.IID == b.IID &&
		a.IIDMaskLen == b.IIDMaskLen && a.IP == b.IP && a.MAC == b.MAC &&
		bytes.Equal(a.Raw, b.Raw)
}

// String formats a for logs, e.g. "[100]10.0.0.1" or "00:11:22:33:44:55".
func (a Address) String() string {
	s := a.plainString()
	if a.HasIID {
		return "[" + strconv.FormatUint(uint64(a.IID), 10) + "]" + s
	}
	return s
}

func (a Address) plainString() string {
	switch {
	case a.AFI == AFINone:
		return "no-address"
	case a.AFI == AFIIPv4 || a.AFI == AFIIPv6:
		return a.IP.String()
	case a.IsMAC():
		m := a.MAC
		return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
	}
	return fmt.Sprintf("afi%d:%x", a.AFI, a.Raw)
}

// plainLen is the encoded length of the address value after its AFI.
// inLCAF permits uninterpreted AFIs, whose length only an enclosing LCAF
// can convey.
func (a *Address) plainLen(inLCAF bool) (int, error) {
	switch a.AFI {
	case AFINone:
		return 0, nil
	case AFIIPv4:
		if !a.IP.Is4() {
			return 0, fieldErr("ipv4 address", ErrInvalidValue)
		}
		return 4, nil
	case AFIIPv6:
		if !a.IP.Is6() {
			return 0, fieldErr("ipv6 address", ErrInvalidValue)
		}
		return 16, nil
	case AFIMAC, AFIMAC48:
		return 6, nil
	case AFILCAF:
		if !validLCAF(a.Raw) {
			return 0, fieldErr("lcaf raw", ErrInvalidValue)
		}
		return len(a.Raw), nil
	}
	if !inLCAF {
		return 0, fieldErr("afi "+strconv.Itoa(int(a.AFI)), ErrUnsupportedAFI)
	}
	return len(a.Raw), nil
}

// validLCAF checks that raw (LCAF bytes after the AFI) is self-consistent.
func validLCAF(raw []byte) bool {
	return len(raw) >= lcafHeaderLen && int(be16(raw[4:6])) == len(raw)-lcafHeaderLen
}

// EncodedLen returns the number of bytes Append would write.
func (a *Address) EncodedLen() (int, error) {
	n, err := a.plainLen(a.HasIID)
	if err != nil {
		return 0, err
	}
	if a.HasIID {
		return 2 + lcafHeaderLen + 4 + 2 + n, nil
	}
	return 2 + n, nil
}

// Append appends the AFI-prefixed encoding of a to b.
func (a *Address) Append(b []byte) ([]byte, error) {
	n, err := a.plainLen(a.HasIID)
	if err != nil {
		return b, err
	}
	if a.HasIID {
		l := 4 + 2 + n
		if l > 0xffff {
			return b, fieldErr("lcaf length", ErrInvalidValue)
		}
		b = binary.BigEndian.AppendUint16(b, AFILCAF)
		b = append(b, 0, 0, LCAFTypeIID, a.IIDMaskLen, byte(l>>8), byte(l))
		b = binary.BigEndian.AppendUint32(b, a.IID)
	}
	b = binary.BigEndian.AppendUint16(b, a.AFI)
	switch a.AFI {
	case AFINone:
	case AFIIPv4:
		v := a.IP.As4()
		b = append(b, v[:]...)
	case AFIIPv6:
		v := a.IP.As16()
		b = append(b, v[:]...)
	case AFIMAC, AFIMAC48:
		b = append(b, a.MAC[:]...)
	default:
		b = append(b, a.Raw...)
	}
	return b, nil
}

// decodeAddress decodes an AFI-prefixed address from the start of b into a
// and returns the number of bytes consumed.
func decodeAddress(b []byte, a *Address) (int, error) {
	*a = Address{}
	if len(b) < 2 {
		return 0, ErrTruncated
	}
	afi := be16(b)
	if afi != AFILCAF {
		n, ok := plainSize(afi)
		if !ok {
			return 0, fieldErr("afi "+strconv.Itoa(int(afi)), ErrUnsupportedAFI)
		}
		if len(b) < 2+n {
			return 0, ErrTruncated
		}
		setPlain(a, afi, b[2:2+n])
		return 2 + n, nil
	}
	if len(b) < 2+lcafHeaderLen {
		return 0, ErrTruncated
	}
	end := 2 + lcafHeaderLen + int(be16(b[6:8]))
	if len(b) < end {
		return 0, ErrTruncated
	}
	if b[4] != LCAFTypeIID {
		// Unknown LCAF types are skipped by their length and kept opaque.
		a.AFI, a.Raw = AFILCAF, b[2:end]
		return end, nil
	}
	if end < 2+lcafHeaderLen+4+2 {
		return 0, fieldErr("instance-id lcaf length", ErrInvalidValue)
	}
	a.HasIID, a.IIDMaskLen, a.IID = true, b[5], be32(b[8:12])
	if err := decodeInner(b[12:end], a); err != nil {
		return 0, err
	}
	return end, nil
}

// decodeInner decodes the address inside an Instance-ID LCAF, which must
// fill inner exactly.
func decodeInner(inner []byte, a *Address) error {
	afi, body := be16(inner), inner[2:]
	if n, ok := plainSize(afi); ok {
		if len(body) != n {
			return fieldErr("instance-id lcaf length", ErrInvalidValue)
		}
		setPlain(a, afi, body)
		return nil
	}
	// Nested LCAFs (including a second Instance-ID) and unknown AFIs stay
	// opaque; the enclosing length tells us where they end.
	if afi == AFILCAF && !validLCAF(body) {
		return fieldErr("nested lcaf length", ErrInvalidValue)
	}
	a.AFI, a.Raw = afi, body
	return nil
}

// plainSize returns the value length of the fixed-size AFIs.
func plainSize(afi uint16) (int, bool) {
	switch afi {
	case AFINone:
		return 0, true
	case AFIIPv4:
		return 4, true
	case AFIIPv6:
		return 16, true
	case AFIMAC, AFIMAC48:
		return 6, true
	}
	return 0, false
}

func setPlain(a *Address, afi uint16, v []byte) {
	a.AFI = afi
	switch afi {
	case AFIIPv4:
		a.IP = netip.AddrFrom4([4]byte(v))
	case AFIIPv6:
		a.IP = netip.AddrFrom16([16]byte(v))
	case AFIMAC, AFIMAC48:
		a.MAC = [6]byte(v)
	}
}

// EID is an EID-prefix: an address plus the record's mask length.
type EID struct {
	Addr    Address
	MaskLen uint8
}

// NewPrefixEID returns the EID for an IP prefix (masked to its length).
func NewPrefixEID(p netip.Prefix) EID {
	p = p.Masked()
	return EID{Addr: AddrFromIP(p.Addr()), MaskLen: uint8(max(p.Bits(), 0))}
}

// NewMACEID returns the EID for a single MAC address (mask length 48).
func NewMACEID(mac [6]byte) EID { return EID{Addr: AddrFromMAC(mac), MaskLen: 48} }

// WithIID returns a copy of e inside an Instance-ID LCAF.
func (e EID) WithIID(iid uint32) EID {
	e.Addr = e.Addr.WithIID(iid)
	return e
}

// Prefix returns the IP prefix of e; ok is false for non-IP EIDs or a mask
// length longer than the address.
func (e EID) Prefix() (p netip.Prefix, ok bool) {
	if e.Addr.AFI != AFIIPv4 && e.Addr.AFI != AFIIPv6 {
		return netip.Prefix{}, false
	}
	p = netip.PrefixFrom(e.Addr.IP, int(e.MaskLen))
	return p, p.IsValid()
}

// MAC returns the MAC address of e; ok is false for non-MAC EIDs.
func (e EID) MAC() (mac [6]byte, ok bool) { return e.Addr.MAC, e.Addr.IsMAC() }

// Equal reports whether e and o are the same EID-prefix.
func (e EID) Equal(o EID) bool { return e.MaskLen == o.MaskLen && e.Addr.Equal(o.Addr) }

// String formats e as address/mask-len.
func (e EID) String() string { return e.Addr.String() + "/" + strconv.Itoa(int(e.MaskLen)) }
