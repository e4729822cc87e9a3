package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// roundTrip encodes m, decodes it, re-encodes and checks both the bytes and
// the decoded structure. It returns the decoded message.
func roundTrip(t *testing.T, m Message) Message {
	t.Helper()
	b1 := mustMarshal(m)
	got, err := Decode(b1)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, hex.Dump(b1))
	}
	b2, err := got.Append(nil)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("re-encoded bytes differ\nfirst:\n%ssecond:\n%s", hex.Dump(b1), hex.Dump(b2))
	}
	want := normalize(m, b1)
	if e, ok := got.(*ECM); ok {
		w := *want.(*ECM)
		w.Inner = normalize(w.Inner, e.Payload)
		want = &w
		e.Payload = nil // not set on the original
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded message differs\n got: %+v\nwant: %+v", got, want)
	}
	return got
}

// normalize returns the struct Decode should produce for m encoded as b:
// the signed authentication data and the encoded ECM source ports are
// filled in from the wire.
func normalize(m Message, b []byte) Message {
	switch v := m.(type) {
	case *MapRegister:
		c := *v
		c.AuthData = b[authOffset : authOffset+int(be16(b[14:16]))]
		return &c
	case *MapNotify:
		c := *v
		c.AuthData = b[authOffset : authOffset+int(be16(b[14:16]))]
		return &c
	}
	return m
}

func TestRoundTripMapRequest(t *testing.T) {
	full := sampleRecord(eid4)
	many := make([]Address, maxITRRLOCs)
	for i := range many {
		many[i] = AddrFromIP(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
	}
	tests := []struct {
		name string
		edit func(m *MapRequest)
		// wire checks (byte index, mask, want) on the first header word
		idx  int
		mask byte
		want byte
	}{
		{"plain", func(m *MapRequest) { m.SMR, m.PITR = false, false }, 0, 0x0f, 0},
		{"A", func(m *MapRequest) { m.Authoritative = true }, 0, 0x08, 0x08},
		{"M with map-reply record", func(m *MapRequest) { m.MapDataPresent, m.MapReply = true, full }, 0, 0x04, 0x04},
		{"P probe", func(m *MapRequest) { m.Probe = true }, 0, 0x02, 0x02},
		{"S smr", func(m *MapRequest) {}, 0, 0x01, 0x01},
		{"p pitr", func(m *MapRequest) {}, 1, 0x80, 0x80},
		{"s smr-invoked", func(m *MapRequest) { m.SMRInvoked = true }, 1, 0x40, 0x40},
		{"L local-xtr", func(m *MapRequest) { m.LocalXTR = true }, 2, 0x40, 0x40},
		{"D dont-map-reply", func(m *MapRequest) { m.DontMapReply = true }, 2, 0x20, 0x20},
		{"irc 1", func(m *MapRequest) { m.ITRRLOCs = m.ITRRLOCs[:1] }, 2, 0x1f, 0},
		{"irc 32", func(m *MapRequest) { m.ITRRLOCs = many }, 2, 0x1f, 31},
		{"zero records", func(m *MapRequest) { m.EIDs = nil }, 3, 0xff, 0},
		{"three records", func(m *MapRequest) { m.EIDs = []EID{eid4, eid6, eidMAC} }, 3, 0xff, 3},
		{"source eid none", func(m *MapRequest) { m.SourceEID = Address{} }, 0, 0, 0},
		{"source eid mac", func(m *MapRequest) { m.SourceEID = AddrFromMAC(testMAC) }, 0, 0, 0},
		{"ipv6 eid", func(m *MapRequest) { m.EIDs = []EID{eid6} }, 0, 0, 0},
		{"mac eid", func(m *MapRequest) { m.EIDs = []EID{eidMAC} }, 0, 0, 0},
		{"eid without iid", func(m *MapRequest) { m.EIDs = []EID{NewPrefixEID(netip.MustParsePrefix("10.0.0.0/8"))} }, 0, 0, 0},
		{"mac48 afi", func(m *MapRequest) { m.EIDs = []EID{{Addr: Address{AFI: AFIMAC48, MAC: testMAC}, MaskLen: 48}} }, 0, 0, 0},
		{"iid mask-len", func(m *MapRequest) { m.EIDs[0].Addr.IIDMaskLen = 8 }, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleMapRequest(eid4)
			tc.edit(m)
			roundTrip(t, m)
			if b := mustMarshal(m); b[tc.idx]&tc.mask != tc.want {
				t.Errorf("byte %d = %#02x, want %#02x under mask %#02x", tc.idx, b[tc.idx], tc.want, tc.mask)
			}
		})
	}
}

