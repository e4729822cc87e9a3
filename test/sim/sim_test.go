package sim

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

const bound = 10 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	t.Cleanup(cancel)
	return ctx
}

// startServer runs the real OpenFlow server on a loopback port.
func startServer(t *testing.T) (*openflow.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := openflow.NewServer(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv, ln.Addr().String()
}

func waitSwitch(t *testing.T, srv *openflow.Server, dpid uint64) *openflow.Switch {
	t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if sw, ok := srv.Switch(dpid); ok && sw.Connected() {
			return sw
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("switch %d never attached", dpid)
	return nil
}

func mac(i int) [6]byte { return [6]byte{0x02, 0, 0, 0, byte(i >> 8), byte(i)} }

func l2Flows(n int) []openflow.Flow {
	flows := []openflow.Flow{{Table: 0, Priority: 0, Cookie: openflow.StageCookie(1)}}
	for i := 0; i < n; i++ {
		flows = append(flows, openflow.Flow{Table: 30, Priority: 100, Cookie: openflow.StageCookie(4),
			Match:   openflow.Match{openflow.Metadata(4100, 0xffffff), openflow.EthDst(mac(i))},
			Actions: []openflow.Action{openflow.Group{ID: openflow.GroupOwnedBase + 7}}})
	}
	return flows
}

var flood = []openflow.GroupEntry{{ID: openflow.GroupOwnedBase + 7, Type: openflow.GroupAll,
	Buckets: []openflow.Bucket{{Actions: []openflow.Action{openflow.Output{Port: 100}}}}}}

// TestSyncAgainstRealServer drives the sim with the controller's own switch
// sync: the first Sync reads the (empty) tables, adds everything; a second
// Sync on a new server connection reads back what the sim holds, in several
// multipart parts, and must find nothing to change; a third deletes.
func TestSyncAgainstRealServer(t *testing.T) {
	srv, addr := startServer(t)
	var mu sync.Mutex
	arrived := map[[6]byte]time.Time{}
	s, err := Dial(ctxT(t), addr, Options{DPID: 42, OnFlowMod: func(fm *ofp13.FlowMod, at time.Time) {
		if m := EthDst(fm.Match); m != ([6]byte{}) && fm.Command == ofp13.FlowAdd {
			mu.Lock()
			arrived[m] = at
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sw := waitSwitch(t, srv, 42)
	const n = 300 // several multipart parts
	res, err := sw.Sync(ctxT(t), l2Flows(n), flood)
	if err != nil || res.Added != n+1 || res.GroupsChanged != 1 {
		t.Fatalf("first sync: %+v %v", res, err)
	}
	if s.FlowCount() != n+1 || len(s.Groups()) != 1 || s.HasEthDst(mac(5)) != 1 {
		t.Fatalf("sim holds %d flows, %d groups", s.FlowCount(), len(s.Groups()))
	}
	mu.Lock()
	if len(arrived) != n {
		t.Errorf("hook saw %d eth_dst adds, want %d", len(arrived), n)
	}
	mu.Unlock()

	// Reconnect the same table under a new connection: the server reads state.
	s2 := reattach(t, srv, s, addr)
	defer s2.Close()
	sw = waitSwitch(t, srv, 42)
	before := s2.FlowMods()
	if res, err := sw.Sync(ctxT(t), l2Flows(n), flood); err != nil || res != (openflow.SyncResult{}) {
		t.Fatalf("resync over a read-back table changed things: %+v %v", res, err)
	}
	if s2.FlowMods() != before {
		t.Errorf("resync sent %d flow-mods", s2.FlowMods()-before)
	}
	if res, err := sw.Sync(ctxT(t), l2Flows(10), nil); err != nil || res.Deleted != n-10 || res.GroupsChanged != 1 {
		t.Fatalf("shrinking sync: %+v %v", res, err)
	}
	if s2.FlowCount() != 11 || len(s2.Groups()) != 0 || s2.HasEthDst(mac(200)) != 0 {
		t.Errorf("after deletes: %d flows, %d groups", s2.FlowCount(), len(s2.Groups()))
	}
}

// reattach closes s and dials again with the same datapath id and table.
func reattach(t *testing.T, srv *openflow.Server, s *Switch, addr string) *Switch {
	t.Helper()
	_ = s.Close()
	// The server turns a second connection of a datapath-id away while it
	// still holds the first (a real switch would dial again): wait until it
	// has let the closed one go.
	deadline := time.Now().Add(bound)
	for sw, ok := srv.Switch(s.opt.DPID); ok && sw.Connected(); sw, ok = srv.Switch(s.opt.DPID) {
		if time.Now().After(deadline) {
			t.Fatal("the server still holds the closed connection")
		}
		time.Sleep(5 * time.Millisecond)
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s2 := New(nc, s.opt)
	s.tab.mu.Lock()
	s2.tab.mu.Lock()
	s2.tab.flows, s2.tab.groups = s.tab.flows, s.tab.groups
	s2.tab.mu.Unlock()
	s.tab.mu.Unlock()
	select {
	case <-s2.handshake:
	case <-time.After(bound):
		t.Fatal("no handshake on reconnection")
	}
	return s2
}

// peer is the controller side of a net.Pipe, spoken by hand.
type peer struct {
	t  *testing.T
	nc net.Conn
}

func (p peer) send(xid uint32, m ofp13.Message) {
	b, err := ofp13.Marshal(xid, m)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatal(err)
	}
}

func (p peer) recv() (ofp13.Header, ofp13.Message) {
	_ = p.nc.SetReadDeadline(time.Now().Add(bound))
	b, err := ofp13.ReadMessage(p.nc)
	if err != nil {
		p.t.Fatal(err)
	}
	h, m, err := ofp13.Unmarshal(b)
	if err != nil {
		p.t.Fatal(err)
	}
	return h, m
}

func oxmEthDst(m [6]byte) ofp13.OXM {
	return ofp13.OXM{Class: ofp13.ClassBasic, Field: fieldEthDst, Value: m[:]}
}

// TestProtocolByHand checks the replies the server-side test does not
// reach: echo, features, errors for bad group-mods, non-strict delete and
// cookie-filtered flow stats.
func TestProtocolByHand(t *testing.T) {
	a, b := net.Pipe()
	s := New(b, Options{DPID: 0xabc})
	defer s.Close()
	p := peer{t, a}
	if _, m := p.recv(); m.MsgType() != ofp13.TypeHello {
		t.Fatalf("first message %T", m)
	}
	p.send(2, &ofp13.FeaturesRequest{})
	if h, m := p.recv(); h.XID != 2 || m.(*ofp13.FeaturesReply).DatapathID != 0xabc {
		t.Fatalf("features %+v %+v", h, m)
	}
	p.send(3, &ofp13.EchoRequest{Data: []byte("x")})
	if _, m := p.recv(); string(m.(*ofp13.EchoReply).Data) != "x" {
		t.Fatal("echo data lost")
	}
	for i, ck := range []uint64{0x10, 0x20, 0x21} {
		p.send(10, &ofp13.FlowMod{Command: ofp13.FlowAdd, Table: 30, Priority: 100, Cookie: ck,
			BufferID: ofp13.NoBuffer, Match: []ofp13.OXM{oxmEthDst(mac(i))}})
	}
	p.send(11, &ofp13.GroupMod{Command: ofp13.GroupModify, GroupID: 9})
	if h, m := p.recv(); h.XID != 11 || m.(*ofp13.Error).Code != ofp13.CodeUnknownGroup {
		t.Fatalf("modify of a missing group: %+v %+v", h, m)
	}
	p.send(12, &ofp13.FlowStatsRequest{Table: ofp13.TableAll, Cookie: 0x20, CookieMask: 0xf0})
	if _, m := p.recv(); len(m.(*ofp13.FlowStatsReply).Stats) != 2 {
		t.Fatalf("cookie filter: %+v", m)
	}
	// Non-strict delete of everything in table 30 with cookie 0x2?.
	p.send(13, &ofp13.FlowMod{Command: ofp13.FlowDelete, Table: ofp13.TableAll, Cookie: 0x20, CookieMask: 0xf0,
		BufferID: ofp13.NoBuffer, OutPort: ofp13.PortAny, OutGroup: ofp13.GroupAny})
	p.send(14, &ofp13.BarrierRequest{})
	if h, m := p.recv(); h.XID != 14 || m.MsgType() != ofp13.TypeBarrierReply {
		t.Fatalf("barrier: %+v %T", h, m)
	}
	if s.FlowCount() != 1 || s.HasEthDst(mac(0)) != 1 {
		t.Fatalf("after delete: %+v", s.Flows())
	}
	p.send(15, &ofp13.RoleRequest{Role: ofp13.RoleEqual})
	if _, m := p.recv(); m.(*ofp13.RoleReply).Role != ofp13.RoleEqual {
		t.Fatal("role")
	}
	_ = a.Close()
	<-s.Done()
}

// TestTLSDial connects sims over mutual TLS to the real server admitting
// by certificate name: the xTR's certificate gets through the handshake;
// another xTR's, presenting this datapath-id, is refused before any
// configuration, and its punt never reaches OnPacketIn.
func TestTLSDial(t *testing.T) {
	ca := pkitest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := openflow.NewServer(nil)
	srv.Admit = openflow.AdmitByName(func(name string) (uint64, bool) {
		return map[string]uint64{"sw1": 1, "sw2": 2}[name], name == "sw1" || name == "sw2"
	})
	punts := make(chan openflow.PacketIn, 8)
	srv.OnPacketIn = func(_ *openflow.Switch, p openflow.PacketIn) { punts <- p }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, tls.NewListener(ln, ca.Material.MutualServer())) }()
	t.Cleanup(func() { cancel(); <-done })
	opts := func(name string) Options {
		cert, err := tls.LoadX509KeyPair(filepath.Join(ca.XTR(t, name), pki.BundleCert), filepath.Join(ca.XTR(t, name), pki.BundleKey))
		if err != nil {
			t.Fatal(err)
		}
		cfg := ca.ClientTLS()
		cfg.Certificates = []tls.Certificate{cert}
		return Options{DPID: 1, TLS: cfg, Punt: &ofp13.PacketIn{BufferID: ofp13.NoBuffer, Table: 40, Data: make([]byte, 60)}}
	}
	s, err := Dial(ctxT(t), ln.Addr().String(), opts("sw1"))
	if err != nil {
		t.Fatalf("sw1 with its own certificate: %v", err)
	}
	defer s.Close()
	waitSwitch(t, srv, 1)
	bad, err := Dial(ctxT(t), ln.Addr().String(), opts("sw2"))
	if err == nil {
		bad.Close()
		t.Fatal("sw2's certificate admitted with sw1's datapath-id")
	}
	// sw1 punts twice (after features and after the role reply); sw2 none that arrive.
	for range 2 {
		<-punts
	}
	select {
	case p := <-punts:
		t.Errorf("third packet-in: %+v", p)
	case <-time.After(200 * time.Millisecond):
	}
}
