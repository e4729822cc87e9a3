package ofp13

import (
	"fmt"
	"io"
)

// Header is the common OpenFlow header.
type Header struct {
	Version uint8
	Type    uint8
	Length  uint16
	XID     uint32
}

// Message is one OpenFlow message body; Marshal adds the header.
type Message interface {
	MsgType() uint8
	appendBody(b []byte) ([]byte, error)
}

// Marshal encodes m with an OpenFlow 1.3 header carrying xid.
func Marshal(xid uint32, m Message) ([]byte, error) {
	b := make([]byte, HeaderLen, 64)
	b[0], b[1] = Version, m.MsgType()
	be.PutUint32(b[4:], xid)
	b, err := m.appendBody(b)
	if err != nil {
		return nil, fmt.Errorf("encode message type %d: %w", m.MsgType(), err)
	}
	if err := putLen16(b, 2, 0); err != nil {
		return nil, err
	}
	return b, nil
}

// ParseHeader decodes the first 8 bytes of a message.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrShort
	}
	return Header{Version: b[0], Type: b[1], Length: be.Uint16(b[2:]), XID: be.Uint32(b[4:])}, nil
}

// ReadMessage reads one framed message (header and body) from r.
func ReadMessage(r io.Reader) ([]byte, error) {
	hdr := make([]byte, HeaderLen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int(be.Uint16(hdr[2:]))
	if n < HeaderLen {
		return nil, fmt.Errorf("ofp13: message length %d below header size", n)
	}
	b := make([]byte, n)
	copy(b, hdr)
	if _, err := io.ReadFull(r, b[HeaderLen:]); err != nil {
		return nil, fmt.Errorf("read message body: %w", err)
	}
	return b, nil
}

// Unmarshal decodes one complete message. Messages of types the codec does
// not model come back as *Unknown; a version other than 1.3 is accepted only
// for hello (version negotiation) and error messages.
func Unmarshal(b []byte) (Header, Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, nil, err
	}
	if int(h.Length) != len(b) {
		return h, nil, fmt.Errorf("ofp13: header length %d, message %d bytes", h.Length, len(b))
	}
	if h.Version != Version && h.Type != TypeHello && h.Type != TypeError {
		return h, nil, fmt.Errorf("ofp13: version %#x message type %d", h.Version, h.Type)
	}
	r := &reader{b: b[HeaderLen:]}
	dec, ok := decoders[h.Type]
	if !ok {
		return h, &Unknown{Type: h.Type, Body: r.rest()}, nil
	}
	m, err := dec(r)
	if err == nil && r.err != nil {
		err = r.err
	}
	if err != nil {
		return h, nil, fmt.Errorf("decode message type %d: %w", h.Type, err)
	}
	return h, m, nil
}

var decoders map[uint8]func(*reader) (Message, error)

func init() {
	decoders = map[uint8]func(*reader) (Message, error){
		TypeHello:            decodeHello,
		TypeError:            decodeError,
		TypeEchoRequest:      func(r *reader) (Message, error) { return &EchoRequest{Data: r.rest()}, nil },
		TypeEchoReply:        func(r *reader) (Message, error) { return &EchoReply{Data: r.rest()}, nil },
		TypeFeaturesRequest:  func(*reader) (Message, error) { return &FeaturesRequest{}, nil },
		TypeFeaturesReply:    decodeFeaturesReply,
		TypeSetConfig:        decodeSetConfig,
		TypeBarrierRequest:   func(*reader) (Message, error) { return &BarrierRequest{}, nil },
		TypeBarrierReply:     func(*reader) (Message, error) { return &BarrierReply{}, nil },
		TypeRoleRequest:      func(r *reader) (Message, error) { return (*RoleRequest)(decodeRole(r)), r.err },
		TypeRoleReply:        func(r *reader) (Message, error) { return (*RoleReply)(decodeRole(r)), r.err },
		TypeFlowMod:          decodeFlowMod,
		TypeGroupMod:         decodeGroupMod,
		TypeMeterMod:         decodeMeterMod,
		TypePacketIn:         decodePacketIn,
		TypePacketOut:        decodePacketOut,
		TypeFlowRemoved:      decodeFlowRemoved,
		TypePortStatus:       decodePortStatus,
		TypeMultipartRequest: decodeMultipartRequest,
		TypeMultipartReply:   decodeMultipartReply,
	}
}

// Unknown is a message of a type the codec does not model.
type Unknown struct {
	Type uint8
	Body []byte
}

// MsgType implements Message.
func (m *Unknown) MsgType() uint8                          { return m.Type }
func (m *Unknown) appendBody(b []byte) ([]byte, error)     { return append(b, m.Body...), nil }
func (m *EchoRequest) appendBody(b []byte) ([]byte, error) { return append(b, m.Data...), nil }
func (m *EchoReply) appendBody(b []byte) ([]byte, error)   { return append(b, m.Data...), nil }

// Hello carries a version bitmap element when Bitmap is non-zero.
type Hello struct{ Bitmap uint32 }

// EchoRequest and EchoReply carry arbitrary data back and forth.
type EchoRequest struct{ Data []byte }

// EchoReply answers an EchoRequest with its data.
type EchoReply struct{ Data []byte }

