package mapserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// TestMoveSolicitsMapRequest checks that an ITR which resolved an EID gets
// a Solicit-Map-Request when the EID moves to another site.
func TestMoveSolicitsMapRequest(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{})
	ctx := testCtx(t)
	if _, err := client.Register(ctx, regOpt(s, keyDC1, "10.1.9.0/24", rloc1)); err != nil {
		t.Fatal(err)
	}
	itr := listenUDPTest(t, "127.0.0.3:0")
	eid := packet.NewPrefixEID(netip.MustParsePrefix("10.1.9.0/24")).WithIID(iidA)
	req := packet.MapRequest{Nonce: 77, ITRRLOCs: []packet.Address{packet.AddrFromIP(netip.MustParseAddr("127.0.0.3"))},
		EIDs: []packet.EID{eid}}
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := itr.WriteToUDPAddrPort(b, s.Addr()); err != nil {
		t.Fatal(err)
	}
	if m := readMessage(t, itr); m.Type() != packet.TypeMapReply {
		t.Fatalf("want a Map-Reply first, got %v", m.Type())
	}
	if _, err := client.Register(ctx, regOpt(s, keyDC2, "10.1.9.0/24", rloc9)); err != nil {
		t.Fatal(err)
	}
	m := readMessage(t, itr)
	smr, ok := m.(*packet.MapRequest)
	if !ok || !smr.SMR || smr.SMRInvoked || len(smr.EIDs) != 1 || !smr.EIDs[0].Equal(eid) {
		t.Fatalf("want an SMR for %s, got %+v", eid, m)
	}
	if len(smr.ITRRLOCs) != 1 || smr.ITRRLOCs[0].IP != s.Addr().Addr() {
		t.Fatalf("SMR ITR-RLOC %+v, want the server's address %s", smr.ITRRLOCs, s.Addr().Addr())
	}
}

func readMessage(t *testing.T, c interface {
	SetReadDeadline(time.Time) error
	ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error)
}) packet.Message {
	t.Helper()
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	m, err := packet.Decode(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	return m
}
