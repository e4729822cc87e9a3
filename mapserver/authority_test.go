package mapserver

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/client"
)

// The xTRs of the hijack tests: each site registers from its own
// loopback address.
var (
	srcDC1 = netip.MustParseAddr("127.0.0.11")
	srcDC2 = netip.MustParseAddr("127.0.0.12")
)

// authorityFixture adds to newController's sites what a hijacker aims at:
// dc1's static host 02:00:00:00:00:01 and static address 10.1.0.10, a MAC
// learned at dc1 outside dc1's MAC scope (02:00:00:00:00:02), and a MAC
// dc1 registered (02:00:10:00:00:07).
func authorityFixture(t *testing.T, s *Server, ctl *controller.Controller) {
	t.Helper()
	ctx := testCtx(t)
	for _, eid := range []string{"02:00:00:00:00:01", "10.1.0.10"} {
		if _, _, err := ctl.CreateMapping(ctx, controller.MappingInput{InstanceID: iidA, EID: eid, Site: "dc1",
			RLOCs: []controller.LocatorInput{{Address: "192.0.2.1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ctl.CreateXTR(ctx, controller.XTRInput{Site: "dc1", Name: "dc1-edge", RLOC: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.BindPort(ctx, "dc1-edge", "p1", iidA); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Learn(ctx, controller.Sighting{XTR: "dc1-edge", Port: "p1", IID: iidA,
		MAC: mapping.MAC{2, 0, 0, 0, 0, 2}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	opt := regOpt(s, keyDC1, "02:00:10:00:00:07", rloc1)
	opt.Local = netip.AddrPortFrom(srcDC1, 0).String()
	// Sent once (a retry would cost a second HMAC later) and acknowledged;
	// the reader adds its counts after its batch, which on a loaded machine
	// can be after the Map-Notify arrived: wait for this HMAC to be counted
	// so that the first case is not charged with it.
	opt.Retries, opt.Timeout = 0, 30*time.Second
	v0 := verifications(t)
	if _, err := client.Register(ctx, opt); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fixture's HMAC counted", 10*time.Second, func() bool { return verifications(t) >= v0+1 })
}

// TestRegistrationHijack sends, over UDP, registrations that a site's key
// holder must not get away with. Each is refused, answered with nothing,
// stores nothing, writes no mapping event and is counted by its reason.
func TestRegistrationHijack(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{})
	authorityFixture(t, s, ctl)
	ctx := testCtx(t)
	rloc7 := netip.MustParseAddr("198.51.100.7")
	cases := []struct {
		name    string
		key     string
		src     netip.Addr
		eid     string
		rloc    netip.Addr
		outcome int
		hmacs   float64
	}{
		{"another site's static host", keyDC2, srcDC2, "02:00:00:00:00:01", rloc7, regRefusedStatic, 1},
		{"another site's static address", keyDC2, srcDC2, "10.1.0.10/32", rloc7, regRefusedStatic, 1},
		{"its own site's static address", keyDC1, srcDC1, "10.1.0.10/32", rloc1, regRefusedStatic, 1},
		{"an EID outside every scope", keyDC2, srcDC2, "10.3.0.0/24", rloc7, regRefusedPrefix, 0},
		{"a MAC outside every scope", keyDC2, srcDC2, "0a:00:00:00:00:01", rloc7, regRefusedMAC, 0},
		{"an RLOC outside the site's", keyDC2, srcDC2, "10.2.7.0/24", netip.MustParseAddr("192.0.2.77"), regRefusedRLOC, 0},
		{"a MAC learned elsewhere, outside that site's scope", keyDC2, srcDC2, "02:00:00:00:00:02", rloc7, regRefusedForeign, 1},
		{"another site's registered MAC, signed with another key", keyDC2, srcDC2, "02:00:10:00:00:07", rloc1, regRefusedAuth, 1},
	}
	before := mappingRows(t, ctl)
	from := ctl.LastEventID()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, hmacs := counterValue(t, outcomes[c.outcome]), verifications(t)
			opt := regOpt(s, c.key, c.eid, c.rloc)
			_, b, err := client.BuildRegister(opt)
			if err != nil {
				t.Fatal(err)
			}
			conn := listenUDPTest(t, netip.AddrPortFrom(c.src, 0).String())
			if _, err := conn.WriteToUDPAddrPort(b, s.Addr()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the refusal counted", 10*time.Second, func() bool { return counterValue(t, outcomes[c.outcome]) > n })
			if got := verifications(t) - hmacs; got != c.hmacs {
				t.Errorf("%v HMAC verifications, want %v", got, c.hmacs)
			}
			expectSilence(t, conn, 300*time.Millisecond)
		})
	}
	if after := mappingRows(t, ctl); !slices.Equal(before, after) {
		t.Fatalf("refused registrations changed the mappings:\n%v\n%v", before, after)
	}
	var reasons []string
	waitFor(t, "the refusal events", 10*time.Second, func() bool {
		evs, err := ctl.EventsSince(ctx, from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		reasons = reasons[:0]
		for _, ev := range evs {
			if ev.Type != controller.EvRegisterRefused {
				t.Fatalf("a refused registration wrote a %s event: %s", ev.Type, ev.Data)
			}
			var d map[string]string
			_ = json.Unmarshal(ev.Data, &d)
			reasons = append(reasons, d["reason"])
		}
		return len(evs) == len(cases)
	})
	for i, c := range cases {
		if reasons[i] != outcomeNames[c.outcome] {
			t.Errorf("event %d reason %q, want %q", i, reasons[i], outcomeNames[c.outcome])
		}
	}
}

// TestLegitimateMove: a MAC both sites' scopes hold moves from dc1 to dc2
// by registration: version +1, mapping.moved, and a Map-Notify signed
// with dc1's key to the xTR that registered it at dc1.
func TestLegitimateMove(t *testing.T) {
	ctl := newController(t)
	setScope(t, ctl, "dc2", []string{"02:00:00:00:00:00/20", "02:00:10:00:00:00/24"}, false, []string{"198.51.100.0/24"})
	old := listenUDPTest(t, netip.AddrPortFrom(srcDC1, 0).String())
	s := startServer(t, ctl, Config{ETRPort: old.LocalAddr().(*net.UDPAddr).AddrPort().Port()})
	ctx := testCtx(t)
	_, b, err := client.BuildRegister(regOpt(s, keyDC1, "02:00:10:00:00:42", rloc1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.WriteToUDPAddrPort(b, s.Addr()); err != nil {
		t.Fatal(err)
	}
	readNotify(t, old, keyDC1) // the acknowledgement
	opt := regOpt(s, keyDC2, "02:00:10:00:00:42", rloc9)
	opt.Local = netip.AddrPortFrom(srcDC2, 0).String()
	if _, err := client.Register(ctx, opt); err != nil {
		t.Fatal(err)
	}
	n := readNotify(t, old, keyDC1)
	if len(n.Records) != 1 || len(n.Records[0].Locators) != 1 || n.Records[0].Locators[0].Addr.IP != rloc9 {
		t.Fatalf("move notification: %+v", n)
	}
	eid := mapping.MACEID(iidA, mapping.MAC{2, 0, 0x10, 0, 0, 0x42})
	rec, ok := ctl.Index().Get(eid)
	if !ok || rec.Site != "dc2" || rec.Version != 2 || rec.XTR != srcDC2.String() || rec.Origin != mapping.OriginRegistered {
		t.Fatalf("after the move: %+v", rec)
	}
	evs, err := ctl.History(ctx, iidA, eid.Address(), 10)
	if err != nil || evs[len(evs)-1].Type != controller.EvMappingMoved {
		t.Fatalf("history: %+v %v", evs, err)
	}
}

// mappingRows lists every mapping with what a hijack would change.
func mappingRows(t *testing.T, ctl *controller.Controller) []string {
	t.Helper()
	recs, _, err := ctl.ListMappings(context.Background(), controller.MappingFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		b, _ := json.Marshal(r)
		out = append(out, string(b))
	}
	return out
}

// expectSilence fails if c receives anything within d.
func expectSilence(t *testing.T, c *net.UDPConn, d time.Duration) {
	t.Helper()
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(d))
	if n, from, err := c.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatalf("a refused Map-Register was answered by %s: type %d, %d bytes", from, buf[0]>>4, n)
	}
}
