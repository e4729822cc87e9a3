package packet

import "encoding/binary"

// MapRequest is a LISP Map-Request (type 1, RFC 9301 §5.2), with the
// publish/subscribe additions of RFC 9437 §5: the I bit (bit 11 of the
// header) announces the xTR-ID and site-ID appended after the last record,
// and the N bit (bit 0 of each EID-Record's reserved byte) asks to be
// notified of changes to that EID-prefix.
type MapRequest struct {
	Authoritative  bool // A
	MapDataPresent bool // M: MapReply holds the sender's mapping
	Probe          bool // P: RLOC-probe
	SMR            bool // S: Solicit-Map-Request
	PITR           bool // p: sent by a Proxy-ITR
	SMRInvoked     bool // s: sent in response to an SMR
	HasXTRID       bool // I: XTRID and SiteID follow the records (RFC 9437)
	LocalXTR       bool // L: xTR asking its local Map-Server
	DontMapReply   bool // D: do not send a Map-Reply
	Nonce          uint64
	SourceEID      Address
	ITRRLOCs       []Address // 1..32 addresses
	EIDs           []EID     // the requested EID-prefixes (records)
	// Notify holds the N bit of each EID-Record: bit i set subscribes the
	// sender to EIDs[i] (RFC 9437). Bits past len(EIDs) are not encoded.
	Notify   RecordBits
	MapReply Record // encoded only when MapDataPresent
	XTRID    [16]byte
	SiteID   [8]byte
}

// Map-Request header bits that RFC 9437 adds.
const (
	mreqFlagXTRID  = 0x10 // I, in the second header byte
	mreqRecNotify  = 0x80 // N, in an EID-Record's reserved byte
	maxRecordCount = 0xff
)

// RecordBits is a set of record indexes 0..255, one bit per record of a
// message, so per-record flags cost no allocation.
type RecordBits [4]uint64

// Has reports whether record i is in the set.
func (s *RecordBits) Has(i int) bool {
	return i >= 0 && i <= maxRecordCount && s[i>>6]&(1<<(i&63)) != 0
}

// Set adds record i to the set, or removes it when v is false. Indexes
// outside 0..255 are ignored.
func (s *RecordBits) Set(i int, v bool) {
	if i < 0 || i > maxRecordCount {
		return
	}
	if v {
		s[i>>6] |= 1 << (i & 63)
	} else {
		s[i>>6] &^= 1 << (i & 63)
	}
}

// Any reports whether the set is not empty.
func (s *RecordBits) Any() bool { return *s != RecordBits{} }

const maxITRRLOCs = 32 // 5-bit IRC field holds count-1

// Type returns TypeMapRequest.
func (m *MapRequest) Type() Type { return TypeMapRequest }

// Marshal returns the wire encoding of m.
func (m *MapRequest) Marshal() ([]byte, error) { return m.Append(nil) }

// Append appends the wire encoding of m to b.
func (m *MapRequest) Append(b []byte) ([]byte, error) {
	n := len(m.ITRRLOCs)
	if n < 1 || n > maxITRRLOCs {
		return b, fieldErr("itr-rloc count", ErrInvalidValue)
	}
	if len(m.EIDs) > 0xff {
		return b, fieldErr("record count", ErrInvalidValue)
	}
	b = append(b,
		byte(TypeMapRequest)<<4|flag(m.Authoritative, 0x08)|flag(m.MapDataPresent, 0x04)|
			flag(m.Probe, 0x02)|flag(m.SMR, 0x01),
		flag(m.PITR, 0x80)|flag(m.SMRInvoked, 0x40)|flag(m.HasXTRID, mreqFlagXTRID),
		flag(m.LocalXTR, 0x40)|flag(m.DontMapReply, 0x20)|byte(n-1),
		byte(len(m.EIDs)))
	b = binary.BigEndian.AppendUint64(b, m.Nonce)
	b, err := m.SourceEID.Append(b)
	if err != nil {
		return b, wrapField("source eid", err)
	}
	for i := range m.ITRRLOCs {
		if b, err = m.ITRRLOCs[i].Append(b); err != nil {
			return b, wrapIndex("itr-rloc", i, err)
		}
	}
	for i := range m.EIDs {
		b = append(b, flag(m.Notify.Has(i), mreqRecNotify), m.EIDs[i].MaskLen)
		if b, err = m.EIDs[i].Addr.Append(b); err != nil {
			return b, wrapIndex("eid record", i, err)
		}
	}
	if m.MapDataPresent {
		if b, err = appendRecord(b, &m.MapReply); err != nil {
			return b, wrapField("map-reply record", err)
		}
	}
	return appendXTRID(b, m.HasXTRID, &m.XTRID, &m.SiteID), nil
}

// Decode decodes b into m, reusing m's slices. m aliases b afterwards.
func (m *MapRequest) Decode(b []byte) error {
	if err := checkType(b, nonceHeaderLen, TypeMapRequest); err != nil {
		return err
	}
	m.Authoritative = b[0]&0x08 != 0
	m.MapDataPresent = b[0]&0x04 != 0
	m.Probe = b[0]&0x02 != 0
	m.SMR = b[0]&0x01 != 0
	m.PITR = b[1]&0x80 != 0
	m.SMRInvoked = b[1]&0x40 != 0
	m.HasXTRID = b[1]&mreqFlagXTRID != 0
	m.LocalXTR = b[2]&0x40 != 0
	m.DontMapReply = b[2]&0x20 != 0
	nRLOC, nRec := int(b[2]&0x1f)+1, int(b[3])
	m.Nonce = be64(b[4:])
	off := nonceHeaderLen
	n, err := decodeAddress(b[off:], &m.SourceEID)
	if err != nil {
		return wrapField("source eid", err)
	}
	off += n
	// Each ITR-RLOC takes at least an AFI, each record 4 bytes.
	if len(b)-off < nRLOC*2+nRec*4 {
		return ErrTruncated
	}
	m.ITRRLOCs = reuse(m.ITRRLOCs, nRLOC)
	for i := range m.ITRRLOCs {
		if n, err = decodeAddress(b[off:], &m.ITRRLOCs[i]); err != nil {
			return wrapIndex("itr-rloc", i, err)
		}
		off += n
	}
	m.EIDs = reuse(m.EIDs, nRec)
	m.Notify = RecordBits{}
	for i := range m.EIDs {
		if len(b)-off < 2 {
			return ErrTruncated
		}
		m.Notify.Set(i, b[off]&mreqRecNotify != 0)
		m.EIDs[i].MaskLen = b[off+1]
		if n, err = decodeAddress(b[off+2:], &m.EIDs[i].Addr); err != nil {
			return wrapIndex("eid record", i, err)
		}
		off += 2 + n
	}
	if !m.MapDataPresent {
		m.MapReply = Record{Locators: m.MapReply.Locators[:0]}
	} else {
		if n, err = decodeRecord(b[off:], &m.MapReply); err != nil {
			return wrapField("map-reply record", err)
		}
		off += n
	}
	return decodeXTRID(b[off:], m.HasXTRID, &m.XTRID, &m.SiteID)
}
