package packet

import "testing"

func BenchmarkDecodeMapRequest(b *testing.B) {
	msg := mustMarshal(sampleMapRequest(eidMAC))
	var m MapRequest
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeMapRequestPubSub decodes a subscribing Map-Request (I and
// N bits, xTR-ID trailer).
func BenchmarkDecodeMapRequestPubSub(b *testing.B) {
	msg := mustMarshal(samplePubSubRequest(eidMAC))
	var m MapRequest
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeECMMapRequest(b *testing.B) {
	msg := mustMarshal(sampleECM(sampleMapRequest(eidMAC), false))
	var m ECM
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMapReply(b *testing.B) {
	m := sampleMapReply(eidMAC)
	buf := make([]byte, 0, 1500)
	b.ReportAllocs()
	for b.Loop() {
		out, err := m.Append(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(out)))
	}
}

func BenchmarkDecodeMapRegister(b *testing.B) {
	msg := mustMarshal(sampleMapRegister(AuthHMACSHA256, eid4, eidMAC))
	var m MapRegister
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignVerify(b *testing.B) {
	for _, alg := range []AuthAlg{AuthHMACSHA1, AuthHMACSHA256} {
		b.Run(alg.String(), func(b *testing.B) {
			msg := mustMarshal(sampleMapRegister(alg, eid4, eidMAC))
			a := NewAuthenticator(testKey)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Sign(msg, alg); err != nil {
					b.Fatal(err)
				}
				if err := a.Verify(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRegisterPipeline is the Map-Server hot path for one
// registration: decode, verify, build and sign the Map-Notify.
func BenchmarkRegisterPipeline(b *testing.B) {
	msg := mustMarshal(sampleMapRegister(AuthHMACSHA256, eid4, eidMAC))
	a := NewAuthenticator(testKey)
	var reg MapRegister
	var n MapNotify
	buf := make([]byte, 0, 1500)
	b.ReportAllocs()
	for b.Loop() {
		if err := reg.Decode(msg); err != nil {
			b.Fatal(err)
		}
		if err := a.Verify(msg); err != nil {
			b.Fatal(err)
		}
		n.Nonce, n.KeyID, n.AlgID, n.Records, n.AuthData = reg.Nonce, reg.KeyID, reg.AlgID, reg.Records, nil
		out, err := n.Append(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Sign(out, n.AlgID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNotifyAckPipeline is the subscriber's side of a pub/sub
// notification: decode and verify the Map-Notify, build and sign its ack.
func BenchmarkNotifyAckPipeline(b *testing.B) {
	msg := mustMarshal(sampleNotifyXTRID(false, eidMAC))
	a := NewAuthenticator(testKey)
	var n MapNotify
	buf := make([]byte, 0, 1500)
	b.ReportAllocs()
	for b.Loop() {
		if err := n.Decode(msg); err != nil {
			b.Fatal(err)
		}
		if err := a.Verify(msg); err != nil {
			b.Fatal(err)
		}
		ack := n.Acknowledge()
		out, err := ack.Append(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Sign(out, ack.AlgID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeOverlay parses a LISP-GPE Ethernet packet as the WAN
// capture checks do.
func BenchmarkDecodeOverlay(b *testing.B) {
	s := dataPlaneSamples()["lisp-gpe-iid-100"]
	b.SetBytes(int64(len(s.payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeOverlay(s.port, s.payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendOverlay(b *testing.B) {
	o := Overlay{Encap: EncapLISPGPE, IID: 100, Frame: sampleFrame()}
	buf := make([]byte, 0, 1500)
	b.ReportAllocs()
	for b.Loop() {
		out, err := AppendOverlay(buf[:0], &o)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(out)))
	}
}