// FeaturesRequest asks for the datapath id.
type FeaturesRequest struct{}

// FeaturesReply describes the switch.
type FeaturesReply struct {
	DatapathID   uint64
	NBuffers     uint32
	NTables      uint8
	AuxiliaryID  uint8
	Capabilities uint32
}

// SetConfig sets fragment handling and the table-miss packet-in length.
type SetConfig struct{ Flags, MissSendLen uint16 }

// BarrierRequest asks the switch to finish everything sent before it.
type BarrierRequest struct{}

// BarrierReply answers a BarrierRequest.
type BarrierReply struct{}

// RoleRequest sets (or, with RoleNoChange, queries) the controller role.
type RoleRequest struct {
	Role         uint32
	GenerationID uint64
}

// RoleReply answers a RoleRequest.
type RoleReply RoleRequest

// Error is OFPT_ERROR; it also serves as a Go error for switch rejections.
type Error struct {
	Type, Code uint16
	Data       []byte
}

func (e *Error) Error() string {
	return fmt.Sprintf("openflow error type %d code %d", e.Type, e.Code)
}

// MsgType implements Message.
func (*Hello) MsgType() uint8           { return TypeHello }
func (*Error) MsgType() uint8           { return TypeError }
func (*EchoRequest) MsgType() uint8     { return TypeEchoRequest }
func (*EchoReply) MsgType() uint8       { return TypeEchoReply }
func (*FeaturesRequest) MsgType() uint8 { return TypeFeaturesRequest }
func (*FeaturesReply) MsgType() uint8   { return TypeFeaturesReply }
func (*SetConfig) MsgType() uint8       { return TypeSetConfig }
func (*BarrierRequest) MsgType() uint8  { return TypeBarrierRequest }
func (*BarrierReply) MsgType() uint8    { return TypeBarrierReply }
func (*RoleRequest) MsgType() uint8     { return TypeRoleRequest }
func (*RoleReply) MsgType() uint8       { return TypeRoleReply }

func (m *Hello) appendBody(b []byte) ([]byte, error) {
	if m.Bitmap == 0 {
		return b, nil
	}
	b = be.AppendUint16(b, helloBitmap)
	b = be.AppendUint16(b, 8)
	return be.AppendUint32(b, m.Bitmap), nil
}

func decodeHello(r *reader) (Message, error) {
	m := &Hello{}
	for len(r.b) >= 4 {
		typ, n := r.u16(), int(r.u16())
		if n < 4 {
			return nil, fmt.Errorf("ofp13: hello element length %d", n)
		}
		el := r.sub(n - 4)
		r.take(pad8(n) - n)
		if typ == helloBitmap && len(el.b) >= 4 {
			m.Bitmap = el.u32()
		}
		if r.err != nil {
			// Elements may omit their final padding; what we have is enough.
			r.err = nil
			break
		}
	}
	return m, nil
}

// Supports reports whether a hello's bitmap (or, without one, its header
// version) admits OpenFlow 1.3.
func (m *Hello) Supports(headerVersion uint8) bool {
	if m.Bitmap != 0 {
		return m.Bitmap&(1<<Version) != 0
	}
	return headerVersion >= Version
}

func (m *Error) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, m.Type)
	b = be.AppendUint16(b, m.Code)
	return append(b, m.Data...), nil
}

func decodeError(r *reader) (Message, error) {
	m := &Error{Type: r.u16(), Code: r.u16()}
	m.Data = r.rest()
	return m, r.err
}

func (*FeaturesRequest) appendBody(b []byte) ([]byte, error) { return b, nil }
func (*BarrierRequest) appendBody(b []byte) ([]byte, error)  { return b, nil }
func (*BarrierReply) appendBody(b []byte) ([]byte, error)    { return b, nil }

func (m *FeaturesReply) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint64(b, m.DatapathID)
	b = be.AppendUint32(b, m.NBuffers)
	b = append(b, m.NTables, m.AuxiliaryID, 0, 0)
	b = be.AppendUint32(b, m.Capabilities)
	return zeros(b, 4), nil
}

func decodeFeaturesReply(r *reader) (Message, error) {
	m := &FeaturesReply{DatapathID: r.u64(), NBuffers: r.u32(), NTables: r.u8(), AuxiliaryID: r.u8()}
	r.take(2)
	m.Capabilities = r.u32()
	return m, r.err
}

func (m *SetConfig) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, m.Flags)
	return be.AppendUint16(b, m.MissSendLen), nil
}

func decodeSetConfig(r *reader) (Message, error) {
	m := &SetConfig{Flags: r.u16(), MissSendLen: r.u16()}
	return m, r.err
}

func appendRole(b []byte, role uint32, gen uint64) []byte {
	b = be.AppendUint32(b, role)
	b = zeros(b, 4)
	return be.AppendUint64(b, gen)
}

func (m *RoleRequest) appendBody(b []byte) ([]byte, error) {
	return appendRole(b, m.Role, m.GenerationID), nil
}

func (m *RoleReply) appendBody(b []byte) ([]byte, error) {
	return appendRole(b, m.Role, m.GenerationID), nil
}

func decodeRole(r *reader) *RoleRequest {
	m := &RoleRequest{Role: r.u32()}
	r.take(4)
	m.GenerationID = r.u64()
	return m
}
