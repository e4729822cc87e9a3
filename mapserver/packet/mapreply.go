package packet

import "encoding/binary"

// MapReply is a LISP Map-Reply (type 2, RFC 9301 §5.4). A negative
// Map-Reply is one whose records have no locators; their Action says what
// the ITR should do with matching packets.
type MapReply struct {
	Probe     bool // P: reply to an RLOC-probe
	EchoNonce bool // E: echo-nonce algorithm enabled
	Security  bool // S: LISP-SEC capable
	Nonce     uint64
	Records   []Record
}

// Type returns TypeMapReply.
func (m *MapReply) Type() Type { return TypeMapReply }

// Marshal returns the wire encoding of m.
func (m *MapReply) Marshal() ([]byte, error) { return m.Append(nil) }

// Append appends the wire encoding of m to b.
func (m *MapReply) Append(b []byte) ([]byte, error) {
	if len(m.Records) > 0xff {
		return b, fieldErr("record count", ErrInvalidValue)
	}
	b = append(b,
		byte(TypeMapReply)<<4|flag(m.Probe, 0x08)|flag(m.EchoNonce, 0x04)|flag(m.Security, 0x02),
		0, 0, byte(len(m.Records)))
	b = binary.BigEndian.AppendUint64(b, m.Nonce)
	return appendRecords(b, m.Records)
}

// Decode decodes b into m, reusing m's slices. m aliases b afterwards.
func (m *MapReply) Decode(b []byte) error {
	if err := checkType(b, nonceHeaderLen, TypeMapReply); err != nil {
		return err
	}
	m.Probe = b[0]&0x08 != 0
	m.EchoNonce = b[0]&0x04 != 0
	m.Security = b[0]&0x02 != 0
	m.Nonce = be64(b[4:])
	var err error
	m.Records, _, err = decodeRecords(b[nonceHeaderLen:], int(b[3]), m.Records)
	return err
}
