package web_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/l2lisp/l2lisp/controller"
)

// subscriptionsPage: the page lists the RFC 9437 subscribers, and one that
// subscribes appears without a reload; a refusal reads well on the
// timeline.
func subscriptionsPage(t *testing.T, e *env, b *browser) {
	b.do("open subscriptions", chromedp.Click(chromedp.CSS(`#nav a[data-route="subscriptions"]`)))
	b.visible(`#subscriptions-body[data-state="ready"]`)
	if got := b.text("#subscriptions-body"); !strings.Contains(got, "No LISP router has subscribed yet.") {
		t.Errorf("empty subscriptions page = %q", got)
	}
	now := time.Now().UTC()
	if _, err := e.ctl.SaveSubscription(context.Background(), controller.Subscription{XTRID: "20010db8000000000000000000000042",
		SiteID: "0000000000000001", Site: "dc2", InstanceID: 100, EID: "02:00:00:00:00:01",
		ITRRLOCs: []netip.Addr{netip.MustParseAddr("192.0.2.2")}, Port: 4342, TTL: 1440,
		CreatedAt: now, RefreshedAt: now, ExpiresAt: now.Add(24 * time.Hour), Nonce: 1}); err != nil {
		t.Fatalf("save subscription: %v", err)
	}
	sel := `#subscriptions-table tr[data-eid="02:00:00:00:00:01"]`
	b.visible(sel)
	if got := b.text(sel); !strings.Contains(got, "20010db8000000000000000000000042") || !strings.Contains(got, "192.0.2.2:4342") ||
		!strings.Contains(got, "1,440 min") && !strings.Contains(got, "1440 min") {
		t.Errorf("subscription row = %q", got)
	}
	if got := b.text("#sub-page-info"); got != "1–1 of 1" {
		t.Errorf("pager = %q", got)
	}
	t.Logf("screenshot: %s", b.screenshot(b.dir, "subscriptions.png"))
	if err := e.ctl.Emit(context.Background(), controller.EvSubscriptionRefused, nil, "", "", "",
		map[string]string{"reason": "refused_auth", "source": "192.0.2.9:4342", "xtr_id": "20010db8000000000000000000000043"}); err != nil {
		t.Fatalf("emit: %v", err)
	}
	b.do("open events", chromedp.Click(chromedp.CSS(`#nav a[data-route="events"]`)))
	b.visible(`#events-list li[data-type="subscription.refused"]`)
	if got := b.text(`#events-list li[data-type="subscription.refused"]`); !strings.Contains(got, "Subscription from 192.0.2.9:4342 (xTR-ID 20010db8000000000000000000000043) refused: refused_auth") {
		t.Errorf("refusal text = %q", got)
	}
	if got := b.text(`#events-list li[data-type="subscription.created"]`); !strings.Contains(got, "subscribed to 02:00:00:00:00:01 in IID 100") {
		t.Errorf("subscription text = %q", got)
	}
}
