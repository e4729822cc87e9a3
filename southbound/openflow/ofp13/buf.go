package ofp13

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrShort reports a message or structure cut short.
var ErrShort = errors.New("ofp13: truncated")

var be = binary.BigEndian

// reader walks a byte slice with bounds checks; the first failure sticks so
// decoders can read a whole fixed part and check the error once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%w: need %d bytes, have %d", ErrShort, n, len(r.b))
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return be.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return be.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.take(8); v != nil {
		return be.Uint64(v)
	}
	return 0
}

// copyBytes returns a copy so decoded messages never alias the read buffer.
func (r *reader) copyBytes(n int) []byte {
	v := r.take(n)
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}

func (r *reader) rest() []byte { return r.copyBytes(len(r.b)) }

// sub takes a length-delimited part as its own reader.
func (r *reader) sub(n int) *reader { return &reader{b: r.take(n), err: r.err} }

func pad8(n int) int { return (n + 7) &^ 7 }

func zeros(b []byte, n int) []byte { return append(b, make([]byte, n)...) }

// putLen16 writes a length field at off, counting from start to the end of b.
func putLen16(b []byte, off, start int) error {
	n := len(b) - start
	if n > maxMessageLength {
		return fmt.Errorf("ofp13: structure of %d bytes exceeds 65535", n)
	}
	be.PutUint16(b[off:], uint16(n))
	return nil
}
