package mapserver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/client"
)

// TestRegistrationActors: the audit trail names the site whose
// Map-Register made a change, and the system for an expiry.
func TestRegistrationActors(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{RegistrationTTL: time.Second, FlushInterval: 100 * time.Millisecond})
	ctx := testCtx(t)
	if _, err := client.Register(ctx, regOpt(s, keyDC1, "10.1.9.0/24", rloc1)); err != nil {
		t.Fatal(err)
	}
	eid := mapping.PrefixEID(iidA, netip.MustParsePrefix("10.1.9.0/24"))
	waitFor(t, "the registration to expire", 20*time.Second, func() bool {
		_, ok := ctl.Index().Get(eid)
		return !ok
	})
	evs, err := ctl.History(ctx, iidA, "10.1.9.0/24", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Type != controller.EvMappingCreated || evs[0].Actor != "lisp:dc1" ||
		evs[1].Type != controller.EvMappingDeleted || evs[1].Actor != controller.ActorSystem {
		t.Fatalf("history: %+v", evs)
	}
}
