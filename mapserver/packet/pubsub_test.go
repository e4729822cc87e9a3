package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestRoundTripPubSub covers the RFC 9437 additions to the Map-Request: the
// I bit with its xTR-ID/site-ID trailer and the per-record N bit.
func TestRoundTripPubSub(t *testing.T) {
	full := sampleRecord(eidMAC)
	tests := []struct {
		name   string
		edit   func(m *MapRequest)
		iBit   bool
		notify []bool // expected N bit of each record on the wire
	}{
		{"I only", func(m *MapRequest) { m.HasXTRID, m.XTRID, m.SiteID = true, testXTRID, testSiteID }, true, []bool{false}},
		{"N only", func(m *MapRequest) { m.Notify.Set(0, true) }, false, []bool{true}},
		{"I and N", func(m *MapRequest) { *m = *samplePubSubRequest(eidMAC) }, true, []bool{true}},
		{"N on the middle record of three", func(m *MapRequest) {
			m.EIDs = []EID{eid4, eid6, eidMAC}
			m.Notify.Set(1, true)
		}, false, []bool{false, true, false}},
		{"I with zero ids", func(m *MapRequest) { m.HasXTRID = true }, true, []bool{false}},
		{"I after the map-reply record", func(m *MapRequest) {
			*m = *samplePubSubRequest(eidMAC)
			m.MapDataPresent, m.MapReply = true, full
		}, true, []bool{true}},
		{"I with no records", func(m *MapRequest) {
			m.EIDs, m.HasXTRID, m.XTRID = nil, true, testXTRID
		}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleMapRequest(eidMAC)
			tc.edit(m)
			got := roundTrip(t, m).(*MapRequest)
			b := mustMarshal(m)
			if (b[1]&0x10 != 0) != tc.iBit || got.HasXTRID != tc.iBit {
				t.Errorf("I bit: byte 1 = %#02x, decoded %v, want %v", b[1], got.HasXTRID, tc.iBit)
			}
			for i, want := range tc.notify {
				if got.Notify.Has(i) != want {
					t.Errorf("record %d: N = %v, want %v", i, got.Notify.Has(i), want)
				}
			}
			if tc.iBit && !bytes.Equal(b[len(b)-xtrIDLen:], append(m.XTRID[:], m.SiteID[:]...)) {
				t.Errorf("trailer % x is not the last %d bytes", b[len(b)-xtrIDLen:], xtrIDLen)
			}
		})
	}
}

// goldenCase is a message and its encoding, written by hand field by field.
type goldenCase struct {
	name string
	m    Message
	hex  []string
}

// pubsubGoldens are the RFC 9437 / RFC 9301 encodings written by hand from
// the RFC diagrams, one comment per field.
func pubsubGoldens() []goldenCase {
	nonce := "0102030405060708"
	xtr := "20010db8000000000000000000000001"
	site := "0000000000000a0b"
	xtrID := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	siteID := [8]byte{6: 0x0a, 7: 0x0b}
	req := &MapRequest{HasXTRID: true, Nonce: 0x0102030405060708, XTRID: xtrID, SiteID: siteID,
		ITRRLOCs: []Address{AddrFromIP(netip.MustParseAddr("192.0.2.1"))},
		EIDs:     []EID{NewPrefixEID(netip.MustParsePrefix("10.0.0.1/32"))}}
	req.Notify.Set(0, true)
	return []goldenCase{
		{"map-request subscribe", req, []string{
			"1", "0", // type 1; A M P S clear
			"1", "0", // p s R clear, I set (bit 11); Rsvd
			"00",       // Rsvd, L, D clear; IRC 0 (one ITR-RLOC)
			"01",       // record count 1
			nonce,      // nonce
			"0000",     // source EID AFI 0 (none)
			"0001",     // ITR-RLOC AFI 1
			"c0000201", // 192.0.2.1
			"80",       // record reserved byte: N bit set
			"20",       // EID mask-len 32
			"0001",     // EID-prefix AFI 1
			"0a000001", // 10.0.0.1
			xtr,        // xTR-ID, 128 bits
			site,       // site-ID, 64 bits
		}},
		{"map-register I", &MapRegister{HasXTRID: true, WantMapNotify: true, Nonce: 0x0102030405060708,
			AlgID: AuthHMACSHA1, XTRID: xtrID, SiteID: siteID}, []string{
			"3", "2", // type 3; P S clear, I set, R clear
			"00",                     // reserved
			"01",                     // reserved, M (want Map-Notify) set
			"00",                     // record count 0
			nonce,                    // nonce
			"00",                     // key ID 0
			"01",                     // algorithm ID 1: HMAC-SHA-1-96
			"0014",                   // authentication data length 20
			strings.Repeat("00", 20), // authentication data, zero until signed
			xtr, site,                // xTR-ID, site-ID
		}},
		{"map-notify I", &MapNotify{HasXTRID: true, Nonce: 0x0102030405060708, AlgID: AuthHMACSHA1,
			XTRID: xtrID, SiteID: siteID}, []string{
			"4", "8", // type 4; I set (0x08), R clear
			"0000", "00", // reserved; record count 0
			nonce, "00", "01", "0014", strings.Repeat("00", 20), // nonce, key ID, alg, length, data
			xtr, site, // xTR-ID, site-ID
		}},
		{"map-notify-ack I sha256 key 2", &MapNotify{Ack: true, HasXTRID: true, Nonce: 0x0102030405060708,
			KeyID: 2, AlgID: AuthHMACSHA256, XTRID: xtrID, SiteID: siteID}, []string{
			"5", "8", // type 5; I set
			"0000", "00", // reserved; record count 0
			nonce, "02", "02", "0020", strings.Repeat("00", 32), // nonce, key ID 2, alg 2, length 32, data
			xtr, site, // xTR-ID, site-ID
		}},
	}
}

