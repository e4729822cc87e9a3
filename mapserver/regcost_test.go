package mapserver

import (
	"fmt"
	"net"
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
	// Map-Notifies go to a socket that exists: a closed port would cost
	// an ICMP error per datagram and skew the numbers.
	sink := listenUDPTest(b, "127.0.0.60:0")
	src := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	// One forged register per site's /24, so that each needs another key.
	var rotating [][]byte
	for i := range 1000 {
		rotating = append(rotating, build(forgedKey, fmt.Sprintf("10.%d.%d.0/26", i/256, i%256)))
	}
	for _, c := range []struct {
		name string
		s    *Server
		raws [][]byte
	}{
		{"legit", open, [][]byte{build(legitKey, legitEID)}},
		{"forged-in-scope", open, [][]byte{build(forgedKey, floodEID)}},
		{"forged-in-scope-every-site", open, rotating},
		{"forged-over-budget", strict, [][]byte{build(forgedKey, floodEID)}},
		{"forged-ambiguous", open, [][]byte{build(forgedKey, "10.200.0.0/24")}},
		{"forged-outside-scope", open, [][]byte{build(forgedKey, "172.16.0.0/24")}},
		{"unsigned", open, [][]byte{unsigned}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, err := c.s.newReader(0)
			if err != nil {
				b.Fatal(err)
			}
			ds := make([]udpio.Datagram, len(c.raws))
			for i, raw := range c.raws {
				ds[i] = udpio.Datagram{Buf: raw, N: len(raw), Addr: src}
			}
			r.now = time.Now()
			r.mono = c.s.mono(r.now)
			r.handle(&ds[0]) // warm the caches (and spend the strict budget)
			r.flushOut()
			r.st.flush()
			hmacs := verifications(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.handle(&ds[i%len(ds)])
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
