package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardForwardingMode: a network is created on demand through the
// Manage page, switched to auto with a threshold and back to push; the
// table shows each mode and the API holds it.
func TestDashboardForwardingMode(t *testing.T) {
	e := newEnv(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	b := newBrowser(t, ctx, e.pin)
	signIn(b, e, adminToken)
	b.do("open manage", chromedp.Click(chromedp.CSS(`#nav a[data-route="manage"]`)))
	b.visible(`#page-manage[data-state="ready"]`)

	b.fill("network-add-instance_id", "200")
	b.fill("network-add-name", "big")
	b.do("pick on-demand", chromedp.SetValue(chromedp.ID("network-add-forwarding_mode"), "on-demand"))
	b.do("add network", chromedp.Click(chromedp.ID("network-add-submit")))
	b.visible(`#networks-table tr[data-key="200"] td[data-mode="on-demand"]`)
	if n := e.mustCall("GET", "/networks/200", nil); n["forwarding_mode"] != "on-demand" {
		t.Errorf("network 200 = %v, want on-demand", n)
	}

	b.fill("network-mode-instance_id", "200")
	b.do("pick auto", chromedp.SetValue(chromedp.ID("network-mode-forwarding_mode"), "auto"))
	b.fill("network-mode-auto_threshold", "500")
	b.do("change mode", chromedp.Click(chromedp.ID("network-mode-submit")))
	b.visible(`#networks-table tr[data-key="200"] td[data-mode="auto"]`)
	if got := b.text(`#networks-table tr[data-key="200"] td[data-mode="auto"]`); got != "auto: on demand above 500 hosts" {
		t.Errorf("mode cell %q", got)
	}
	if n := e.mustCall("GET", "/networks/200", nil); n["auto_threshold"] != float64(500) {
		t.Errorf("network 200 = %v, want threshold 500", n)
	}

	// A bad threshold: the API's error, naming the field, and no change.
	b.fill("network-mode-auto_threshold", "-3")
	b.do("change mode", chromedp.Click(chromedp.ID("network-mode-submit")))
	b.waitFor("threshold error", `document.getElementById('network-mode-error').textContent.includes('auto_threshold')`)

	b.fill("network-mode-auto_threshold", "")
	b.do("pick push", chromedp.SetValue(chromedp.ID("network-mode-forwarding_mode"), "push"))
	b.do("change mode", chromedp.Click(chromedp.ID("network-mode-submit")))
	b.visible(`#networks-table tr[data-key="200"] td[data-mode="push"]`)
	b.checkErrors()
}
