package reconcile

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/frame/frametest"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

var tMAC = mapping.MAC{0x02, 0, 0, 0, 0, 0x01}

func TestPacketInLearns(t *testing.T) {
	c := benchSites(t, 3, 0)
	ctx := context.Background()
	p := &Punts{Ctl: c, Log: slog.New(slog.DiscardHandler)}
	pi := openflow.PacketIn{Table: pipeline.TablePunt, InPort: pipeline.FirstAccessOFPort,
		Data: frametest.ARP(1, tMAC, "198.51.100.3", "198.51.100.4", false)}
	res, err := p.PacketIn(ctx, "x002", pi, time.Now())
	if err != nil || res.Verdict != controller.VerdictLearn || !res.Bound || res.Record.Port != "p1" || res.Record.Site != "site002" {
		t.Fatalf("%+v %v", res, err)
	}
	pi.Table = pipeline.TableLearn
	if res, _ := p.PacketIn(ctx, "x002", pi, time.Now()); res.Verdict != "" {
		t.Errorf("packet-in of another table handled: %+v", res)
	}
	pi.Table, pi.InPort = pipeline.TablePunt, 4242
	if res, _ := p.PacketIn(ctx, "x002", pi, time.Now()); res.Verdict != "" {
		t.Errorf("packet-in of an unbound port handled: %+v", res)
	}
}

// TestFlowRemovedAges checks that only the idle timeout of a learned flow
// ages its host out; a removal of another table's flow or for another
// reason leaves it.
func TestFlowRemovedAges(t *testing.T) {
	c := benchSites(t, 2, 0)
	ctx := context.Background()
	if _, err := c.Learn(ctx, sight("x001", "p1", tMAC, "198.51.100.9")); err != nil {
		t.Fatal(err)
	}
	p := &Punts{Ctl: c, Log: slog.New(slog.DiscardHandler)}
	learned := openflow.Flow{Table: pipeline.TableLearn, Cookie: openflow.StageCookie(pipeline.StageLearn) | 0x1234,
		IdleTimeout: 300, Match: openflow.Match{openflow.InPort(pipeline.FirstAccessOFPort), openflow.EthSrc(tMAC)}}
	other := learned
	other.Table = pipeline.TableL2Forward
	for _, fr := range []openflow.FlowRemoved{
		{Reason: openflow.RemovedDelete, Flow: learned},
		{Reason: openflow.RemovedIdleTimeout, Flow: other},
	} {
		if aged, err := p.FlowRemoved(ctx, "x001", fr); err != nil || aged {
			t.Fatalf("aged on %+v: %v %v", fr, aged, err)
		}
	}
	fr := openflow.FlowRemoved{Reason: openflow.RemovedIdleTimeout, Flow: learned}
	if aged, err := p.FlowRemoved(ctx, "x001", fr); err != nil || !aged {
		t.Fatalf("flow-removed did not age: %v %v", aged, err)
	}
	eid, _ := mapping.ParseEID(4100, "198.51.100.9")
	if _, ok := c.Record(eid); ok {
		t.Error("binding survived its MAC")
	}
	if _, ok := c.Record(mapping.MACEID(4100, tMAC)); ok {
		t.Error("MAC survived")
	}
}
