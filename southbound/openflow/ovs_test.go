package openflow

import (
	"bytes"
	"testing"
	"time"
)

func TestOVSHandshake(t *testing.T) {
	b := startBridge(t, "hs", 0x00000000000a1b2c)
	ts := startServer(t, "")
	b.controller(t, ts.addr)
	sw := ts.waitSwitch(t)
	if sw.DPID() != b.dpid || !sw.Connected() {
		t.Fatalf("dpid %016x connected %v, want %016x", sw.DPID(), sw.Connected(), b.dpid)
	}
	if got, ok := ts.srv.Switch(b.dpid); !ok || got != sw || len(ts.srv.Switches()) != 1 {
		t.Fatal("server does not list the switch")
	}
	ports, err := sw.Ports(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range ports {
		found = found || (p.Name == "lisp0" && p.Number == 10)
	}
	if !found {
		t.Errorf("lisp0 not among ports %+v", ports)
	}
	for _, r := range []Role{RoleMaster, RoleEqual} {
		got, err := sw.SetRole(ctxT(t), r, 7)
		if err != nil || got != r {
			t.Errorf("SetRole(%d) = %d, %v", r, got, err)
		}
	}
	ts.stop()
	if sw.Connected() {
		t.Error("switch still connected after Serve returned")
	}
}

var (
	macA = mac("02:00:00:00:00:0a")
	macB = mac("02:00:00:00:00:0b")
	macR = mac("02:00:00:00:00:fe")
)

// allFlows uses every match constructor and action type of the model.
func allFlows() []Flow {
	meta := &MetadataWrite{Value: 0x1234, Mask: 0xffff}
	return []Flow{
		{Table: 0, Priority: 100, Cookie: StageCookie(1), Match: Match{InPort(10), TunnelID(0x1234), TunSrc(ip("192.0.2.9"))},
			WriteMeta: meta, Goto: 1},
		{Table: 0, Priority: 90, Cookie: StageCookie(1), Match: Match{InPort(1), EthSrc(macA)}, WriteMeta: meta, Goto: 1},
		{Table: 0, Priority: 80, Cookie: StageCookie(1), Match: Match{TunSrc(ip("2001:db8::9"))}},
		{Table: 1, Priority: 200, Cookie: StageCookie(2),
			Match: Match{Metadata(0x1234, 0xffff), EthType(0x0806), ArpOp(1), ArpTPA(ip("10.0.0.1"))},
			Actions: []Action{
				Move{Src: EthSrc(macA), Dst: EthDst(macA), NBits: 48},
				SetField{Field: EthSrc(macR)},
				SetField{Field: ArpOp(2)},
				Move{Src: OXM{Class: ClassOpenFlowBasic, Field: fieldArpSHA}, Dst: OXM{Class: ClassOpenFlowBasic, Field: fieldArpTHA}, NBits: 48},
				SetField{Field: ArpSHA(macR)},
				Move{Src: ArpSPA(ip("0.0.0.0")), Dst: ArpTPA(ip("0.0.0.0")), NBits: 32},
				SetField{Field: ArpSPA(ip("10.0.0.1"))},
				Output{Port: PortInPort},
			}},
		{Table: 1, Priority: 100, Cookie: StageCookie(2), Match: Match{Metadata(0x1234, 0xffff), EthDst(macB)},
			Actions: []Action{SetField{Field: TunnelID(0x1234)}, SetField{Field: TunDst(ip("192.0.2.2"))}, Output{Port: 10}}},
		{Table: 1, Priority: 99, Cookie: StageCookie(2), Match: Match{EthDst(mac("02:00:00:00:00:0c"))},
			Actions: []Action{SetField{Field: TunDst(ip("2001:db8::2"))}, Output{Port: 10}}},
		{Table: 1, Priority: 50, Cookie: StageCookie(2), Match: Match{EthDstMasked(mac("01:00:00:00:00:00"), mac("01:00:00:00:00:00"))},
			Actions: []Action{Group{ID: GroupOwnedBase + 1}}},
		{Table: 1, Priority: 40, Cookie: StageCookie(2), Match: Match{EthType(0x0800)}, Actions: []Action{Group{ID: GroupOwnedBase + 2}}},
		{Table: 2, Priority: 10, Cookie: StageCookie(3),
			Match:   Match{EthType(0x86dd), IPProto(58), ICMPv6Type(135), NDTarget(ip("fd00::1"))},
			Actions: []Action{Controller{Reason: ReasonNoMatch}}},
		{Table: 2, Priority: 20, Cookie: StageCookie(3), Match: Match{EthType(0x0806), ArpSPA(ip("10.0.0.2")), ArpSHA(macA)},
			Actions: []Action{Output{Port: PortController}}},
		{Table: 2, Priority: 30, Cookie: StageCookie(3), Match: Match{EthType(0x0806), ArpOp(2)}, Meter: 1,
			Actions: []Action{Output{Port: PortController, MaxLen: 128}}},
		{Table: 3, Priority: 5, Cookie: StageCookie(4), Match: Match{Reg(0, 7)}, Actions: []Action{Group{ID: GroupOwnedBase + 3}}},
		{Table: 4, Priority: 100, Cookie: StageCookie(5), Match: Match{EthDst(macA)}, IdleTimeout: 300,
			NotifyRemoval: true, Actions: []Action{Output{Port: 1}}},
	}
}

func allGroups() []GroupEntry {
	tun := func(dst string) []Action {
		return []Action{SetField{Field: TunnelID(5)}, SetField{Field: TunDst(ip(dst))}, Output{Port: 10}}
	}
	return []GroupEntry{
		{ID: GroupOwnedBase + 1, Type: GroupAll, Buckets: []Bucket{{Actions: []Action{Output{Port: 1}}}, {Actions: tun("192.0.2.3")}}},
		{ID: GroupOwnedBase + 2, Type: GroupSelect, Buckets: []Bucket{{Weight: 30, Actions: tun("192.0.2.4")}, {Weight: 70, Actions: tun("192.0.2.5")}}},
		{ID: GroupOwnedBase + 3, Type: GroupIndirect, Buckets: []Bucket{{Actions: []Action{Output{Port: 2}}}}},
	}
}

// reconnect stops the server and starts a new one on the same address;
// OVS reconnects by itself.
func reconnect(t *testing.T, ts *testServer) (*testServer, *Switch) {
	t.Helper()
	ts.stop()
	ts2 := startServer(t, ts.addr)
	return ts2, ts2.waitSwitch(t)
}

func TestOVSSyncReconcile(t *testing.T) {
	b := startBridge(t, "sync", 0x5)
	ts := startServer(t, "")
	b.controller(t, ts.addr)
	sw := ts.waitSwitch(t)
	if err := sw.SetMeter(ctxT(t), MeterEntry{ID: 1, Rate: 100, Burst: 10}); err != nil {
		t.Fatal(err)
	}
	if err := sw.SetMeter(ctxT(t), MeterEntry{ID: 1, Rate: 200, Burst: 20}); err != nil {
		t.Fatalf("update meter: %v", err)
	}
	// A group somebody else put on the bridge, outside our id range.
	b.ofctl(t, "add-group", b.name, "group_id=1,type=all,bucket=actions=output:1")
	flows, groups := allFlows(), allGroups()
	res, err := sw.Sync(ctxT(t), flows, groups)
	if err != nil {
		t.Fatal(err)
	}
	if res != (SyncResult{Added: len(flows), GroupsChanged: len(groups)}) || sw.FlowCount() != len(flows) {
		t.Fatalf("first sync %+v, flow count %d", res, sw.FlowCount())
	}
	checkDump(t, b, flows)
	checkDecoded(t, sw, flows)

	// Nothing changed: no flow-mod at all.
	sent := sw.FlowModsSent()
	if res, err := sw.Sync(ctxT(t), flows, groups); err != nil || res != (SyncResult{}) || sw.FlowModsSent() != sent {
		t.Fatalf("idle sync %+v %v, flow-mods %d -> %d", res, err, sent, sw.FlowModsSent())
	}

	// (c) After a reconnect the switch's flows are read back, still nothing to send.
	before := durations(t, sw)
	ts, sw = reconnect(t, ts)
	if res, err := sw.Sync(ctxT(t), flows, groups); err != nil || res != (SyncResult{}) || sw.FlowModsSent() != 0 || sw.GroupModsSent() != 0 {
		t.Fatalf("sync after reconnect %+v %v, flow-mods %d group-mods %d", res, err, sw.FlowModsSent(), sw.GroupModsSent())
	}
	after := durations(t, sw)
	if len(after) != len(before) {
		t.Fatalf("flows before %d after %d", len(before), len(after))
	}
	for c, d := range before {
		if after[c] < d {
			t.Errorf("cookie %#x duration went from %v to %v: flow was replaced", c, d, after[c])
		}
	}

	// (d) A flow deleted by hand comes back, a stray flow with our cookie
	// goes, a flow with someone else's cookie stays.
	b.ofctl(t, "--strict", "del-flows", b.name, "table=3,priority=5,reg0=0x7")
	b.ofctl(t, "add-flow", b.name, "table=5,priority=1,cookie=0x4c32000000000001,actions=drop")
	b.ofctl(t, "add-flow", b.name, "table=5,priority=2,cookie=0x1234,actions=drop")
	_, sw = reconnect(t, ts)
	res, err = sw.Sync(ctxT(t), flows, groups)
	if err != nil || res != (SyncResult{Added: 1, Deleted: 1}) {
		t.Fatalf("repair sync %+v %v", res, err)
	}
	dump := b.ofctl(t, "dump-flows", b.name)
	mustContain(t, dump, "priority=5,reg0=0x7", "cookie=0x1234,")
	if bytes.Contains([]byte(dump), []byte("cookie=0x4c32000000000001")) {
		t.Errorf("stray flow with our cookie survived:\n%s", dump)
	}

	checkRewrites(t, b, sw, flows, groups)
	mustContain(t, b.ofctl(t, "dump-groups", b.name), "group_id=1,type=all")
}

// checkRewrites: a changed flow is rewritten in place; dropped flows and a
// dropped group go; a changed group is modified; a changed timeout takes.
func checkRewrites(t *testing.T, b *ovsBridge, sw *Switch, flows []Flow, groups []GroupEntry) {
	flows[4].Actions = []Action{SetField{Field: TunnelID(0x1234)}, SetField{Field: TunDst(ip("192.0.2.99"))}, Output{Port: 10}}
	groups[1].Buckets[0].Weight = 50
	res, err := sw.Sync(ctxT(t), flows[:len(flows)-2], groups[:2])
	if err != nil || res != (SyncResult{Modified: 1, Deleted: 2, GroupsChanged: 2}) || sw.FlowCount() != len(flows)-2 {
		t.Fatalf("shrinking sync %+v %v, flow count %d", res, err, sw.FlowCount())
	}
	flows[12].IdleTimeout = 600
	res, err = sw.Sync(ctxT(t), flows, groups)
	if err != nil || res != (SyncResult{Added: 2, GroupsChanged: 1}) {
		t.Fatalf("growing sync %+v %v", res, err)
	}
	dump := b.ofctl(t, "dump-flows", b.name)
	mustContain(t, dump, "set_field:192.0.2.99->tun_dst", "idle_timeout=600")
	mustContain(t, b.ofctl(t, "dump-groups", b.name), "bucket=weight:50", "group_id=1073741827,type=indirect")
	checkDecoded(t, sw, flows)

	// A timeout changed on an installed flow: modify cannot change it in
	// OpenFlow 1.3, so the rewrite must still take.
	flows[12].IdleTimeout = 700
	if res, err = sw.Sync(ctxT(t), flows, groups); err != nil || res != (SyncResult{Modified: 1}) {
		t.Fatalf("timeout sync %+v %v", res, err)
	}
	mustContain(t, b.ofctl(t, "dump-flows", b.name), "idle_timeout=700")
	checkDecoded(t, sw, flows)
}

// checkDump checks ovs-ofctl's view of the synced flows and groups.
func checkDump(t *testing.T, b *ovsBridge, flows []Flow) {
	t.Helper()
	dump := b.ofctl(t, "dump-flows", b.name)
	if n := bytes.Count([]byte(dump), []byte("cookie=0x4c32")); n != len(flows) {
		t.Errorf("%d flows with our cookie, want %d:\n%s", n, len(flows), dump)
	}
	mustContain(t, dump,
		"tun_id=0x1234,tun_src=192.0.2.9,in_port=10 actions=write_metadata:0x1234/0xffff,goto_table:1",
		"tun_ipv6_src=2001:db8::9 actions=drop",
		"move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]",
		"move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]",
		"move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[]",
		"set_field:02:00:00:00:00:fe->eth_src", "set_field:2->arp_op", "set_field:10.0.0.1->arp_spa",
		"arp_tpa=10.0.0.1,arp_op=1", "IN_PORT",
		"set_field:0x1234->tun_id,set_field:192.0.2.2->tun_dst,output:10",
		"set_field:2001:db8::2->tun_ipv6_dst",
		"dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=group:1073741825",
		"ip actions=group:1073741826",
		"nd_target=fd00::1", "controller(reason=no_match)",
		"arp_spa=10.0.0.2,arp_sha=02:00:00:00:00:0a actions=CONTROLLER:65535",
		"actions=meter:1,CONTROLLER:128",
		"reg0=0x7 actions=group:1073741827",
		"idle_timeout=300", "send_flow_rem",
	)
	groups := b.ofctl(t, "dump-groups", b.name)
	mustContain(t, groups,
		"group_id=1073741825,type=all,bucket=actions=output:1,bucket=actions=set_field:0x5->tun_id,set_field:192.0.2.3->tun_dst,output:10",
		"group_id=1073741826,type=select,bucket=weight:30,", "bucket=weight:70,actions=set_field:0x5->tun_id,set_field:192.0.2.5->tun_dst",
		"group_id=1073741827,type=indirect,bucket=actions=output:2")
	mustContain(t, b.ofctl(t, "dump-meters", b.name), "meter=1 pktps burst", "rate=200 burst_size=20")
}

// checkDecoded reads the flows back through our own decoder and compares
// them with what was desired, field order regardless.
func checkDecoded(t *testing.T, sw *Switch, flows []Flow) {
	t.Helper()
	stats, err := sw.DumpFlows(ctxT(t), CookieOwner, CookieOwnerMask)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]FlowStats{}
	for _, s := range stats {
		got[flowKey(s.Table, s.Priority, s.Match)] = s
	}
	for _, f := range flows {
		p, err := prepare(f)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := got[p.key]
		switch {
		case !ok:
			t.Errorf("flow %s not read back", f)
		case s.Cookie != p.cookie || s.IdleTimeout != f.IdleTimeout || s.NotifyRemoval != f.NotifyRemoval ||
			s.Goto != f.Goto || s.Meter != f.Meter || len(s.Actions) != len(f.Actions):
			t.Errorf("flow %s read back as %s cookie %#x idle %d", f, s.Flow, s.Cookie, s.IdleTimeout)
		}
	}
}

func durations(t *testing.T, sw *Switch) map[uint64]time.Duration {
	t.Helper()
	stats, err := sw.DumpFlows(ctxT(t), CookieOwner, CookieOwnerMask)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]time.Duration{}
	for _, s := range stats {
		out[s.Cookie] = time.Duration(s.DurationSec)*time.Second + time.Duration(s.DurationNsec)
	}
	return out
}
