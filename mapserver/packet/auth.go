package packet

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"hash"
	"strconv"
)

// AuthAlg is the RFC 9301 Algorithm ID of Map-Register / Map-Notify
// authentication (IANA "LISP Algorithm ID Numbers").
type AuthAlg uint8

// Supported algorithms.
//
// The authentication data carries the full HMAC output (20 bytes for
// SHA-1, 32 for SHA-256) despite the "-96"/"-128" in the registry names;
// that is what deployed implementations send and what RFC 6830 era
// Map-Servers expect, so this package does the same.
const (
	AuthNone       AuthAlg = 0
	AuthHMACSHA1   AuthAlg = 1 // HMAC-SHA-1-96
	AuthHMACSHA256 AuthAlg = 2 // HMAC-SHA-256-128
)

const maxAuthSize = sha256.Size

// Size returns the authentication data length for a; 0 for AuthNone and
// unknown algorithms.
func (a AuthAlg) Size() int {
	switch a {
	case AuthHMACSHA1:
		return sha1.Size
	case AuthHMACSHA256:
		return sha256.Size
	}
	return 0
}

// String returns the registry name of a.
func (a AuthAlg) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthHMACSHA1:
		return "HMAC-SHA-1-96"
	case AuthHMACSHA256:
		return "HMAC-SHA-256-128"
	}
	return "alg-" + strconv.Itoa(int(a))
}

// Authenticator signs and verifies Map-Register, Map-Notify and
// Map-Notify-Ack messages with one shared key. It keeps its HMAC state
// between calls so the hot path does not allocate; it is not safe for
// concurrent use (use one per goroutine).
type Authenticator struct {
	key    []byte
	sha1   hash.Hash
	sha256 hash.Hash
	sum    [maxAuthSize]byte
}

// NewAuthenticator returns an Authenticator for key (copied).
func NewAuthenticator(key []byte) *Authenticator {
	return &Authenticator{key: append([]byte(nil), key...)}
}

func (a *Authenticator) mac(alg AuthAlg) (hash.Hash, error) {
	var h *hash.Hash
	var newHash func() hash.Hash
	switch alg {
	case AuthHMACSHA1:
		h, newHash = &a.sha1, sha1.New
	case AuthHMACSHA256:
		h, newHash = &a.sha256, sha256.New
	default:
		return nil, fieldErr("algorithm "+alg.String(), ErrUnsupportedAlg)
	}
	if *h == nil {
		*h = hmac.New(newHash, a.key)
	} else {
		(*h).Reset()
	}
	return *h, nil
}

// authField locates the authentication data of an encoded Map-Register,
// Map-Notify or Map-Notify-Ack.
func authField(msg []byte) (AuthAlg, []byte, error) {
	if err := checkType(msg, authOffset, TypeMapRegister, TypeMapNotify, TypeMapNotifyAck); err != nil {
		return 0, nil, err
	}
	end := authOffset + int(be16(msg[14:16]))
	if len(msg) < end {
		return 0, nil, fieldErr("authentication data", ErrTruncated)
	}
	return AuthAlg(msg[13]), msg[authOffset:end], nil
}

// Sign sets the Algorithm ID of the encoded message msg to alg and fills
// its authentication data with the HMAC of the whole message computed with
// that field zeroed. The message must already reserve alg.Size() bytes of
// authentication data (Append does so when AuthData is nil). AuthNone only
// sets the Algorithm ID.
func (a *Authenticator) Sign(msg []byte, alg AuthAlg) error {
	_, data, err := authField(msg)
	if err != nil {
		return err
	}
	if len(data) != alg.Size() {
		return fieldErr("authentication data length", ErrInvalidValue)
	}
	msg[13] = byte(alg)
	if alg == AuthNone {
		return nil
	}
	h, err := a.mac(alg)
	if err != nil {
		return err
	}
	clear(data)
	h.Write(msg)
	copy(data, h.Sum(a.sum[:0]))
	return nil
}

// Verify checks the authentication data of the encoded message msg in
// constant time, without modifying msg. It returns nil on success and an
// error wrapping ErrAuthFailed otherwise (including for AuthNone, since an
// unauthenticated registration must not be accepted), or ErrUnsupportedAlg.
func (a *Authenticator) Verify(msg []byte) error {
	alg, data, err := authField(msg)
	if err != nil {
		return err
	}
	if alg == AuthNone {
		return fieldErr("algorithm none", ErrAuthFailed)
	}
	h, err := a.mac(alg)
	if err != nil {
		return err
	}
	if len(data) != alg.Size() {
		return fieldErr("authentication data length", ErrAuthFailed)
	}
	// Hash around the field instead of zeroing a copy of msg.
	h.Write(msg[:authOffset])
	h.Write(zeroAuth[:len(data)])
	h.Write(msg[authOffset+len(data):])
	if !hmac.Equal(h.Sum(a.sum[:0]), data) {
		return ErrAuthFailed
	}
	return nil
}

// Sign signs the encoded message msg with key; see Authenticator.Sign.
func Sign(msg []byte, alg AuthAlg, key []byte) error {
	return NewAuthenticator(key).Sign(msg, alg)
}

// Verify verifies the encoded message msg with key; see
// Authenticator.Verify.
func Verify(msg, key []byte) error { return NewAuthenticator(key).Verify(msg) }
