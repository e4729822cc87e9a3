package packet

import "encoding/binary"

// MapRegister is a LISP Map-Register (type 3, RFC 9301 §5.6).
//
// RFC 9301 splits the 16-bit "Key ID" of RFC 6833 into an 8-bit Key ID
// (which shared secret) and an 8-bit Algorithm ID (which MAC). Because the
// Key ID byte comes first, a legacy "Key ID 1" is KeyID 0 with AlgID 1;
// Wireshark shows the two bytes as one 16-bit lisp.keyid.
type MapRegister struct {
	ProxyReply    bool // P: Map-Server answers Map-Requests on our behalf
	Security      bool // S: LISP-SEC capable
	HasXTRID      bool // I: XTRID and SiteID are appended after the records
	RTR           bool // R: built for an RTR (NAT traversal)
	WantMapNotify bool // M
	Nonce         uint64
	KeyID         uint8
	AlgID         AuthAlg
	// AuthData is written as is when non-nil (even if empty); when nil,
	// Append writes AlgID.Size() zero bytes for Sign to fill in.
	AuthData []byte
	Records  []Record
	XTRID    [16]byte
	SiteID   [8]byte
}

// MapNotify is a LISP Map-Notify (type 4) or, when Ack is set, a
// Map-Notify-Ack (type 5); both share the Map-Register layout (RFC 9301
// §5.7) and are encoded, decoded, signed and verified alike. RFC 9301 gives
// them no header flags; the I and R flags follow the NAT-traversal layout
// that Wireshark and tcpdump decode (I = 0x08 in the first byte), so a
// Map-Notify echoing a Map-Register that carried an xTR-ID, or a pub/sub
// Map-Notify for an xTR that subscribed with one (RFC 9437), carries the
// same xTR-ID/site-ID trailer after its records. The HMAC covers the whole
// message, trailer included.
type MapNotify struct {
	Ack      bool // encode as Map-Notify-Ack (type 5)
	HasXTRID bool // I
	RTR      bool // R
	Nonce    uint64
	KeyID    uint8
	AlgID    AuthAlg
	AuthData []byte // see MapRegister.AuthData
	Records  []Record
	XTRID    [16]byte
	SiteID   [8]byte
}

// zeroAuth is the placeholder for authentication data not yet signed.
var zeroAuth [maxAuthSize]byte

const (
	authOffset = nonceHeaderLen + 4 // key id, alg id, auth length
	xtrIDLen   = 16 + 8             // xTR-ID + site-ID
)

// Type returns TypeMapRegister.
func (m *MapRegister) Type() Type { return TypeMapRegister }

// Marshal returns the wire encoding of m.
func (m *MapRegister) Marshal() ([]byte, error) { return m.Append(nil) }

// Append appends the wire encoding of m to b.
func (m *MapRegister) Append(b []byte) ([]byte, error) {
	if len(m.Records) > 0xff {
		return b, fieldErr("record count", ErrInvalidValue)
	}
	b = append(b,
		byte(TypeMapRegister)<<4|flag(m.ProxyReply, 0x08)|flag(m.Security, 0x04)|
			flag(m.HasXTRID, 0x02)|flag(m.RTR, 0x01),
		0, flag(m.WantMapNotify, 0x01), byte(len(m.Records)))
	return appendRegBody(b, m.Nonce, m.KeyID, m.AlgID, m.AuthData, m.Records,
		m.HasXTRID, &m.XTRID, &m.SiteID)
}

// Decode decodes b into m, reusing m's slices. m aliases b afterwards.
func (m *MapRegister) Decode(b []byte) error {
	if err := checkType(b, authOffset, TypeMapRegister); err != nil {
		return err
	}
	m.ProxyReply = b[0]&0x08 != 0
	m.Security = b[0]&0x04 != 0
	m.HasXTRID = b[0]&0x02 != 0
	m.RTR = b[0]&0x01 != 0
	m.WantMapNotify = b[2]&0x01 != 0
	var err error
	m.Nonce, m.KeyID, m.AlgID, m.AuthData, m.Records, err =
		decodeRegBody(b, m.Records, m.HasXTRID, &m.XTRID, &m.SiteID)
	return err
}

// Type returns TypeMapNotify, or TypeMapNotifyAck when Ack is set.
func (m *MapNotify) Type() Type {
	if m.Ack {
		return TypeMapNotifyAck
	}
	return TypeMapNotify
}

// Marshal returns the wire encoding of m.
func (m *MapNotify) Marshal() ([]byte, error) { return m.Append(nil) }

