package mapserver

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

var (
	rloc1 = netip.MustParseAddr("192.0.2.1")
	rloc2 = netip.MustParseAddr("192.0.2.2")
	rloc9 = netip.MustParseAddr("198.51.100.9")
)

func regOpt(s *Server, key, eid string, rlocs ...netip.Addr) client.RegisterOptions {
	return client.RegisterOptions{MS: s.Addr().String(), Key: key, Alg: packet.AuthHMACSHA256, IID: iidA, EID: eid,
		RLOCs: rlocs, Priority: 1, Weight: 100, TTL: 1440, Notify: true}
}

func TestRegisterAndResolve(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{})
	ctx := testCtx(t)
	for _, alg := range []packet.AuthAlg{packet.AuthHMACSHA1, packet.AuthHMACSHA256} {
		opt := regOpt(s, keyDC1, "10.1.0.0/24", rloc1, rloc2)
		opt.Alg = alg
		n, err := client.Register(ctx, opt)
		if err != nil {
			t.Fatalf("%v: %v", alg, err)
		}
		if len(n.Records) != 1 || n.AlgID != alg || !n.Records[0].EID.Equal(packet.NewPrefixEID(netip.MustParsePrefix("10.1.0.0/24")).WithIID(iidA)) {
			t.Fatalf("map-notify does not echo the register: %+v", n)
		}
	}
	iid := uint32(iidA)
	recs, _, err := ctl.ListMappings(ctx, controller.MappingFilter{InstanceID: &iid, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Origin != mapping.OriginRegistered || recs[0].Site != "dc1" ||
		recs[0].XTR != "127.0.0.1" || len(recs[0].Locators) != 2 || recs[0].NoProxy {
		t.Fatalf("stored mappings: %+v", recs)
	}
	if recs[0].Version != 1 {
		t.Errorf("refresh wrote the mapping again: version %d", recs[0].Version)
	}
	cases := []struct {
		name, eid string
		iid       uint32
		ecm       bool
		want      string // EID prefix of the answer
		locs      int
		ttl       uint32
		act       packet.Action
	}{
		{"host in prefix", "10.1.0.7", iidA, false, "10.1.0.0/24", 2, 1440, packet.ActionNoAction},
		{"host in prefix ecm", "10.1.0.7", iidA, true, "10.1.0.0/24", 2, 1440, packet.ActionNoAction},
		{"outside every eid", "10.9.1.1", iidA, false, "10.8.0.0/13", 0, 15, packet.ActionNativelyForward},
		{"next to the eid", "10.1.1.1", iidA, true, "10.1.1.0/24", 0, 15, packet.ActionNativelyForward},
		{"other instance", "10.1.0.7", iidB, false, "0.0.0.0/0", 0, 15, packet.ActionNativelyForward},
		{"unknown mac", "02:00:00:00:00:01", iidA, false, "02:00:00:00:00:01/48", 0, 15, packet.ActionNativelyForward},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := client.Lig(ctx, client.LigOptions{MR: s.Addr().String(), IID: c.iid, EID: c.eid, ECM: c.ecm})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Records) != 1 {
				t.Fatalf("records: %+v", res.Records)
			}
			r := res.Records[0]
			got := strings.TrimPrefix(r.EID.String(), "["+strconv.Itoa(int(c.iid))+"]")
			if got != c.want || len(r.Locators) != c.locs || r.TTL != c.ttl || r.Action != c.act || r.Authoritative != (c.locs == 0) {
				t.Fatalf("answer %s ttl %d act %v locs %d, want %s ttl %d act %v locs %d",
					r.EID, r.TTL, r.Action, len(r.Locators), c.want, c.ttl, c.act, c.locs)
			}
			if c.iid != 0 && (!r.EID.Addr.HasIID || r.EID.Addr.IID != c.iid) {
				t.Errorf("answer EID lost the instance-id: %s", r.EID)
			}
			var sb strings.Builder
			res.Format(&sb, c.eid)
			if !strings.Contains(sb.String(), c.want) {
				t.Errorf("lig output lacks %s:\n%s", c.want, sb.String())
			}
		})
	}
}