// TestGoldenPubSub checks the pub/sub encodings against pubsubGoldens and
// that the golden bytes decode and re-encode unchanged.
func TestGoldenPubSub(t *testing.T) {
	for _, tc := range pubsubGoldens() {
		t.Run(tc.name, func(t *testing.T) {
			want := strings.Join(tc.hex, "")
			b, err := tc.m.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != want {
				t.Fatalf("encoding\n got %s\nwant %s", got, want)
			}
			raw, _ := hex.DecodeString(want)
			got, err := Decode(raw)
			if err != nil {
				t.Fatalf("decode golden: %v", err)
			}
			if again, _ := got.Append(nil); !bytes.Equal(again, raw) {
				t.Fatalf("golden does not re-encode: %x", again)
			}
		})
	}
}

// TestSignKnownAnswerXTRID signs messages whose xTR-ID trailer follows the
// records and compares with HMACs computed independently (Python's hmac
// module over the same bytes, auth field zeroed): the MAC covers the
// trailer.
func TestSignKnownAnswerXTRID(t *testing.T) {
	trailer := "20010db8000000000000000000000001" + "0000000000000a0b"
	tests := []struct {
		name string
		msg  string
		alg  AuthAlg
		want string
	}{
		{"map-notify I hmac-sha1", "48000000" + "0102030405060708" + "00010014" + strings.Repeat("00", 20) + trailer,
			AuthHMACSHA1, "94f13fda70eb01ae368a1e3a7ccf335f274f231f"},
		{"map-notify-ack I hmac-sha256 key 2", "58000000" + "0102030405060708" + "02020020" + strings.Repeat("00", 32) + trailer,
			AuthHMACSHA256, "596b106d8925b599ec2fa471f4878b19e57f1304b034a0dc93097ca38b35176d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, _ := hex.DecodeString(tc.msg)
			if err := Sign(msg, tc.alg, testKey); err != nil {
				t.Fatal(err)
			}
			n := tc.alg.Size()
			if got := hex.EncodeToString(msg[authOffset : authOffset+n]); got != tc.want {
				t.Fatalf("auth data %s, want %s", got, tc.want)
			}
			if err := Verify(msg, testKey); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// TestSignVerifyXTRID checks that every byte of the trailer is covered by
// the HMAC of a Map-Register, Map-Notify and Map-Notify-Ack.
func TestSignVerifyXTRID(t *testing.T) {
	for name, m := range map[string]Message{
		"map-register":   sampleMessages()["map-register-xtrid"],
		"map-notify":     sampleNotifyXTRID(false, eid4),
		"map-notify-ack": sampleNotifyXTRID(true, eidMAC),
	} {
		t.Run(name, func(t *testing.T) {
			b := mustMarshal(m) // signed with testKey
			if err := Verify(b, testKey); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			for i := len(b) - xtrIDLen; i < len(b); i++ {
				c := bytes.Clone(b)
				c[i] ^= 0x01
				if err := Verify(c, testKey); !errors.Is(err, ErrAuthFailed) {
					t.Fatalf("trailer byte %d changed: Verify = %v", i-(len(b)-xtrIDLen), err)
				}
			}
			if err := Verify(b[:len(b)-8], testKey); !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("site-ID cut off: Verify = %v", err)
			}
		})
	}
}

// TestMapNotifyAck checks that an ack built from a Map-Notify encodes,
// signs, decodes and verifies like the notify, differing only in its type.
func TestMapNotifyAck(t *testing.T) {
	for _, n := range []*MapNotify{sampleMapNotify(false, eid4), sampleNotifyXTRID(false, eidMAC),
		{Nonce: 7, KeyID: 1, AlgID: AuthHMACSHA1}} {
		notify := mustMarshal(n)
		ackMsg := n.Acknowledge()
		if ackMsg.Type() != TypeMapNotifyAck || n.Ack {
			t.Fatalf("Acknowledge: type %v, notify changed to ack %v", ackMsg.Type(), n.Ack)
		}
		ack := mustMarshal(&ackMsg)
		if ack[0]>>4 != byte(TypeMapNotifyAck) || !bytes.Equal(ack[1:authOffset], notify[1:authOffset]) ||
			ack[0]&0x0f != notify[0]&0x0f {
			t.Fatalf("ack header % x differs from notify % x beyond the type", ack[:authOffset], notify[:authOffset])
		}
		end := authOffset + n.AlgID.Size()
		if !bytes.Equal(ack[end:], notify[end:]) {
			t.Fatal("ack records or trailer differ from the notify's")
		}
		if err := Verify(ack, testKey); err != nil {
			t.Fatalf("Verify ack: %v", err)
		}
		got := roundTrip(t, &ackMsg).(*MapNotify)
		if !got.Ack || got.Nonce != n.Nonce || got.HasXTRID != n.HasXTRID || got.XTRID != n.XTRID {
			t.Fatalf("decoded ack %+v", got)
		}
		nn, err1 := PeekNonce(notify)
		an, err2 := PeekNonce(ack)
		if err1 != nil || err2 != nil || nn != n.Nonce || an != n.Nonce {
			t.Fatalf("PeekNonce: notify %#x %v, ack %#x %v, want %#x", nn, err1, an, err2, n.Nonce)
		}
		// The signature binds the type: a notify re-typed as an ack fails.
		retyped := bytes.Clone(notify)
		retyped[0] = byte(TypeMapNotifyAck)<<4 | retyped[0]&0x0f
		if err := Verify(retyped, testKey); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("re-typed notify verified: %v", err)
		}
	}
}

func TestPeekNonce(t *testing.T) {
	for name, m := range sampleMessages() {
		b := mustMarshal(m)
		n, err := PeekNonce(b)
		if m.Type() == TypeECM {
			if !errors.Is(err, ErrUnknownType) {
				t.Errorf("%s: err = %v, want ErrUnknownType", name, err)
			}
			continue
		}
		if err != nil || n != testNonce {
			t.Errorf("%s: PeekNonce = %#x %v, want %#x", name, n, err, testNonce)
		}
		if _, err := PeekNonce(b[:nonceHeaderLen-1]); !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: short: err = %v, want ErrTruncated", name, err)
		}
	}
	if _, err := PeekNonce(nil); !errors.Is(err, ErrTruncated) {
		t.Errorf("empty: err = %v", err)
	}
}