func TestRoundTripMapReply(t *testing.T) {
	tests := []struct {
		name string
		m    *MapReply
	}{
		{"positive ipv4", sampleMapReply(eid4)},
		{"positive ipv6", sampleMapReply(eid6)},
		{"positive mac", sampleMapReply(eidMAC)},
		{"flags P E S", &MapReply{Probe: true, EchoNonce: true, Security: true, Nonce: 1}},
		{"no records", &MapReply{Nonce: 2}},
		{"multi record", &MapReply{Nonce: 3, Records: []Record{sampleRecord(eid4), sampleRecord(eid6), sampleRecord(eidMAC)}}},
		{"max ttl and version", &MapReply{Records: []Record{{TTL: 0xffffffff, MapVersion: 0xfff, EID: eid4}}}},
		{"locator weights", &MapReply{Records: []Record{{EID: eid4, Locators: []Locator{
			{Priority: 255, Weight: 255, MPriority: 254, MWeight: 253, Local: true, Probed: true, Reachable: true, Addr: rloc4b},
		}}}}},
	}
	for a := ActionNoAction; a <= 7; a++ {
		tests = append(tests, struct {
			name string
			m    *MapReply
		}{"negative " + a.String(), &MapReply{Nonce: 9, Records: []Record{{TTL: 1, EID: eidMAC, Action: a}}}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := roundTrip(t, tc.m).(*MapReply)
			for i, r := range got.Records {
				if r.Action != tc.m.Records[i].Action || len(r.Locators) != len(tc.m.Records[i].Locators) {
					t.Errorf("record %d: action %v locators %d", i, r.Action, len(r.Locators))
				}
			}
		})
	}
}

func TestRoundTripMapRegisterNotify(t *testing.T) {
	xtr := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	site := [8]byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22}
	tests := []struct {
		name string
		m    Message
		hdr  [4]byte // expected first word
	}{
		{"register sha1", sampleMapRegister(AuthHMACSHA1, eid4), [4]byte{0x38, 0, 1, 1}},
		{"register sha256 three eids", sampleMapRegister(AuthHMACSHA256, eid4, eid6, eidMAC), [4]byte{0x38, 0, 1, 3}},
		{"register none", &MapRegister{Nonce: 5, Records: []Record{sampleRecord(eid4)}}, [4]byte{0x30, 0, 0, 1}},
		{"register S", &MapRegister{Security: true, AlgID: AuthHMACSHA1}, [4]byte{0x34, 0, 0, 0}},
		{"register R", &MapRegister{RTR: true, AlgID: AuthHMACSHA1}, [4]byte{0x31, 0, 0, 0}},
		{"register I xtr-id", &MapRegister{HasXTRID: true, XTRID: xtr, SiteID: site, AlgID: AuthHMACSHA256,
			Records: []Record{sampleRecord(eidMAC)}}, [4]byte{0x32, 0, 0, 1}},
		{"register key id 3", &MapRegister{KeyID: 3, AlgID: AuthHMACSHA256}, [4]byte{0x30, 0, 0, 0}},
		{"register explicit empty auth", &MapRegister{AlgID: 9, AuthData: []byte{}}, [4]byte{0x30, 0, 0, 0}},
		{"notify", sampleMapNotify(false, eid4), [4]byte{0x40, 0, 0, 1}},
		{"notify ack", sampleMapNotify(true, eidMAC), [4]byte{0x50, 0, 0, 1}},
		{"notify I R", &MapNotify{HasXTRID: true, RTR: true, XTRID: xtr, SiteID: site, AlgID: AuthHMACSHA1}, [4]byte{0x4c, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			roundTrip(t, tc.m)
			if b := mustMarshal(tc.m); [4]byte(b[:4]) != tc.hdr {
				t.Errorf("header % x, want % x", b[:4], tc.hdr)
			}
		})
	}
}

func TestRoundTripECM(t *testing.T) {
	tests := []struct {
		name string
		m    *ECM
	}{
		{"ipv4 map-request", sampleECM(sampleMapRequest(eid4), false)},
		{"ipv6 map-request", sampleECM(sampleMapRequest(eid6), true)},
		{"ipv4 mac eid", sampleECM(sampleMapRequest(eidMAC), false)},
		{"flags S D E M", func() *ECM {
			e := sampleECM(sampleMapRequest(eid4), false)
			e.Security, e.DDT, e.ToETR = true, true, true
			return e
		}()},
		{"inner map-register", sampleECM(sampleMapRegister(AuthHMACSHA1, eid4), true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			roundTrip(t, tc.m)
		})
	}
	t.Run("payload verbatim", func(t *testing.T) {
		inner := mustMarshal(sampleMapRequest(eid4))
		e := sampleECM(nil, false)
		e.Payload = inner
		got, err := Decode(mustMarshal(e))
		if err != nil {
			t.Fatal(err)
		}
		if g := got.(*ECM); !bytes.Equal(g.Payload, inner) || g.Inner.Type() != TypeMapRequest {
			t.Fatalf("payload mismatch: %+v", g)
		}
	})
}

