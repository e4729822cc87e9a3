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
