package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
)

// TestSubscriptionList lists the subscriptions a real controller holds
// through the real API, as a table and as JSON.
func TestSubscriptionList(t *testing.T) {
	ctx := context.Background()
	srv := newAPI(t)
	ctl := srv.Ctl
	now := time.Now().UTC()
	for i, rloc := range []string{"192.0.2.7", "2001:db8::7"} {
		if _, err := ctl.SaveSubscription(ctx, controller.Subscription{XTRID: "20010db80000000000000000000000b" + string(rune('1'+i)),
			SiteID: "0000000000000001", Site: "dc1", InstanceID: 100, EID: "10.1.0.0/16",
			ITRRLOCs: []netip.Addr{netip.MustParseAddr(rloc)}, Port: 4342, TTL: 1440,
			CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(24 * time.Hour), Nonce: 9}); err != nil {
			t.Fatal(err)
		}
	}
	c := newCLI(t, srv)
	out, errOut, code := c.run("subscription", "list")
	for _, w := range []string{"XTR-ID", "10.1.0.0/16", "20010db80000000000000000000000b1", "192.0.2.7:4342", "[2001:db8::7]:4342", "1440"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("subscription list: exit %d, stdout lacks %q:\n%s%s", code, w, out, errOut)
		}
	}
	out, _, code = c.run("subscription", "list", "--limit", "1", "--site", "dc1")
	if code != 0 || !strings.Contains(out, "(subscriptions 1-1 of 2; --offset 1 for more)") {
		t.Errorf("paged: exit %d:\n%s", code, out)
	}
	out, _, code = c.run("subscription", "list", "-o", "json", "--iid", "100")
	var page struct {
		Total int `json:"total"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || page.Total != 2 {
		t.Errorf("-o json: exit %d: %s", code, out)
	}
	if _, errOut, code := c.run("subscription", "list", "--xtr-id", "zz"); code != 1 || !strings.Contains(errOut, "(field xtr_id)") {
		t.Errorf("bad xtr-id: exit %d: %s", code, errOut)
	}
}