func TestUnknownLCAFIsOpaque(t *testing.T) {
	// LCAF type 7 (Geo) with a 4-byte body, used as a locator and inside an IID.
	raw := []byte{0, 0, 7, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef}
	lcaf := Address{AFI: AFILCAF, Raw: raw}
	m := &MapReply{Records: []Record{{EID: EID{Addr: lcaf.WithIID(5), MaskLen: 0},
		Locators: []Locator{{Addr: lcaf}}}}}
	got := roundTrip(t, m).(*MapReply)
	if a := got.Records[0].Locators[0].Addr; a.AFI != AFILCAF || !bytes.Equal(a.Raw, raw) {
		t.Fatalf("locator = %+v", a)
	}
	// An unknown plain AFI inside an Instance-ID LCAF keeps its body too.
	dn := Address{AFI: 17, Raw: []byte("host\x00"), HasIID: true, IID: 1}
	roundTrip(t, &MapReply{Records: []Record{{EID: EID{Addr: dn}}}})
}

// TestGolden checks encodings against byte strings written by hand from the
// RFC 9301 / RFC 8060 diagrams.
func TestGolden(t *testing.T) {
	nonce := "0102030405060708"
	tests := []struct {
		name string
		m    Message
		hex  string
	}{
		{"map-request", &MapRequest{Probe: true, PITR: true, Nonce: 0x0102030405060708,
			ITRRLOCs: []Address{AddrFromIP(netip.MustParseAddr("192.0.2.1"))},
			EIDs:     []EID{NewPrefixEID(netip.MustParsePrefix("10.0.0.1/32"))}},
			"12800001" + nonce + "0000" + "0001c0000201" + "0020" + "00010a000001"},
		{"negative map-reply mac in iid", &MapReply{Nonce: 0x0102030405060708,
			Records: []Record{{TTL: 15, Action: ActionDrop, EID: NewMACEID([6]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}).WithIID(100)}}},
			"20000001" + nonce + "0000000f" + "00306000" + "0000" +
				"4003" + "0000" + "0200" + "000c" + "00000064" + "0006" + "001122334455"},
		{"map-reply ipv6 locator", &MapReply{Nonce: 0x0102030405060708, Records: []Record{{TTL: 60, Authoritative: true,
			MapVersion: 0x123, EID: NewPrefixEID(netip.MustParsePrefix("10.0.0.0/8")),
			Locators: []Locator{{Priority: 1, Weight: 100, MPriority: 255, Local: true, Reachable: true, Addr: rloc6}}}}},
			"20000001" + nonce + "0000003c" + "01081000" + "0123" + "00010a000000" +
				"0164ff00" + "0005" + "0002" + "20010db8000000000000000000000001"},
		{"map-register sha1 placeholder", &MapRegister{WantMapNotify: true, Nonce: 0x0102030405060708, AlgID: AuthHMACSHA1},
			"30000100" + nonce + "00010014" + strings.Repeat("00", 20)},
		{"map-notify-ack sha256 key 2", &MapNotify{Ack: true, Nonce: 0x0102030405060708, KeyID: 2, AlgID: AuthHMACSHA256},
			"50000000" + nonce + "02020020" + strings.Repeat("00", 32)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.m.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("encoding\n got %s\nwant %s", got, tc.hex)
			}
			want, _ := hex.DecodeString(tc.hex)
			if _, err := Decode(want); err != nil {
				t.Fatalf("decode golden: %v", err)
			}
		})
	}
}

