package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestSignKnownAnswer compares against HMACs computed independently with
// Python's hmac module over the same bytes (auth field zeroed).
func TestSignKnownAnswer(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		alg  AuthAlg
		want string
	}{
		{"map-register hmac-sha1", "30000100" + "0102030405060708" + "00010014" + strings.Repeat("00", 20),
			AuthHMACSHA1, "f0a7c684e25c583ab7441d661c770061d72baff5"},
		{"map-notify-ack hmac-sha256 key 2", "50000000" + "0102030405060708" + "02020020" + strings.Repeat("00", 32),
			AuthHMACSHA256, "a26e1f4b3704090c402e49ef050d0bcbf09cb9a630aa1beff1520eb676777cd1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, _ := hex.DecodeString(tc.msg)
			if err := Sign(msg, tc.alg, testKey); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(msg[authOffset:]); got != tc.want {
				t.Fatalf("auth data %s, want %s", got, tc.want)
			}
			if err := Verify(msg, testKey); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	type mutate func(b []byte)
	tests := []struct {
		name   string
		msg    Message
		alg    AuthAlg
		mutate mutate
		key    []byte
		want   error
	}{
		{"register sha1 ok", sampleMapRegister(AuthHMACSHA1, eid4), AuthHMACSHA1, nil, testKey, nil},
		{"register sha256 ok", sampleMapRegister(AuthHMACSHA256, eid6, eidMAC), AuthHMACSHA256, nil, testKey, nil},
		{"notify ok", sampleMapNotify(false, eid4), AuthHMACSHA256, nil, testKey, nil},
		{"notify-ack ok", sampleMapNotify(true, eid4), AuthHMACSHA256, nil, testKey, nil},
		{"wrong key", sampleMapRegister(AuthHMACSHA1, eid4), AuthHMACSHA1, nil, []byte("other"), ErrAuthFailed},
		{"empty key", sampleMapRegister(AuthHMACSHA256, eid4), AuthHMACSHA256, nil, nil, ErrAuthFailed},
		{"flag flipped", sampleMapRegister(AuthHMACSHA1, eid4), AuthHMACSHA1, func(b []byte) { b[0] ^= 0x08 }, testKey, ErrAuthFailed},
		{"nonce changed", sampleMapRegister(AuthHMACSHA256, eid4), AuthHMACSHA256, func(b []byte) { b[5]++ }, testKey, ErrAuthFailed},
		{"key id changed", sampleMapRegister(AuthHMACSHA256, eid4), AuthHMACSHA256, func(b []byte) { b[12]++ }, testKey, ErrAuthFailed},
		{"record changed", sampleMapRegister(AuthHMACSHA1, eid4), AuthHMACSHA1, func(b []byte) { b[len(b)-1]++ }, testKey, ErrAuthFailed},
		{"auth data changed", sampleMapRegister(AuthHMACSHA1, eid4), AuthHMACSHA1, func(b []byte) { b[authOffset+19]++ }, testKey, ErrAuthFailed},
		{"alg none", sampleMapRegister(AuthNone, eid4), AuthNone, nil, testKey, ErrAuthFailed},
		{"alg sha1 with sha256 length", sampleMapRegister(AuthHMACSHA256, eid4), AuthHMACSHA256,
			func(b []byte) { b[13] = byte(AuthHMACSHA1) }, testKey, ErrAuthFailed},
		{"unknown alg", sampleMapRegister(AuthHMACSHA1, eid4), AuthHMACSHA1, func(b []byte) { b[13] = 3 }, testKey, ErrUnsupportedAlg},
		{"not a register", sampleMapReply(eid4), AuthNone, nil, testKey, ErrUnknownType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.msg.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.msg.Type() != TypeMapReply {
				if err := Sign(b, tc.alg, testKey); err != nil {
					t.Fatalf("Sign: %v", err)
				}
			}
			if tc.mutate != nil {
				tc.mutate(b)
			}
			before := bytes.Clone(b)
			err = Verify(b, tc.key)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if !bytes.Equal(before, b) {
				t.Fatal("Verify modified the message")
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		alg  AuthAlg
		want error
	}{
		{"length mismatch", mustEncode(&MapRegister{AlgID: AuthHMACSHA1}), AuthHMACSHA256, ErrInvalidValue},
		{"unknown alg", mustEncode(&MapRegister{AlgID: 7, AuthData: make([]byte, 0)}), 7, ErrUnsupportedAlg},
		{"truncated", []byte{0x30, 0, 0}, AuthHMACSHA1, ErrTruncated},
		{"auth past end", []byte{0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 20}, AuthHMACSHA1, ErrTruncated},
		{"map-request", mustEncode(sampleMapRequest(eid4)), AuthHMACSHA1, ErrUnknownType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Sign(tc.msg, tc.alg, testKey); !errors.Is(err, tc.want) {
				t.Fatalf("Sign = %v, want %v", err, tc.want)
			}
		})
	}
}

func mustEncode(m Message) []byte {
	b, err := m.Append(nil)
	if err != nil {
		panic(err)
	}
	return b
}

// TestAuthenticatorReuse signs and verifies with both algorithms on one
// Authenticator and checks the hot path does not allocate.
func TestAuthenticatorReuse(t *testing.T) {
	a := NewAuthenticator(testKey)
	for _, alg := range []AuthAlg{AuthHMACSHA1, AuthHMACSHA256, AuthHMACSHA1} {
		b := mustEncode(sampleMapRegister(alg, eid4))
		if err := a.Sign(b, alg); err != nil {
			t.Fatal(err)
		}
		if err := a.Verify(b); err != nil {
			t.Fatalf("%v: %v", alg, err)
		}
		if err := Verify(b, testKey); err != nil {
			t.Fatalf("%v via Verify: %v", alg, err)
		}
		if n := testing.AllocsPerRun(20, func() {
			if err := a.Sign(b, alg); err != nil {
				t.Fatal(err)
			}
			if err := a.Verify(b); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%v: Sign+Verify allocs = %v, want 0", alg, n)
		}
	}
}
