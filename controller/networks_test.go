package controller_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/store/storetest"
)

func strp(s string) *string { return &s }

func TestNetworkEncapsulation(t *testing.T) {
	ctl := newController(t, filepath.Join(t.TempDir(), "l2lisp.db"))
	ctx := context.Background()
	blue, err := ctl.CreateNetwork(ctx, 4100, "blue")
	if err != nil || blue.Encapsulation != "lisp-gpe" {
		t.Fatalf("default network = %+v, %v; want lisp-gpe", blue, err)
	}
	red, err := ctl.AddNetwork(ctx, controller.NetworkInput{InstanceID: 4200, Name: "red", Encapsulation: "vxlan"})
	if err != nil || red.Encapsulation != "vxlan" {
		t.Fatalf("vxlan network = %+v, %v", red, err)
	}
	for _, bad := range []string{"lisp", "VXLAN", "geneve", " "} {
		_, err := ctl.AddNetwork(ctx, controller.NetworkInput{InstanceID: 4300, Name: "green", Encapsulation: bad})
		wantKind(t, "create with "+bad, err, controller.KindInvalid, "encapsulation")
		_, err = ctl.UpdateNetwork(ctx, 4100, controller.NetworkChange{Encapsulation: &bad})
		wantKind(t, "update to "+bad, err, controller.KindInvalid, "encapsulation")
	}
	_, err = ctl.UpdateNetwork(ctx, 4999, controller.NetworkChange{Encapsulation: strp("vxlan")})
	wantKind(t, "update a missing network", err, controller.KindNotFound, "instance_id")

	// Nothing to change records nothing.
	pos := ctl.LastEventID()
	for _, ch := range []controller.NetworkChange{{}, {Encapsulation: strp("lisp-gpe")}} {
		n, err := ctl.UpdateNetwork(ctx, 4100, ch)
		if err != nil || n.Encapsulation != "lisp-gpe" || n.Name != "blue" {
			t.Errorf("no-op update = %+v, %v", n, err)
		}
	}
	if ctl.LastEventID() != pos {
		t.Errorf("a no-op update wrote %d events", ctl.LastEventID()-pos)
	}

	n, err := ctl.UpdateNetwork(ctx, 4100, controller.NetworkChange{Encapsulation: strp("vxlan")})
	if err != nil || n.Encapsulation != "vxlan" || n.Name != "blue" || n.CreatedAt.IsZero() {
		t.Fatalf("update = %+v, %v", n, err)
	}
	if got, _ := ctl.Network(4100); got.Encapsulation != "vxlan" {
		t.Errorf("cache after update: %+v", got)
	}
	evs, err := ctl.EventsSince(ctx, pos, 10)
	if err != nil || len(evs) != 1 || evs[0].Type != controller.EvNetworkUpdated ||
		evs[0].InstanceID == nil || *evs[0].InstanceID != 4100 {
		t.Fatalf("events after update: %+v, %v", evs, err)
	}
	var data controller.Network
	if err := json.Unmarshal(evs[0].Data, &data); err != nil || data.Encapsulation != "vxlan" {
		t.Errorf("event data %s: %v", evs[0].Data, err)
	}
}

// TestViewCarriesEncapsulation: a switch's view names both tunnel ports
// and the encapsulation of each network its site serves, on this replica
// and, through the change feed, on another.
func TestViewCarriesEncapsulation(t *testing.T) {
	storetest.Each(t, testViewCarriesEncapsulation)
}

func testViewCarriesEncapsulation(t *testing.T, path string) {
	a := newController(t, path)
	b := newController(t, path)
	ctx := context.Background()
	if _, err := a.CreateNetwork(ctx, 4100, "blue"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddNetwork(ctx, controller.NetworkInput{InstanceID: 4200, Name: "red", Encapsulation: "vxlan"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateNetwork(ctx, 4300, "green"); err != nil { // not served
		t.Fatal(err)
	}
	key, nets := "key-of-dc1", []int64{4100, 4200}
	if _, err := a.CreateSite(ctx, controller.SiteInput{Name: "dc1", AuthKey: &key, Networks: &nets}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateXTR(ctx, controller.XTRInput{Site: "dc1", Name: "dc1-edge", RLOC: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	want := map[uint32]pipeline.Encap{4100: pipeline.EncapLISPGPE, 4200: pipeline.EncapVXLAN}
	check := func(ctl *controller.Controller) bool {
		v, ok := ctl.BaseView("dc1-edge")
		if !ok || v.TunnelPort != pipeline.TunnelOFPort || v.VXLANPort != pipeline.VXLANOFPort || len(v.Encaps) != len(want) {
			return false
		}
		for iid, e := range want {
			if v.Encaps[iid] != e {
				return false
			}
		}
		return true
	}
	eventually(t, "replica a's view", func() bool { return check(a) })
	eventually(t, "replica b's view", func() bool { return check(b) })
	if _, err := a.UpdateNetwork(ctx, 4200, controller.NetworkChange{Encapsulation: strp("lisp-gpe")}); err != nil {
		t.Fatal(err)
	}
	want[4200] = pipeline.EncapLISPGPE
	eventually(t, "replica b follows the change", func() bool { return check(b) })
	if n, _ := b.Network(4200); n.Encapsulation != "lisp-gpe" {
		t.Errorf("replica b has %+v", n)
	}
}
