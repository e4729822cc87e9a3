package packet

import (
	"crypto/rand"
	"encoding/binary"
)

// NewNonce returns a random 64-bit nonce for a Map-Request, Map-Register
// or Map-Notify. It comes from crypto/rand: a predictable nonce would let
// an off-path attacker forge the answer.
func NewNonce() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}
