package packet

import (
	"encoding/binary"
	"fmt"
)

// Type is the 4-bit LISP control message type.
type Type uint8

// Message types handled by this package (RFC 9301 §5.1).
const (
	TypeMapRequest   Type = 1
	TypeMapReply     Type = 2
	TypeMapRegister  Type = 3
	TypeMapNotify    Type = 4
	TypeMapNotifyAck Type = 5
	TypeECM          Type = 8
)

// String returns the RFC name of the type.
func (t Type) String() string {
	switch t {
	case TypeMapRequest:
		return "Map-Request"
	case TypeMapReply:
		return "Map-Reply"
	case TypeMapRegister:
		return "Map-Register"
	case TypeMapNotify:
		return "Map-Notify"
	case TypeMapNotifyAck:
		return "Map-Notify-Ack"
	case TypeECM:
		return "Encapsulated-Control-Message"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Message is implemented by every decoded control message.
type Message interface {
	// Type returns the LISP message type.
	Type() Type
	// Append appends the wire encoding to b.
	Append(b []byte) ([]byte, error)
}

// PeekType returns the message type of b without decoding it.
func PeekType(b []byte) (Type, error) {
	if len(b) < 1 {
		return 0, ErrTruncated
	}
	return Type(b[0] >> 4), nil
}

// PeekNonce returns the nonce of an encoded Map-Request, Map-Reply,
// Map-Register, Map-Notify or Map-Notify-Ack without decoding the rest, so
// that a Map-Notify-Ack can be matched to the Map-Notify it answers before
// paying for a full decode. An ECM has no nonce of its own.
func PeekNonce(b []byte) (uint64, error) {
	t, err := PeekType(b)
	if err != nil {
		return 0, err
	}
	switch t {
	case TypeMapRequest, TypeMapReply, TypeMapRegister, TypeMapNotify, TypeMapNotifyAck:
		if len(b) < nonceHeaderLen {
			return 0, ErrTruncated
		}
		return be64(b[4:]), nil
	}
	return 0, fmt.Errorf("%w: %v has no nonce", ErrUnknownType, t)
}

// Decode decodes one LISP control message, dispatching on its type. The
// returned message aliases b (see the package documentation).
func Decode(b []byte) (Message, error) { return decodeInto(nil, b) }

// decoder is implemented by every message type.
type decoder interface {
	Message
	Decode([]byte) error
}

// decodeInto decodes b, reusing prev when it already has the right dynamic
// type so that repeated ECM decodes do not allocate.
func decodeInto(prev Message, b []byte) (Message, error) {
	t, err := PeekType(b)
	if err != nil {
		return nil, err
	}
	var m decoder
	switch t {
	case TypeMapRequest:
		m = reuseMsg[MapRequest](prev)
	case TypeMapReply:
		m = reuseMsg[MapReply](prev)
	case TypeMapRegister:
		m = reuseMsg[MapRegister](prev)
	case TypeMapNotify, TypeMapNotifyAck:
		m = reuseMsg[MapNotify](prev)
	case TypeECM:
		m = reuseMsg[ECM](prev)
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, t)
	}
	if err := m.Decode(b); err != nil {
		return nil, err
	}
	return m, nil
}

// reuseMsg returns prev if it is a *T, else a new T.
func reuseMsg[T any, PT interface {
	*T
	decoder
}](prev Message) PT {
	if p, ok := prev.(PT); ok {
		return p
	}
	return PT(new(T))
}

// header helpers shared by the message codecs.

const nonceHeaderLen = 12 // type/flags/count word + 64-bit nonce

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// checkType verifies the header is long enough and of the wanted type.
func checkType(b []byte, minLen int, want ...Type) error {
	if len(b) < minLen {
		return ErrTruncated
	}
	got := Type(b[0] >> 4)
	for _, w := range want {
		if got == w {
			return nil
		}
	}
	return fmt.Errorf("%w: got %v, want %v", ErrUnknownType, got, want[0])
}

func flag(v bool, bit byte) byte {
	if v {
		return bit
	}
	return 0
}

// reuse returns s resized to n, keeping its backing array when large enough
// so repeated decodes do not allocate.
func reuse[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
