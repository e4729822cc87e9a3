package packet

import (
	"encoding/binary"
	"strconv"
)

// Action is the 3-bit ACT field of a mapping record (RFC 9301 §5.4),
// meaningful mostly in negative Map-Replies (zero locators).
type Action uint8

// Action values from the IANA "LISP ACT Values" registry.
const (
	ActionNoAction        Action = 0
	ActionNativelyForward Action = 1
	ActionSendMapRequest  Action = 2
	ActionDrop            Action = 3 // Drop/No-Reason
	ActionDropPolicy      Action = 4 // Drop/Policy-Denied
	ActionDropAuthFailure Action = 5 // Drop/Auth-Failure
)

// String returns the registry name of the action.
func (a Action) String() string {
	switch a {
	case ActionNoAction:
		return "no-action"
	case ActionNativelyForward:
		return "natively-forward"
	case ActionSendMapRequest:
		return "send-map-request"
	case ActionDrop:
		return "drop"
	case ActionDropPolicy:
		return "drop-policy-denied"
	case ActionDropAuthFailure:
		return "drop-auth-failure"
	}
	return "action-" + strconv.Itoa(int(a))
}

// Locator is one RLOC entry of a mapping record.
type Locator struct {
	Priority  uint8 // 255 means do not use for unicast
	Weight    uint8
	MPriority uint8
	MWeight   uint8
	Local     bool // L: the RLOC is the sender's own
	Probed    bool // p: the RLOC was probed (reply to an RLOC-probe)
	Reachable bool // R: the RLOC is up
	Addr      Address
}

// Locator flag bits in the low byte of the 16-bit flags field.
const (
	locFlagLocal     = 0x04
	locFlagProbed    = 0x02
	locFlagReachable = 0x01
)

// Record is a mapping record ("EID record") as carried by Map-Reply,
// Map-Register, Map-Notify and the Map-Reply record of a Map-Request.
type Record struct {
	TTL           uint32 // minutes; 0xffffffff means never expire
	EID           EID
	Action        Action // 3 bits
	Authoritative bool   // A bit
	MapVersion    uint16 // 12 bits
	Locators      []Locator
}

const (
	recordFixedLen  = 10 // TTL, counts, flags, version (before the EID AFI)
	locatorFixedLen = 6  // priorities, weights, flags (before the Loc-AFI)
	maxMapVersion   = 0xfff
)

// appendRecord appends the wire form of r to b.
func appendRecord(b []byte, r *Record) ([]byte, error) {
	if len(r.Locators) > 0xff {
		return b, fieldErr("locator count", ErrInvalidValue)
	}
	if r.Action > 7 {
		return b, fieldErr("record action", ErrInvalidValue)
	}
	if r.MapVersion > maxMapVersion {
		return b, fieldErr("map-version", ErrInvalidValue)
	}
	b = binary.BigEndian.AppendUint32(b, r.TTL)
	b = append(b, byte(len(r.Locators)), r.EID.MaskLen,
		byte(r.Action)<<5|flag(r.Authoritative, 0x10), 0,
		byte(r.MapVersion>>8), byte(r.MapVersion))
	b, err := r.EID.Addr.Append(b)
	if err != nil {
		return b, err
	}
	for i := range r.Locators {
		l := &r.Locators[i]
		b = append(b, l.Priority, l.Weight, l.MPriority, l.MWeight, 0,
			flag(l.Local, locFlagLocal)|flag(l.Probed, locFlagProbed)|flag(l.Reachable, locFlagReachable))
		if b, err = l.Addr.Append(b); err != nil {
			return b, err
		}
	}
	return b, nil
}

// decodeRecord decodes one mapping record from the start of b into r,
// reusing r.Locators, and returns the bytes consumed.
func decodeRecord(b []byte, r *Record) (int, error) {
	if len(b) < recordFixedLen+2 {
		return 0, ErrTruncated
	}
	locCount := int(b[4])
	r.TTL = be32(b)
	r.EID.MaskLen = b[5]
	r.Action = Action(b[6] >> 5)
	r.Authoritative = b[6]&0x10 != 0
	r.MapVersion = be16(b[8:10]) & maxMapVersion
	off := recordFixedLen
	n, err := decodeAddress(b[off:], &r.EID.Addr)
	if err != nil {
		return 0, err
	}
	off += n
	// Cheap bound before sizing the slice: each locator needs 8 bytes.
	if len(b)-off < locCount*(locatorFixedLen+2) {
		return 0, ErrTruncated
	}
	r.Locators = reuse(r.Locators, locCount)
	for i := range r.Locators {
		l := &r.Locators[i]
		if len(b)-off < locatorFixedLen {
			return 0, ErrTruncated
		}
		p := b[off:]
		l.Priority, l.Weight, l.MPriority, l.MWeight = p[0], p[1], p[2], p[3]
		l.Local = p[5]&locFlagLocal != 0
		l.Probed = p[5]&locFlagProbed != 0
		l.Reachable = p[5]&locFlagReachable != 0
		off += locatorFixedLen
		if n, err = decodeAddress(b[off:], &l.Addr); err != nil {
			return 0, err
		}
		off += n
	}
	return off, nil
}

// decodeRecords decodes count records into recs (reused) from b.
func decodeRecords(b []byte, count int, recs []Record) ([]Record, int, error) {
	// Cheap bound before sizing the slice: a record is at least 12 bytes.
	if len(b) < count*(recordFixedLen+2) {
		return recs[:0], 0, ErrTruncated
	}
	recs = reuse(recs, count)
	off := 0
	for i := range recs {
		n, err := decodeRecord(b[off:], &recs[i])
		if err != nil {
			return recs[:0], 0, wrapIndex("record", i, err)
		}
		off += n
	}
	return recs, off, nil
}

func appendRecords(b []byte, recs []Record) ([]byte, error) {
	var err error
	for i := range recs {
		if b, err = appendRecord(b, &recs[i]); err != nil {
			return b, wrapIndex("record", i, err)
		}
	}
	return b, nil
}

// CloneRecords deep-copies decoded records out of a receive buffer: a
// decoder's records alias the bytes it was given.
func CloneRecords(in []Record) []Record {
	out := make([]Record, len(in))
	for i, r := range in {
		r.EID.Addr.Raw = append([]byte(nil), r.EID.Addr.Raw...)
		r.Locators = append([]Locator(nil), r.Locators...)
		for j := range r.Locators {
			r.Locators[j].Addr.Raw = append([]byte(nil), r.Locators[j].Addr.Raw...)
		}
		out[i] = r
	}
	return out
}
