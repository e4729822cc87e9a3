package packet

import "net/netip"

// Shared sample messages for the round-trip, tshark, fuzz-seed and
// benchmark tests.

var (
	testMAC   = [6]byte{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}
	rloc4a    = AddrFromIP(netip.MustParseAddr("192.0.2.1"))
	rloc4b    = AddrFromIP(netip.MustParseAddr("198.51.100.7"))
	rloc6     = AddrFromIP(netip.MustParseAddr("2001:db8::1"))
	eid4      = NewPrefixEID(netip.MustParsePrefix("10.1.0.0/16")).WithIID(100)
	eid6      = NewPrefixEID(netip.MustParsePrefix("2001:db8:aa::/48")).WithIID(200)
	eidMAC    = NewMACEID(testMAC).WithIID(0xabcdef)
	testKey   = []byte("l2lisp-shared-secret")
	testNonce = uint64(0x0123456789abcdef)
	// testXTRID and testSiteID are the RFC 9437 identifiers of the sample
	// subscriber.
	testXTRID  = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xed, 0xfa, 0xce}
	testSiteID = [8]byte{0, 0, 0, 0, 0, 0, 0x0a, 0x0b}
)

func sampleLocators() []Locator {
	return []Locator{
		{Priority: 1, Weight: 50, MPriority: 255, MWeight: 0, Local: true, Reachable: true, Addr: rloc4a},
		{Priority: 2, Weight: 50, MPriority: 255, Probed: true, Addr: rloc6},
	}
}

func sampleRecord(eid EID) Record {
	return Record{TTL: 1440, EID: eid, Authoritative: true, MapVersion: 7, Locators: sampleLocators()}
}

func sampleMapRequest(eid EID) *MapRequest {
	return &MapRequest{
		SMR: true, PITR: true, Nonce: testNonce,
		SourceEID: AddrFromIP(netip.MustParseAddr("10.1.2.3")).WithIID(100),
		ITRRLOCs:  []Address{rloc4a, rloc6},
		EIDs:      []EID{eid},
	}
}

// samplePubSubRequest is a subscribing Map-Request (RFC 9437): I bit,
// xTR-ID and site-ID, and the N bit on every EID-Record.
func samplePubSubRequest(eids ...EID) *MapRequest {
	m := sampleMapRequest(eids[0])
	m.SMR, m.PITR = false, false
	m.EIDs, m.HasXTRID, m.XTRID, m.SiteID = eids, true, testXTRID, testSiteID
	for i := range eids {
		m.Notify.Set(i, true)
	}
	return m
}

func sampleMapReply(eid EID) *MapReply {
	return &MapReply{Nonce: testNonce, Records: []Record{sampleRecord(eid)}}
}

func sampleNegativeReply(eid EID) *MapReply {
	return &MapReply{Nonce: testNonce, Records: []Record{{TTL: 15, EID: eid, Action: ActionNativelyForward}}}
}

func sampleMapRegister(alg AuthAlg, eids ...EID) *MapRegister {
	m := &MapRegister{ProxyReply: true, WantMapNotify: true, Nonce: testNonce, AlgID: alg}
	for _, e := range eids {
		m.Records = append(m.Records, sampleRecord(e))
	}
	return m
}

func sampleMapNotify(ack bool, eid EID) *MapNotify {
	return &MapNotify{Ack: ack, Nonce: testNonce, AlgID: AuthHMACSHA256, Records: []Record{sampleRecord(eid)}}
}

// sampleNotifyXTRID is a Map-Notify (or ack) carrying the xTR-ID trailer.
func sampleNotifyXTRID(ack bool, eid EID) *MapNotify {
	m := sampleMapNotify(ack, eid)
	m.HasXTRID, m.XTRID, m.SiteID = true, testXTRID, testSiteID
	return m
}

func sampleECM(inner Message, v6 bool) *ECM {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.1.0.9")
	if v6 {
		src, dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:aa::9")
	}
	return &ECM{
		ToMS: true, TTL: 64, Inner: inner,
		Src: netip.AddrPortFrom(src, 61000), Dst: netip.AddrPortFrom(dst, 4342),
	}
}

// mustMarshal encodes m, signing authenticated messages with testKey.
func mustMarshal(m Message) []byte {
	b, err := m.Append(nil)
	if err != nil {
		panic(err)
	}
	var alg AuthAlg
	switch v := m.(type) {
	case *MapRegister:
		alg = v.AlgID
	case *MapNotify:
		alg = v.AlgID
	default:
		return b
	}
	if alg != AuthNone && alg.Size() == 0 {
		return b // unknown algorithm: leave the data as encoded
	}
	if err := Sign(b, alg, testKey); err != nil {
		panic(err)
	}
	return b
}
