package pipeline

import (
	"fmt"
	"strings"
)

// Encap is how a network's Ethernet frames cross the WAN. Each has its own
// flow-based tunnel port on the bridge (docs/pipeline.md, "Encapsulation").
type Encap uint8

// The encapsulations. The zero value is the default.
const (
	// EncapLISPGPE is LISP-GPE (RFC 9305) on UDP 4341: flags I and P set,
	// Next Protocol 0x03 (Ethernet), the instance-id in the 24-bit field.
	EncapLISPGPE Encap = iota
	// EncapVXLAN is VXLAN (RFC 7348) on UDP 4789 with VNI = instance-id,
	// for interoperation with VXLAN VTEPs.
	EncapVXLAN
	numEncaps
)

var encapNames = [numEncaps]string{"lisp-gpe", "vxlan"}

// String is the name the API and the database use.
func (e Encap) String() string {
	if e < numEncaps {
		return encapNames[e]
	}
	return fmt.Sprintf("encap(%d)", uint8(e))
}

// EncapNames lists the valid names, the default first.
func EncapNames() []string { return encapNames[:] }

// ParseEncap reads an encapsulation name; the empty string is the default.
// An unknown name is an error, and the Encap returned with it is one that
// no tunnel port carries, so a caller that ignores the error sends nothing
// rather than frames in the wrong format.
func ParseEncap(s string) (Encap, error) {
	if s == "" {
		return EncapLISPGPE, nil
	}
	for i, n := range encapNames {
		if s == n {
			return Encap(i), nil
		}
	}
	return numEncaps, fmt.Errorf("unknown encapsulation %q: want %s", s, strings.Join(encapNames[:], " or "))
}

// tunnelPort is the OpenFlow port of an encapsulation in view v, 0 when
// there is none (not created yet, or an encapsulation this build does not
// know: its frames then never leave).
func (v *SwitchView) tunnelPort(e Encap) uint32 {
	switch e {
	case EncapLISPGPE:
		return v.TunnelPort
	case EncapVXLAN:
		return v.VXLANPort
	}
	return 0
}
