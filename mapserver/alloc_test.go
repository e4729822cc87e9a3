package mapserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
)

// TestHotPathAllocs checks that answering a Map-Request (plain or ECM,
// positive or negative) and refreshing a registration allocate nothing.
func TestHotPathAllocs(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{ReplyRate: 1e12})
	if _, err := client.Register(testCtx(t), regOpt(s, keyDC1, "10.1.0.0/24", rloc1, rloc2)); err != nil {
		t.Fatal(err)
	}
	r, err := s.newReader(0)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	mkReq := func(eid string) []byte {
		e, _ := client.ParseEID(iidA, eid)
		b, _ := (&packet.MapRequest{Nonce: 9, ITRRLOCs: []packet.Address{packet.AddrFromIP(src.Addr())},
			EIDs: []packet.EID{e}}).Marshal()
		return b
	}
	ecm, _ := (&packet.ECM{Src: src, Dst: s.Addr(), Inner: &packet.MapRequest{Nonce: 2,
		ITRRLOCs: []packet.Address{packet.AddrFromIP(src.Addr())}, EIDs: []packet.EID{packet.NewPrefixEID(netip.MustParsePrefix("10.1.0.9/32")).WithIID(iidA)}}}).Marshal()
	refresh, _ := func() ([]byte, error) {
		o := regOpt(s, keyDC1, "10.1.0.0/24", rloc1, rloc2)
		_, b, err := client.BuildRegister(o)
		return b, err
	}()
	cases := []struct {
		name string
		msg  []byte
	}{
		{"positive", mkReq("10.1.0.9")},
		{"negative", mkReq("10.7.0.1")},
		{"mac miss", mkReq("02:00:00:00:00:09")},
		{"ecm", ecm},
		{"register refresh with notify", refresh},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := udpio.Datagram{Buf: append([]byte(nil), c.msg...), N: len(c.msg), Addr: src}
			allocs := testing.AllocsPerRun(1000, func() {
				r.now = time.Now()
				r.handle(&d)
				if r.nout != 1 {
					t.Fatalf("%d replies", r.nout)
				}
				r.nout = 0
			})
			if allocs != 0 {
				t.Fatalf("%.1f allocations per message", allocs)
			}
		})
	}
}
