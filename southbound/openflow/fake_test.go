package openflow

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// fakeSwitch speaks just enough OpenFlow 1.3 to exercise the controller
// without OVS: it answers the handshake, splits flow stats over two
// multipart parts, and rejects flow-mods for table 9.
type fakeSwitch struct {
	dpid     uint64
	stats    []ofp13.FlowStats
	flowMods atomic.Int32
	nc       net.Conn
	done     chan struct{}

	tls    *tls.Config     // dial with TLS when set
	punt   *ofp13.PacketIn // sent after the features and the role reply, as a hostile switch would
	silent atomic.Bool     // stop answering (a hung or vanished switch whose socket stays open)
	mu     sync.Mutex
	got    map[uint8]int // messages received by type
}

// received counts the messages of type typ the switch got.
func (fs *fakeSwitch) received(typ uint8) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.got[typ]
}

func dialFake(t *testing.T, addr string, fs *fakeSwitch) {
	t.Helper()
	var nc net.Conn
	var err error
	if fs.tls != nil {
		nc, err = tls.Dial("tcp", addr, fs.tls)
	} else {
		nc, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	fs.nc, fs.done = nc, make(chan struct{})
	t.Cleanup(func() { _ = nc.Close(); <-fs.done })
	go fs.run()
}

func (fs *fakeSwitch) send(xid uint32, m ofp13.Message) {
	b, err := ofp13.Marshal(xid, m)
	if err == nil {
		_, _ = fs.nc.Write(b)
	}
}

func (fs *fakeSwitch) run() {
	defer close(fs.done)
	fs.send(1, &ofp13.Hello{Bitmap: 1<<4 | 1<<1})
	for {
		b, err := ofp13.ReadMessage(fs.nc)
		if err != nil {
			return
		}
		h, m, err := ofp13.Unmarshal(b)
		if err != nil {
			return
		}
		fs.mu.Lock()
		if fs.got == nil {
			fs.got = map[uint8]int{}
		}
		fs.got[h.Type]++
		fs.mu.Unlock()
		if fs.silent.Load() {
			continue
		}
		switch m := m.(type) {
		case *ofp13.FeaturesRequest:
			fs.send(h.XID, &ofp13.FeaturesReply{DatapathID: fs.dpid})
			if fs.punt != nil {
				fs.send(0, fs.punt)
			}
		case *ofp13.RoleRequest:
			fs.send(h.XID, &ofp13.RoleReply{Role: m.Role, GenerationID: m.GenerationID})
			if fs.punt != nil {
				fs.send(0, fs.punt)
			}
		case *ofp13.FlowStatsRequest:
			half := len(fs.stats) / 2
			fs.send(h.XID, &ofp13.FlowStatsReply{Flags: ofp13.MultipartMore, Stats: fs.stats[:half]})
			fs.send(h.XID, &ofp13.FlowStatsReply{Stats: fs.stats[half:]})
		case *ofp13.GroupDescRequest:
			fs.send(h.XID, &ofp13.GroupDescReply{})
		case *ofp13.FlowMod:
			fs.flowMods.Add(1)
			if m.Table == 9 {
				fs.send(h.XID, &ofp13.Error{Type: ofp13.ErrFlowModFailed, Code: 1, Data: b[:min(64, len(b))]})
			}
		case *ofp13.BarrierRequest:
			fs.send(h.XID, &ofp13.BarrierReply{})
		case *ofp13.EchoRequest:
			fs.send(h.XID, &ofp13.EchoReply{Data: m.Data})
		}
	}
}

func TestFakeSwitchMultipartAndErrors(t *testing.T) {
	disconnected := make(chan *Switch, 4)
	ts := startServer(t, "", func(s *Server) { s.OnDisconnect = func(sw *Switch) { disconnected <- sw } })
	flows := []Flow{
		{Table: 0, Priority: 1, Cookie: StageCookie(1), Match: Match{InPort(1)}, Goto: 1},
		{Table: 1, Priority: 2, Cookie: StageCookie(1), Match: Match{EthDst(macA)}, Actions: []Action{Output{Port: 2}}},
		{Table: 1, Priority: 3, Cookie: StageCookie(1), Match: Match{EthDst(macB)}, Actions: []Action{Output{Port: 3}}},
	}
	fs := &fakeSwitch{dpid: 42}
	for _, f := range flows {
		p, err := prepare(f)
		if err != nil {
			t.Fatal(err)
		}
		insts, _ := instructions(f)
		fs.stats = append(fs.stats, ofp13.FlowStats{Table: f.Table, Priority: f.Priority, Cookie: p.cookie,
			Match: p.add.Match, Instructions: insts})
	}
	dialFake(t, ts.addr, fs)
	sw := ts.waitSwitch(t)
	res, err := sw.Sync(ctxT(t), flows, nil)
	if err != nil || res != (SyncResult{}) || fs.flowMods.Load() != 0 || sw.FlowCount() != 3 {
		t.Fatalf("sync over a two-part reply: %+v %v, %d flow-mods, count %d", res, err, fs.flowMods.Load(), sw.FlowCount())
	}
	bad := Flow{Table: 9, Priority: 1}
	if _, err := sw.Sync(ctxT(t), append(flows, bad), nil); err == nil {
		t.Fatal("switch error not returned")
	}
	if sw.FlowCount() != 3 {
		t.Errorf("rejected flow counted: %d", sw.FlowCount())
	}

	// A second connection with the same dpid is refused; the first, which
	// answers the probe echo, stays.
	fs2 := &fakeSwitch{dpid: 42}
	dialFake(t, ts.addr, fs2)
	select {
	case <-fs2.done:
	case <-time.After(waitBound):
		t.Fatal("second connection not refused")
	}
	eventually(t, "probe of the connected switch", func() bool { return fs.received(ofp13.TypeEchoRequest) > 0 })
	if !sw.Connected() {
		t.Fatal("the connected switch was not kept")
	}
	// Once the first goes, the datapath-id is free again.
	_ = fs.nc.Close()
	select {
	case old := <-disconnected:
		if old != sw {
			t.Error("another switch disconnected")
		}
	case <-time.After(waitBound):
		t.Fatal("old connection not dropped")
	}
	fs3 := &fakeSwitch{dpid: 42}
	dialFake(t, ts.addr, fs3)
	if sw3 := ts.waitSwitch(t); sw3 != sw || !sw.Connected() || len(ts.srv.Switches()) != 1 {
		t.Fatal("new connection not attached to the same switch")
	}
	// The new connection starts from the switch's report: all three are missing.
	if res, err := sw.Sync(ctxT(t), flows, nil); err != nil || res.Added != 3 {
		t.Errorf("sync on the new connection %+v %v", res, err)
	}
}

// eventually waits until cond holds; waitBound only guards against a hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKeepaliveDropsSilentSwitch(t *testing.T) {
	gone := make(chan struct{}, 1)
	ts := startServer(t, "", func(s *Server) {
		s.EchoInterval = 20 * time.Millisecond
		s.OnDisconnect = func(*Switch) { gone <- struct{}{} }
	})
	// Handshake by hand, then go silent: no echo replies.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fs := &fakeSwitch{nc: nc}
	fs.send(1, &ofp13.Hello{})
	for i := 0; i < 4; i++ { // hello, features, set-config, role
		b, err := ofp13.ReadMessage(nc)
		if err != nil {
			t.Fatal(err)
		}
		h, m, _ := ofp13.Unmarshal(b)
		switch m.(type) {
		case *ofp13.FeaturesRequest:
			fs.send(h.XID, &ofp13.FeaturesReply{DatapathID: 7})
		case *ofp13.RoleRequest:
			fs.send(h.XID, &ofp13.RoleReply{Role: ofp13.RoleEqual})
		}
	}
	ts.waitSwitch(t)
	select {
	case <-gone:
	case <-time.After(waitBound):
		t.Fatal("silent switch kept")
	}
}
