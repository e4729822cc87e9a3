package openflow

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// probeFrame is an Ethernet frame with a local experimental EtherType.
func probeFrame(payload string) []byte {
	f := append([]byte{}, macB[:]...)
	f = append(f, macA[:]...)
	f = append(f, 0x88, 0xb5)
	return append(f, payload...)
}

func waitPacketIn(t *testing.T, ts *testServer) PacketIn {
	t.Helper()
	select {
	case p := <-ts.packetIns:
		return p
	case <-time.After(waitBound):
		t.Fatal("no packet-in")
		return PacketIn{}
	}
}

func TestOVSPacketInOut(t *testing.T) {
	b := startBridge(t, "pkt", 0x6)
	ts := startServer(t, "")
	b.controller(t, ts.addr)
	sw := ts.waitSwitch(t)
	punt := Flow{Table: 0, Priority: 1000, Cookie: StageCookie(9), Match: Match{EthType(0x88b5)},
		Actions: []Action{Controller{Reason: ReasonAction, MaxLen: 0}}}
	if _, err := sw.Sync(ctxT(t), []Flow{punt}, nil); err != nil {
		t.Fatal(err)
	}
	// Our packet-out runs through the table and comes back as a packet-in.
	frame := probeFrame("l2lisp packet-out probe")
	if err := sw.PacketOut(ctxT(t), 0, []Action{Output{Port: PortTable}}, frame); err != nil {
		t.Fatal(err)
	}
	p := waitPacketIn(t, ts)
	if !bytes.Equal(p.Data, frame) || p.Reason != ReasonAction || p.Table != 0 ||
		p.Cookie&^CookieHashMask != StageCookie(9) || p.InPort != PortController {
		t.Errorf("packet-in %+v", p)
	}
	// A frame injected with ovs-ofctl takes the same path.
	frame2 := probeFrame("l2lisp ovs-ofctl probe")
	b.ofctl(t, "packet-out", b.name, "in_port=controller,packet="+hex.EncodeToString(frame2)+",actions=table")
	if p := waitPacketIn(t, ts); !bytes.Equal(p.Data, frame2) {
		t.Errorf("injected packet-in data %x", p.Data)
	}
	mustContain(t, b.ofctl(t, "dump-flows", b.name), "n_packets=2")
}

func TestOVSFlowRemoved(t *testing.T) {
	b := startBridge(t, "rem", 0x7)
	ts := startServer(t, "")
	b.controller(t, ts.addr)
	sw := ts.waitSwitch(t)
	learned := Flow{Table: 4, Priority: 100, Cookie: StageCookie(5), Match: Match{EthDst(macA)},
		IdleTimeout: 1, NotifyRemoval: true, Actions: []Action{Output{Port: 1}}}
	static := Flow{Table: 4, Priority: 1, Cookie: StageCookie(5)}
	if _, err := sw.Sync(ctxT(t), []Flow{learned, static}, nil); err != nil {
		t.Fatal(err)
	}
	var fr FlowRemoved
	select {
	case fr = <-ts.removed:
	case <-time.After(waitBound):
		t.Fatal("no flow-removed")
	}
	if fr.Reason != RemovedIdleTimeout || fr.Flow.Table != 4 || fr.Flow.Priority != 100 ||
		fr.Flow.IdleTimeout != 1 || flowKey(4, 100, fr.Flow.Match) != flowKey(4, 100, learned.Match) {
		t.Errorf("flow-removed %+v", fr)
	}
	// The event is delivered after the installed copy was updated.
	if sw.FlowCount() != 1 {
		t.Errorf("flow count %d after removal", sw.FlowCount())
	}
	// Still desired: the next Sync puts it back.
	if res, err := sw.Sync(ctxT(t), []Flow{learned, static}, nil); err != nil || res != (SyncResult{Added: 1}) {
		t.Errorf("resync %+v %v", res, err)
	}
}

func TestOVSSyncError(t *testing.T) {
	b := startBridge(t, "err", 0x8)
	ts := startServer(t, "")
	b.controller(t, ts.addr)
	sw := ts.waitSwitch(t)
	good := Flow{Table: 0, Priority: 1, Actions: []Action{Output{Port: 1}}}
	bad := Flow{Table: 0, Priority: 2, Actions: []Action{Group{ID: 99}}} // no such group
	res, err := sw.Sync(ctxT(t), []Flow{good, bad}, nil)
	var oe *ofp13.Error
	if !errors.As(err, &oe) || oe.Type != ofp13.ErrBadAction {
		t.Fatalf("sync with a missing group: %+v, %v", res, err)
	}
	if sw.FlowCount() != 1 {
		t.Errorf("flow count %d, want only the accepted flow", sw.FlowCount())
	}
	if res, err := sw.Sync(ctxT(t), []Flow{good}, nil); err != nil || res != (SyncResult{}) {
		t.Errorf("sync without the bad flow %+v %v", res, err)
	}
	_ = b
}