// TestXTRIDMissing checks the RFC 9437 error case: the I bit set but the
// message ends after its last record.
func TestXTRIDMissing(t *testing.T) {
	for name, m := range map[string]Message{
		"map-request": samplePubSubRequest(eid4),
		"map-notify":  sampleNotifyXTRID(false, eid4),
	} {
		b := mustMarshal(m)
		_, err := Decode(b[:len(b)-xtrIDLen])
		var fe *FieldError
		if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || fe.Field != "xtr-id" {
			t.Errorf("%s without trailer: err = %v, want xtr-id ErrTruncated", name, err)
		}
	}
}

func TestRecordBits(t *testing.T) {
	var s RecordBits
	if s.Any() {
		t.Fatal("empty set reports Any")
	}
	for _, i := range []int{0, 63, 64, 200, 255} {
		s.Set(i, true)
		if !s.Has(i) || !s.Any() {
			t.Fatalf("bit %d not set", i)
		}
	}
	for _, i := range []int{-1, 256, 1000} {
		s.Set(i, true) // ignored
		if s.Has(i) {
			t.Fatalf("out-of-range index %d reported", i)
		}
	}
	if s.Has(1) || s.Has(65) || s.Has(254) {
		t.Fatal("neighbouring bits set")
	}
	for _, i := range []int{0, 63, 64, 200, 255} {
		s.Set(i, false)
	}
	if s.Any() {
		t.Fatalf("set not empty after clearing: %v", s)
	}
}
