package mapping

import (
	"fmt"
	"net/netip"
	"time"
)

// Origin says how a mapping entered the database.
type Origin string

// The origins of a mapping record.
const (
	OriginStatic     Origin = "static"     // typed in by an operator
	OriginRegistered Origin = "registered" // sent by an xTR in a Map-Register
	OriginLearned    Origin = "learned"    // detected from a host's traffic at an edge
)

// Valid reports whether o is one of the known origins.
func (o Origin) Valid() bool {
	return o == OriginStatic || o == OriginRegistered || o == OriginLearned
}

// Locator is one RLOC of a locator set with its RFC 9301 priority and weight.
type Locator struct {
	Addr     netip.Addr `json:"address"`
	Priority uint8      `json:"priority"`
	Weight   uint8      `json:"weight"`
	Up       bool       `json:"up"`
}

func (l Locator) String() string {
	state := "up"
	if !l.Up {
		state = "down"
	}
	return fmt.Sprintf("%s p%d w%d %s", l.Addr, l.Priority, l.Weight, state)
}

// Record is one EID-to-RLOC mapping.
type Record struct {
	EID      EID
	Locators []Locator // read-only once handed out: the index shares locator sets
	TTL      uint32    // minutes, as RFC 9301 records carry it
	Origin   Origin
	Site     string
	XTR      string // the registering or learning xTR, if any
	Port     string // the access port of XTR where the EID was learned, if known
	Version  uint64 // grows on every change of the record
	NoProxy  bool   // the registrant asked the Map-Server not to proxy-reply
	// MAC is the Ethernet address an IP EID is bound to (learned from ARP
	// or ND); the zero MAC means no binding. The ARP responder answers
	// for bound addresses.
	MAC MAC
	// Frozen marks a MAC EID flagged duplicate: it moved too often, so
	// further moves are ignored until an operator clears the flag.
	Frozen    bool
	UpdatedAt time.Time
}

// unpackMAC is the inverse of MAC.Uint64.
func unpackMAC(v uint64) MAC {
	var m MAC
	for i := 5; i >= 0; i-- {
		m[i] = byte(v)
		v >>= 8
	}
	return m
}

// HasMAC reports whether an IP EID is bound to a MAC.
func (r Record) HasMAC() bool { return r.MAC != MAC{} }

// DefaultTTL is the record TTL, in minutes, when none is given (RFC 9301: 1 day).
const DefaultTTL = 1440

// NegativeTTL is what a negative Map-Reply's TTL is, in minutes (RFC 9301 §8.1 suggests 15).
const NegativeTTL = 15

// BestLocators returns the usable locators of the best (numerically lowest)
// priority; priority 255 means "do not use" (RFC 9301).
func BestLocators(ls []Locator) []Locator {
	best := -1
	for _, l := range ls {
		if l.Up && l.Priority != 255 && (best < 0 || int(l.Priority) < best) {
			best = int(l.Priority)
		}
	}
	if best < 0 {
		return nil
	}
	out := make([]Locator, 0, len(ls))
	for _, l := range ls {
		if l.Up && int(l.Priority) == best {
			out = append(out, l)
		}
	}
	return out
}
