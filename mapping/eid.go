package mapping

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// MaxIID is the largest LISP instance-id: the data-plane header carries 24 bits.
const MaxIID = 1<<24 - 1

// Family says what kind of address an EID is.
type Family uint8

// EID families. The numbering is ours; the LISP codec maps them to IANA AFIs.
const (
	FamilyMAC Family = iota + 1
	FamilyIPv4
	FamilyIPv6
)

func (f Family) String() string {
	switch f {
	case FamilyMAC:
		return "mac"
	case FamilyIPv4:
		return "ipv4"
	case FamilyIPv6:
		return "ipv6"
	}
	return "unknown"
}

// MAC is a 48-bit Ethernet address, kept as an array so it can be a map key.
type MAC [6]byte

// ParseMAC accepts the colon or dash separated hex forms.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return m, fmt.Errorf("malformed MAC address %q", s)
	}
	copy(m[:], hw)
	return m, nil
}

func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// Uint64 packs the address into the low 48 bits, as OpenFlow matches carry it.
func (m MAC) Uint64() uint64 {
	var v uint64
	for _, b := range m {
		v = v<<8 | uint64(b)
	}
	return v
}

// MACFromUint64 is the inverse of Uint64: it takes the low 48 bits of v.
func MACFromUint64(v uint64) MAC {
	return MAC{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// IsMulticast reports the group bit; such addresses can never be EIDs.
func (m MAC) IsMulticast() bool { return m[0]&1 == 1 }

// EID is an endpoint identifier inside one instance-id: either a MAC address
// or an IP prefix (a host address is a full-length prefix).
type EID struct {
	IID    uint32
	MAC    MAC          // set when Family() == FamilyMAC
	Prefix netip.Prefix // set (masked) when the EID is an IP prefix
}

// MACEID builds a MAC EID.
func MACEID(iid uint32, m MAC) EID { return EID{IID: iid, MAC: m} }

// PrefixEID builds an IP EID; the prefix is masked so equal EIDs compare equal.
func PrefixEID(iid uint32, p netip.Prefix) EID { return EID{IID: iid, Prefix: p.Masked()} }

// Family tells whether the EID is a MAC, IPv4 or IPv6 EID.
func (e EID) Family() Family {
	switch {
	case !e.Prefix.IsValid():
		return FamilyMAC
	case e.Prefix.Addr().Is4():
		return FamilyIPv4
	default:
		return FamilyIPv6
	}
}

// Address is the EID without its instance-id, in its usual text form
// (a host prefix is printed as a prefix, e.g. 198.51.100.7/32).
func (e EID) Address() string {
	if e.Family() == FamilyMAC {
		return e.MAC.String()
	}
	return e.Prefix.String()
}

func (e EID) String() string { return fmt.Sprintf("[%d]%s", e.IID, e.Address()) }

// ErrBadEID is wrapped by every EID parsing error.
var ErrBadEID = errors.New("bad EID")

// ParseEID reads a MAC address, an IP address (taken as a host prefix) or an
// IP prefix, within instance-id iid.
func ParseEID(iid uint32, s string) (EID, error) {
	if iid > MaxIID {
		return EID{}, fmt.Errorf("%w: instance-id %d out of range 0-%d", ErrBadEID, iid, MaxIID)
	}
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return EID{}, fmt.Errorf("%w: malformed prefix %q", ErrBadEID, s)
		}
		if p.Addr().Zone() != "" || p.Bits() < unmapBits(p.Addr()) {
			return EID{}, fmt.Errorf("%w: unusable prefix %q", ErrBadEID, s)
		}
		return PrefixEID(iid, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr()))), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return EID{}, fmt.Errorf("%w: zoned address %q", ErrBadEID, s)
		}
		a = a.Unmap()
		return PrefixEID(iid, netip.PrefixFrom(a, a.BitLen())), nil
	}
	m, err := ParseMAC(s)
	if err != nil {
		return EID{}, fmt.Errorf("%w: %q is neither a MAC address nor an IP address or prefix", ErrBadEID, s)
	}
	if m.IsMulticast() {
		return EID{}, fmt.Errorf("%w: %s is a group address", ErrBadEID, m)
	}
	return MACEID(iid, m), nil
}

// unmapBits is how many prefix bits the IPv4-mapped form adds.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}
