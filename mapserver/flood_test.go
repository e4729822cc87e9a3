package mapserver

import (
	"math/rand/v2"
	"net"
	"runtime"
	"testing"

	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
)

// TestFlood sends a million random and truncated datagrams and checks the
// server survives, does not keep what it was sent, and still answers.
func TestFlood(t *testing.T) {
	total := 1_000_000
	if testing.Short() {
		total = 50_000
	}
	ctl := newController(t)
	s := startServer(t, ctl, Config{})
	ctx := testCtx(t)
	if _, err := client.Register(ctx, regOpt(s, keyDC1, "10.1.0.0/24", rloc1)); err != nil {
		t.Fatal(err)
	}
	_, reg, _ := client.BuildRegister(regOpt(s, keyDC1, "10.1.0.0/24", rloc1))
	eid, _ := client.ParseEID(iidA, "10.1.0.9")
	req, _ := (&packet.MapRequest{Nonce: 1, ITRRLOCs: []packet.Address{packet.AddrFromIP(rloc1)},
		EIDs: []packet.EID{eid}}).Marshal()
	ecm, _ := (&packet.ECM{Src: s.Addr(), Dst: s.Addr(), Inner: &packet.MapRequest{Nonce: 2,
		ITRRLOCs: []packet.Address{packet.AddrFromIP(rloc1)}, EIDs: []packet.EID{eid}}}).Marshal()
	samples := [][]byte{reg, req, ecm}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	nc, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	bc, err := udpio.NewBatchConn(nc, 64)
	if err != nil {
		t.Fatal(err)
	}
	out := udpio.NewDatagrams(64, 512)
	rnd := rand.New(rand.NewPCG(1, 2))
	for sent := 0; sent < total; sent += len(out) {
		for i := range out {
			fuzzDatagram(rnd, &out[i], samples)
		}
		if _, err := bc.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
	}
	res, err := client.Lig(ctx, client.LigOptions{MR: s.Addr().String(), IID: iidA, EID: "10.1.0.9"})
	if err != nil {
		t.Fatalf("no answer after the flood: %v", err)
	}
	if len(res.Records) != 1 || len(res.Records[0].Locators) != 1 {
		t.Fatalf("answer after the flood: %+v", res.Records)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 32<<20 {
		t.Fatalf("heap grew by %d bytes over the flood", grow)
	}
	t.Logf("heap before %d after %d bytes; dropped malformed %.0f", before.HeapAlloc, after.HeapAlloc,
		counterValue(t, dropped[dropMalformed]))
}

// fuzzDatagram fills d with random bytes, a truncated valid message, or
// a valid message with random bytes flipped.
func fuzzDatagram(rnd *rand.Rand, d *udpio.Datagram, samples [][]byte) {
	b := d.Buf[:cap(d.Buf)]
	switch rnd.IntN(3) {
	case 0:
		n := rnd.IntN(len(b))
		for i := range n {
			b[i] = byte(rnd.Uint32())
		}
		if n > 0 {
			b[0] = byte(rnd.IntN(16)) << 4
		}
		d.N = n
	case 1:
		s := samples[rnd.IntN(len(samples))]
		d.N = copy(b, s[:rnd.IntN(len(s))])
	default:
		s := samples[rnd.IntN(len(samples))]
		d.N = copy(b, s)
		for range 1 + rnd.IntN(4) {
			b[rnd.IntN(d.N)] ^= byte(1 + rnd.IntN(255))
		}
	}
}
