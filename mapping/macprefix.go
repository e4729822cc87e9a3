package mapping

import (
	"fmt"
	"strconv"
	"strings"
)

// MACPrefix is a block of MAC addresses sharing their first Bits bits, as
// an OUI (/24) shares the first three bytes: 02:00:10:00:00:00/24. It is
// what a site's MAC scope is made of.
type MACPrefix struct {
	Addr MAC // masked: the bits past Bits are zero
	Bits int // 1-48
}

// ParseMACPrefix reads "MAC/BITS"; a bare MAC is a /48. Bits past the
// length are cleared, as netip.Prefix.Masked does for IP prefixes. A /0
// is refused (a site says "any MAC" with its own switch), and so is a
// block of group (multicast) addresses only, since those are never EIDs.
func ParseMACPrefix(s string) (MACPrefix, error) {
	s = strings.TrimSpace(s)
	addr, bits, cut := strings.Cut(s, "/")
	n := 48
	if cut {
		v, err := strconv.Atoi(bits)
		if err != nil || v < 1 || v > 48 {
			return MACPrefix{}, fmt.Errorf("MAC prefix %q: length must be 1-48", s)
		}
		n = v
	}
	m, err := ParseMAC(addr)
	if err != nil {
		return MACPrefix{}, fmt.Errorf("MAC prefix %q: %w", s, err)
	}
	p := MACPrefix{Addr: m, Bits: n}.Masked()
	if p.Addr.IsMulticast() {
		return MACPrefix{}, fmt.Errorf("MAC prefix %q holds only group addresses", s)
	}
	return p, nil
}

// mask is the prefix's bit mask in the low 48 bits.
func (p MACPrefix) mask() uint64 {
	const all = 1<<48 - 1
	if p.Bits <= 0 {
		return 0
	}
	return all &^ (1<<(48-min(p.Bits, 48)) - 1)
}

// Masked returns p with the bits past its length cleared.
func (p MACPrefix) Masked() MACPrefix {
	return MACPrefix{Addr: MACFromUint64(p.Addr.Uint64() & p.mask()), Bits: p.Bits}
}

// Contains reports whether m lies in p.
func (p MACPrefix) Contains(m MAC) bool {
	return p.Bits > 0 && (m.Uint64()^p.Addr.Uint64())&p.mask() == 0
}

func (p MACPrefix) String() string { return p.Addr.String() + "/" + strconv.Itoa(p.Bits) }

// MarshalText writes the String form (for JSON).
func (p MACPrefix) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads what ParseMACPrefix reads.
func (p *MACPrefix) UnmarshalText(b []byte) error {
	v, err := ParseMACPrefix(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
