package openflow

import "testing"

func TestSmoke(t *testing.T) {
	b := startBridge(t, "smoke", 0xabc)
	ts := startServer(t, "")
	b.controller(t, ts.addr)
	sw := ts.waitSwitch(t)
	t.Logf("dpid %x", sw.DPID())
	flows := []Flow{
		{Table: 0, Priority: 10, Cookie: StageCookie(1), Match: Match{InPort(10), TunnelID(0x1234), TunSrc(ip("192.0.2.9"))},
			WriteMeta: &MetadataWrite{0x1234, 0xffff}, Goto: 1},
		{Table: 1, Priority: 200, Cookie: StageCookie(2), Match: Match{EthType(0x0806), ArpOp(1), ArpTPA(ip("10.0.0.1"))},
			Actions: []Action{Move{Src: EthSrc(mac("00:00:00:00:00:00")), Dst: EthDst(mac("00:00:00:00:00:00")), NBits: 48},
				SetField{EthSrc(mac("02:00:00:00:00:01"))}, Output{Port: PortInPort}}},
		{Table: 1, Priority: 100, Match: Match{EthDst(mac("02:00:00:00:00:02"))},
			Actions: []Action{SetField{TunnelID(0x1234)}, SetField{TunDst(ip("192.0.2.2"))}, Output{Port: 10}, Controller{Reason: 0}, Controller{Reason: 1}}},
	}
	res, err := sw.Sync(ctxT(t), flows, []GroupEntry{{ID: 2, Type: GroupSelect, Buckets: []Bucket{{Weight: 30, Actions: []Action{Output{Port: 10}}}, {Weight: 70, Actions: []Action{Output{Port: 1}}}}},
		{ID: 1, Type: GroupAll, Buckets: []Bucket{{Actions: []Action{Output{Port: 10}}}}}})
	t.Logf("%+v %v", res, err)
	t.Log(b.ofctl(t, "dump-flows", b.name))
	t.Log(b.ofctl(t, "dump-groups", b.name))
	fm := *flows[2].prepDebug(t)
	_ = fm
	st, err := sw.DumpFlows(ctxT(t), 0, 0)
	for _, s := range st {
		t.Logf("%s cookie=%x", s.Flow, s.Cookie)
	}
	g, err := sw.DumpGroups(ctxT(t))
	t.Log(g, err)
}

func (f Flow) prepDebug(t *testing.T) *prepared {
	p, err := prepare(f)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}
