package openflow

import (
	"testing"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

func TestSmokeModify(t *testing.T) {
	b := startBridge(t, "smk2", 0xabd)
	ts := startServer(t, "")
	b.controller(t, ts.addr)
	sw := ts.waitSwitch(t)
	f := Flow{Table: 1, Priority: 100, Cookie: StageCookie(1), Match: Match{EthDst(mac("02:00:00:00:00:02"))}, Actions: []Action{Output{Port: 10}}}
	if _, err := sw.Sync(ctxT(t), []Flow{f}, nil); err != nil {
		t.Fatal(err)
	}
	t.Log(b.ofctl(t, "dump-flows", b.name))
	p := f.prepDebug(t)
	fm := *p.add
	fm.Command = ofp13.FlowModifyStrict
	fm.Cookie = 0x4c32000000000077
	fm.IdleTimeout = 99
	fm.Instructions = nil
	t.Log(sw.conn().sendChecked(ctxT(t), &fm))
	t.Log(b.ofctl(t, "dump-flows", b.name))
}
