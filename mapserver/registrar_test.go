package mapserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestRegisterRefused(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{})
	ctx := testCtx(t)
	encode := func(reg *packet.MapRegister, key string) []byte {
		b, err := reg.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			if err := packet.Sign(b, reg.AlgID, []byte(key)); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	eid := func(s string) packet.EID { e, _ := client.ParseEID(iidA, s); return e }
	unsigned := encode(&packet.MapRegister{Nonce: 1, Records: []packet.Record{{TTL: 1, EID: eid("10.1.5.0/24")}}}, "")
	// dc2 alone holds 10.2.5.0/24, dc1 alone 02:00:10:00:00:09: no one site holds both.
	split := encode(&packet.MapRegister{Nonce: 2, AlgID: packet.AuthHMACSHA256, Records: []packet.Record{
		{TTL: 1, EID: eid("10.2.5.0/24")}, {TTL: 1, EID: eid("02:00:10:00:00:09")}}}, keyDC2)
	// Both sites hold 10.1.4.0/24; no locator and an unknown source tell them apart.
	ambiguous := encode(&packet.MapRegister{Nonce: 3, AlgID: packet.AuthHMACSHA256, Records: []packet.Record{
		{TTL: 1, EID: eid("10.1.4.0/24")}}}, keyDC1)
	cases := []struct {
		name    string
		key     string
		iid     uint32
		eid     string
		rloc    netip.Addr
		raw     []byte
		outcome int
		hmacs   float64
	}{
		{"bad key", "not-the-key", iidA, "10.1.1.0/24", rloc1, nil, regRefusedAuth, 1},
		{"no authentication", "", iidA, "", rloc1, unsigned, regRefusedAuth, 0},
		{"instance-id not served", keyDC1, iidB, "10.1.2.0/24", rloc1, nil, regRefusedIID, 0},
		{"prefix outside every site", keyDC1, iidA, "10.3.3.0/24", rloc1, nil, regRefusedPrefix, 0},
		{"mac outside every site", keyDC1, iidA, "0a:00:00:00:00:07", rloc1, nil, regRefusedMAC, 0},
		{"rloc outside the site", keyDC2, iidA, "10.2.3.0/24", rloc1, nil, regRefusedRLOC, 0},
		{"no one site holds all", "", iidA, "", rloc1, split, regRefusedNoSite, 0},
		{"overlapping scopes", "", iidA, "", rloc1, ambiguous, regRefusedAmbiguous, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, hmacs := counterValue(t, outcomes[c.outcome]), verifications(t)
			b := c.raw
			if b == nil {
				opt := regOpt(s, c.key, c.eid, c.rloc)
				opt.IID = c.iid
				var err error
				if _, b, err = client.BuildRegister(opt); err != nil {
					t.Fatal(err)
				}
			}
			conn := listenUDPTest(t, "127.0.0.1:0")
			if _, err := conn.WriteToUDPAddrPort(b, s.Addr()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "refusal counted", 10*time.Second, func() bool {
				return counterValue(t, outcomes[c.outcome]) > before
			})
			if n := verifications(t) - hmacs; n != c.hmacs {
				t.Errorf("%v HMAC verifications, want %v", n, c.hmacs)
			}
		})
	}
	if n := ctl.Index().Len(); n != 0 {
		t.Fatalf("refused registrations stored %d records", n)
	}
	waitFor(t, "refusal events", 10*time.Second, func() bool {
		evs, err := ctl.EventsSince(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Type == controller.EvRegisterRefused {
				n++
			}
		}
		return n == len(cases) // within the burst of the event budget
	})
}

// verifications is how many HMACs have checked Map-Registers so far.
func verifications(t testing.TB) float64 {
	return counterValue(t, verifies[verifyOK]) + counterValue(t, verifies[verifyFailed])
}