// TestGoldenECM checks an IPv4 ECM whose checksums were worked out by hand.
func TestGoldenECM(t *testing.T) {
	inner := &MapRequest{Nonce: 1, ITRRLOCs: []Address{AddrFromIP(netip.MustParseAddr("10.0.0.1"))}}
	e := &ECM{Src: netip.MustParseAddrPort("10.0.0.1:4342"), Dst: netip.MustParseAddrPort("10.0.0.2:4342"), TTL: 64, Inner: inner}
	b, err := e.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Inner message: 12 header + 2 source AFI + 6 ITR-RLOC = 20 bytes;
	// UDP length 28, IPv4 total length 48.
	// IPv4 checksum: 4500+0030+4011+0a00+0001+0a00+0002 = 0x9944 -> ~ = 0x66bb.
	// UDP checksum: pseudo header 0a00+0001+0a00+0002+0011+001c = 0x1430,
	// UDP header 10f6+10f6+001c = 0x2208, payload 1000+0001+0001+0a00+0001
	// = 0x1a03; total 0x503b -> ~ = 0xafc4.
	want := "80000000" +
		"45000030000000004011" + "66bb" + "0a000001" + "0a000002" +
		"10f610f6001c" + "afc4" +
		"10000000" + "0000000000000001" + "0000" + "00010a000001"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("ECM\n got %s\nwant %s", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := mustMarshal(sampleMapReply(eid4))
	badAFI := bytes.Clone(good)
	badAFI[nonceHeaderLen+10+1] = 99 // EID AFI 16387 -> 16227
	badIID := mustMarshal(sampleMapReply(eid4))
	badIID[nonceHeaderLen+10+7]++ // IID LCAF length no longer matches the inner address
	ecm := mustMarshal(sampleECM(sampleMapRequest(eid4), false))
	badIPSum := bytes.Clone(ecm)
	badIPSum[ecmHeaderLen+10] ^= 0xff
	badUDPSum := bytes.Clone(ecm)
	badUDPSum[len(badUDPSum)-1] ^= 0xff
	nested := mustMarshal(sampleECM(nil, false))
	frag := bytes.Clone(ecm)
	frag[ecmHeaderLen+6] = 0x20 // MF bit (checksum now wrong too, fragment checked first)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"type 0", []byte{0x00, 0, 0, 0}, ErrUnknownType},
		{"type 6 info", []byte{0x60, 0, 0, 0}, ErrUnknownType},
		{"type 15", []byte{0xf0}, ErrUnknownType},
		{"unknown afi", badAFI, ErrUnsupportedAFI},
		{"bad iid length", badIID, ErrInvalidValue},
		{"ecm bad ip checksum", badIPSum, ErrChecksum},
		{"ecm bad udp checksum", badUDPSum, ErrChecksum},
		{"ecm empty payload", nested, ErrInvalidValue},
		{"ecm fragment", frag, ErrInvalidValue},
		{"ecm bad ip version", []byte{0x80, 0, 0, 0, 0x50}, ErrInvalidValue},
		{"record count too high", append(bytes.Clone(good[:3]), append([]byte{9}, good[4:]...)...), ErrTruncated},
		{"auth length past end", []byte{0x30, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0xff, 0xff}, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestTruncation decodes every strict prefix of every sample: each must fail
// with ErrTruncated (and, like all inputs, must not panic).
func TestTruncation(t *testing.T) {
	for name, m := range sampleMessages() {
		b := mustMarshal(m)
		for n := range len(b) {
			if _, err := Decode(b[:n]); !errors.Is(err, ErrTruncated) {
				t.Errorf("%s[:%d]: err = %v, want ErrTruncated", name, n, err)
			}
		}
	}
}

func sampleMessages() map[string]Message {
	return map[string]Message{
		"map-request-ipv4":     sampleMapRequest(eid4),
		"map-request-mac":      sampleMapRequest(eidMAC),
		"map-reply-ipv6":       sampleMapReply(eid6),
		"map-reply-neg":        sampleNegativeReply(eidMAC),
		"map-register-sha1":    sampleMapRegister(AuthHMACSHA1, eid4, eidMAC),
		"map-notify":           sampleMapNotify(false, eid6),
		"map-notify-ack":       sampleMapNotify(true, eid4),
		"map-request-pubsub":   samplePubSubRequest(eidMAC, eid4),
		"map-notify-xtrid":     sampleNotifyXTRID(false, eidMAC),
		"map-notify-ack-xtrid": sampleNotifyXTRID(true, eidMAC),
		"map-register-xtrid": func() Message {
			m := sampleMapRegister(AuthHMACSHA256, eidMAC)
			m.HasXTRID, m.XTRID, m.SiteID = true, testXTRID, testSiteID
			return m
		}(),
		"ecm-pubsub": sampleECM(samplePubSubRequest(eidMAC), false),
		"ecm-ipv4":   sampleECM(sampleMapRequest(eid4), false),
		"ecm-ipv6":   sampleECM(sampleMapRequest(eid6), true),
	}
}

func TestEncodeErrors(t *testing.T) {
	many := make([]Address, maxITRRLOCs+1)
	for i := range many {
		many[i] = rloc4a
	}
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{"no itr-rloc", &MapRequest{}, ErrInvalidValue},
		{"33 itr-rlocs", &MapRequest{ITRRLOCs: many}, ErrInvalidValue},
		{"ipv4 afi with ipv6 ip", &MapRequest{ITRRLOCs: []Address{{AFI: AFIIPv4, IP: rloc6.IP}}}, ErrInvalidValue},
		{"unknown top-level afi", &MapRequest{ITRRLOCs: []Address{{AFI: 17, Raw: []byte("x\x00")}}}, ErrUnsupportedAFI},
		{"bad lcaf raw", &MapRequest{ITRRLOCs: []Address{{AFI: AFILCAF, Raw: []byte{0, 0, 7, 0, 0, 9}}}}, ErrInvalidValue},
		{"action 8", &MapReply{Records: []Record{{Action: 8}}}, ErrInvalidValue},
		{"map-version 0x1000", &MapReply{Records: []Record{{MapVersion: 0x1000}}}, ErrInvalidValue},
		{"256 locators", &MapReply{Records: []Record{{Locators: make([]Locator, 256)}}}, ErrInvalidValue},
		{"256 records", &MapRegister{Records: make([]Record, 256)}, ErrInvalidValue},
		{"ecm mixed families", &ECM{Src: netip.MustParseAddrPort("1.2.3.4:1"), Dst: netip.MustParseAddrPort("[::1]:2")}, ErrInvalidValue},
		{"ecm in ecm", sampleECM(sampleECM(nil, false), false), ErrInvalidValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m.Append(nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("err %v is not a *FieldError", err)
			}
		})
	}
}

func TestEIDHelpers(t *testing.T) {
	tests := []struct {
		name    string
		eid     EID
		str     string
		prefix  string // "" when not an IP EID
		isMAC   bool
		encSize int
	}{
		{"ipv4 masked", NewPrefixEID(netip.MustParsePrefix("10.1.2.3/16")), "10.1.0.0/16", "10.1.0.0/16", false, 6},
		{"ipv6 iid", eid6, "[200]2001:db8:aa::/48", "2001:db8:aa::/48", false, 30},
		{"mac iid", eidMAC, "[11259375]02:00:5e:10:20:30/48", "", true, 20},
		{"none", EID{}, "no-address/0", "", false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if s := tc.eid.String(); s != tc.str {
				t.Errorf("String = %q, want %q", s, tc.str)
			}
			p, ok := tc.eid.Prefix()
			if (tc.prefix != "") != ok || (ok && p.String() != tc.prefix) {
				t.Errorf("Prefix = %v %v, want %q", p, ok, tc.prefix)
			}
			if mac, ok := tc.eid.MAC(); ok != tc.isMAC || (ok && mac != testMAC) {
				t.Errorf("MAC = %v %v", mac, ok)
			}
			if n, err := tc.eid.Addr.EncodedLen(); err != nil || n != tc.encSize {
				t.Errorf("EncodedLen = %d %v, want %d", n, err, tc.encSize)
			}
			if !tc.eid.Equal(tc.eid) {
				t.Error("not Equal to itself")
			}
		})
	}
}

// TestDecodeReuseAllocs checks that steady-state decoding into a reused
// message and appending into a reused buffer do not allocate.
func TestDecodeReuseAllocs(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		into decoder
	}{
		{"map-request", sampleMapRequest(eid4), new(MapRequest)},
		{"map-reply", sampleMapReply(eidMAC), new(MapReply)},
		{"map-register", sampleMapRegister(AuthHMACSHA256, eid4, eid6), new(MapRegister)},
		{"map-notify", sampleMapNotify(false, eid4), new(MapNotify)},
		{"map-request-pubsub", samplePubSubRequest(eidMAC, eid4), new(MapRequest)},
		{"map-notify-ack-xtrid", sampleNotifyXTRID(true, eidMAC), new(MapNotify)},
		{"ecm", sampleECM(sampleMapRequest(eid4), false), new(ECM)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustMarshal(tc.msg)
			buf := make([]byte, 0, 1500)
			if n := testing.AllocsPerRun(50, func() {
				if err := tc.into.Decode(b); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("Decode allocs = %v, want 0", n)
			}
			if n := testing.AllocsPerRun(50, func() {
				if _, err := tc.msg.Append(buf[:0]); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("Append allocs = %v, want 0", n)
			}
		})
	}
}
