package mapserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
)

// BenchmarkRegisterCost is the server's CPU per Map-Register, sockets
// aside: a reader of a real server with 1,000 sites on SQLite handles one
// datagram per op. The forged kinds are what a flood can send; "legit" is
// a refresh by s0500 (its HMAC, plus the Map-Notify it signs).
//
//	go test -run xxx -bench RegisterCost ./mapserver/
func BenchmarkRegisterCost(b *testing.B) {
	ctl := newManySitesController(b, 1000)
	open := startServer(b, ctl, Config{AuthFailRate: -1})
	strict := startServer(b, ctl, Config{AuthFailRate: 0.001, AuthFailBurst: 1})
	legit := regOpt(open, legitKey, legitEID, rloc1)
	if _, err := client.Register(testCtx(b), legit); err != nil {
		b.Fatal(err)
	}
	build := func(key, eid string) []byte {
		opt := regOpt(open, key, eid, rloc1)
		opt.Nonce = 1
		_, raw, err := client.BuildRegister(opt)
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	unsigned, err := (&packet.MapRegister{Nonce: 1, Records: []packet.Record{{TTL: 1,
		EID: packet.NewPrefixEID(netip.MustParsePrefix(floodEID)).WithIID(iidA)}}}).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.60:4342")
	for _, c := range []struct {
		name string
		s    *Server
		raw  []byte
	}{
		{"legit", open, build(legitKey, legitEID)},
		{"forged-in-scope", open, build(forgedKey, floodEID)},
		{"forged-over-budget", strict, build(forgedKey, floodEID)},
		{"forged-ambiguous", open, build(forgedKey, "10.200.0.0/24")},
		{"forged-outside-scope", open, build(forgedKey, "172.16.0.0/24")},
		{"unsigned", open, unsigned},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, err := c.s.newReader(0)
			if err != nil {
				b.Fatal(err)
			}
			d := udpio.Datagram{Buf: make([]byte, len(c.raw)), N: len(c.raw), Addr: src}
			copy(d.Buf, c.raw)
			r.now = time.Now()
			r.mono = c.s.mono(r.now)
			r.handle(&d) // warm the caches (and spend the strict budget)
			r.flushOut()
			r.st.flush()
			hmacs := verifications(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.handle(&d)
				if i%64 == 63 {
					r.flushOut()
					r.st.flush()
				}
			}
			b.StopTimer()
			r.flushOut()
			r.st.flush()
			b.ReportMetric((verifications(b)-hmacs)/float64(b.N), "hmac/op")
		})
	}
}