func TestRegistrationExpires(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{RegistrationTTL: time.Second, FlushInterval: 100 * time.Millisecond})
	ctx := testCtx(t)
	if _, err := client.Register(ctx, regOpt(s, keyDC1, "10.1.7.0/24", rloc1)); err != nil {
		t.Fatal(err)
	}
	eid := mapping.PrefixEID(iidA, netip.MustParsePrefix("10.1.7.0/24"))
	if _, ok := ctl.Index().Get(eid); !ok {
		t.Fatal("registration not in the index after its Map-Notify")
	}
	waitFor(t, "the registration to expire", 20*time.Second, func() bool {
		_, ok := ctl.Index().Get(eid)
		return !ok
	})
	evs, err := ctl.EventsSince(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Type != controller.EvMappingDeleted || last.EID != "10.1.7.0/24" {
		t.Fatalf("last event %+v, want mapping.deleted of the EID", last)
	}
}

func TestMoveNotifiesOldRegistrant(t *testing.T) {
	ctl := newController(t)
	old := listenUDPTest(t, "127.0.0.2:0")
	s := startServer(t, ctl, Config{ETRPort: old.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()})
	ctx := testCtx(t)
	_, b, err := client.BuildRegister(regOpt(s, keyDC1, "10.1.8.0/24", rloc1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.WriteToUDPAddrPort(b, s.Addr()); err != nil {
		t.Fatal(err)
	}
	readNotify(t, old, keyDC1) // the acknowledgement
	if _, err := client.Register(ctx, regOpt(s, keyDC2, "10.1.8.0/24", rloc9)); err != nil {
		t.Fatal(err)
	}
	n := readNotify(t, old, keyDC1)
	if len(n.Records) != 1 || len(n.Records[0].Locators) != 1 || n.Records[0].Locators[0].Addr.IP != rloc9 {
		t.Fatalf("move notification: %+v", n)
	}
	rec, ok := ctl.Index().Get(mapping.PrefixEID(iidA, netip.MustParsePrefix("10.1.8.0/24")))
	if !ok || rec.Site != "dc2" || rec.Version != 2 || rec.XTR != "127.0.0.1" {
		t.Fatalf("after the move: %+v", rec)
	}
	evs, err := ctl.History(ctx, iidA, "10.1.8.0/24", 10)
	if err != nil {
		t.Fatal(err)
	}
	if evs[len(evs)-1].Type != controller.EvMappingMoved {
		t.Fatalf("history: %+v", evs)
	}
}

// readNotify reads one Map-Notify and verifies its signature.
func readNotify(t *testing.T, c interface {
	SetReadDeadline(time.Time) error
	ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error)
}, key string) *packet.MapNotify {
	t.Helper()
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := packet.Verify(buf[:n], []byte(key)); err != nil {
		t.Fatalf("map-notify signature: %v", err)
	}
	var m packet.MapNotify
	if err := m.Decode(buf[:n]); err != nil {
		t.Fatal(err)
	}
	m.Records = packet.CloneRecords(m.Records)
	return &m
}

func TestNoProxyForwardsToETR(t *testing.T) {
	ctl := newController(t)
	etr := listenUDPTest(t, "127.0.0.3:0")
	s := startServer(t, ctl, Config{ETRPort: etr.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()})
	opt := regOpt(s, keyDC2, "10.2.0.0/16", rloc9)
	opt.NoProxy = true
	_, b, err := client.BuildRegister(opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etr.WriteToUDPAddrPort(b, s.Addr()); err != nil {
		t.Fatal(err)
	}
	readNotify(t, etr, keyDC2)
	itr := listenUDPTest(t, "127.0.0.1:0")
	eid, _ := client.ParseEID(iidA, "10.2.3.4")
	req := &packet.MapRequest{Nonce: 0xfeed, ITRRLOCs: []packet.Address{packet.AddrFromIP(netip.MustParseAddr("127.0.0.1"))},
		EIDs: []packet.EID{eid}}
	rb, _ := req.Marshal()
	if _, err := itr.WriteToUDPAddrPort(rb, s.Addr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	_ = etr.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := etr.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	var ecm packet.ECM
	if err := ecm.Decode(buf[:n]); err != nil {
		t.Fatal(err)
	}
	in, ok := ecm.Inner.(*packet.MapRequest)
	itrPort := itr.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
	if !ecm.ToETR || !ok || in.Nonce != 0xfeed || ecm.Src.Port() != itrPort {
		t.Fatalf("forwarded: %+v inner %+v", ecm, ecm.Inner)
	}
}