// Append appends the wire encoding of m to b.
func (m *MapNotify) Append(b []byte) ([]byte, error) {
	if len(m.Records) > 0xff {
		return b, fieldErr("record count", ErrInvalidValue)
	}
	b = append(b, byte(m.Type())<<4|flag(m.HasXTRID, 0x08)|flag(m.RTR, 0x04),
		0, 0, byte(len(m.Records)))
	return appendRegBody(b, m.Nonce, m.KeyID, m.AlgID, m.AuthData, m.Records,
		m.HasXTRID, &m.XTRID, &m.SiteID)
}

// Decode decodes b (type 4 or 5) into m, reusing m's slices. m aliases b
// afterwards.
func (m *MapNotify) Decode(b []byte) error {
	if err := checkType(b, authOffset, TypeMapNotify, TypeMapNotifyAck); err != nil {
		return err
	}
	m.Ack = Type(b[0]>>4) == TypeMapNotifyAck
	m.HasXTRID = b[0]&0x08 != 0
	m.RTR = b[0]&0x04 != 0
	var err error
	m.Nonce, m.KeyID, m.AlgID, m.AuthData, m.Records, err =
		decodeRegBody(b, m.Records, m.HasXTRID, &m.XTRID, &m.SiteID)
	return err
}

// Acknowledge returns the Map-Notify-Ack answering the Map-Notify m: the
// same nonce (which is how the sender matches it, see PeekNonce), key ID,
// algorithm, records and xTR-ID trailer (RFC 9301 §5.7). AuthData is nil so
// that Append reserves the field for Sign; Records shares m's slice.
func (m *MapNotify) Acknowledge() MapNotify {
	a := *m
	a.Ack, a.AuthData = true, nil
	return a
}

// appendRegBody appends everything after the first header word that
// Map-Register and Map-Notify share.
func appendRegBody(b []byte, nonce uint64, keyID uint8, alg AuthAlg, auth []byte,
	recs []Record, hasXTRID bool, xtrID *[16]byte, siteID *[8]byte) ([]byte, error) {
	n := len(auth)
	if auth == nil {
		n = alg.Size()
	}
	if n > 0xffff {
		return b, fieldErr("authentication data length", ErrInvalidValue)
	}
	b = binary.BigEndian.AppendUint64(b, nonce)
	b = append(b, keyID, byte(alg), byte(n>>8), byte(n))
	if auth != nil {
		b = append(b, auth...)
	} else {
		b = append(b, zeroAuth[:n]...)
	}
	b, err := appendRecords(b, recs)
	if err != nil {
		return b, err
	}
	return appendXTRID(b, hasXTRID, xtrID, siteID), nil
}

// appendXTRID appends the 128-bit xTR-ID and 64-bit site-ID trailer when
// the message's I bit is set.
func appendXTRID(b []byte, has bool, xtrID *[16]byte, siteID *[8]byte) []byte {
	if !has {
		return b
	}
	b = append(b, xtrID[:]...)
	return append(b, siteID[:]...)
}

// decodeXTRID reads the xTR-ID/site-ID trailer from the start of b when has
// is set, and clears both otherwise.
func decodeXTRID(b []byte, has bool, xtrID *[16]byte, siteID *[8]byte) error {
	if !has {
		*xtrID, *siteID = [16]byte{}, [8]byte{}
		return nil
	}
	if len(b) < xtrIDLen {
		return fieldErr("xtr-id", ErrTruncated)
	}
	*xtrID, *siteID = [16]byte(b[:16]), [8]byte(b[16:xtrIDLen])
	return nil
}

// decodeRegBody decodes the shared part of Map-Register and Map-Notify; the
// caller has checked len(b) >= authOffset.
func decodeRegBody(b []byte, recs []Record, hasXTRID bool, xtrID *[16]byte, siteID *[8]byte) (
	nonce uint64, keyID uint8, alg AuthAlg, auth []byte, _ []Record, err error) {
	nonce, keyID, alg = be64(b[4:]), b[12], AuthAlg(b[13])
	end := authOffset + int(be16(b[14:16]))
	if len(b) < end {
		return nonce, keyID, alg, nil, recs[:0], fieldErr("authentication data", ErrTruncated)
	}
	auth = b[authOffset:end:end]
	recs, n, err := decodeRecords(b[end:], int(b[3]), recs)
	if err != nil {
		return nonce, keyID, alg, auth, recs, err
	}
	err = decodeXTRID(b[end+n:], hasXTRID, xtrID, siteID)
	return nonce, keyID, alg, auth, recs, err
}
