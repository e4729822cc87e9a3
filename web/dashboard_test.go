package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboard drives the dashboard in headless Chromium against a real
// controller and REST API: login, forms, live updates from the event
// stream, the API's error messages, topology, and screenshots.
func TestDashboard(t *testing.T) {
	e := newEnv(t, true)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	b := newBrowser(t, ctx, e.pin)
	dir := artifacts(t)
	b.dir = dir

	login(t, e, b)
	manageForms(t, e, b)
	liveMappings(t, e, b)
	hostPage(t, e, b)
	liveEvents(t, e, b)
	subscriptionsPage(t, e, b)
	drainButtons(t, e, b)
	apiPage(b)

	// Overview, once the rates have two scrapes to compare.
	b.do("open overview", chromedp.Click(chromedp.CSS(`#nav a[data-route="overview"]`)))
	b.visible(`#page-overview[data-state="ready"]`)
	b.waitFor("rates", `document.querySelectorAll('#rates .spark-card[data-state="ok"]').length === 3`)
	b.waitFor("xTR states", `document.querySelector('#xtrs-table tr[data-key="dc1-leaf1"]') !== null`)
	if got := b.text("#count-sites"); got != "2" {
		t.Errorf("overview site count = %q, want 2", got)
	}
	if got := b.text("#count-static"); got != "2" {
		t.Errorf("overview static EIDs = %q, want 2", got)
	}
	// The controller on its own is the one replica, and the leader.
	b.visible(`#replicas-table tr[data-key="local"][data-role="leader"]`)
	t.Logf("screenshot: %s", b.screenshot(dir, "overview.png"))

	b.do("open topology", chromedp.Click(chromedp.CSS(`#nav a[data-route="topology"]`)))
	b.visible(`#page-topology[data-state="ready"]`)
	b.visible(`#topology-svg g.link[data-a="dc1"][data-b="dc2"]`)
	b.waitFor("host counts", `[...document.querySelectorAll('#topology-svg .node-hosts')].map(n => n.textContent).join() === '1 host,1 host'`)
	// A third site sharing the network appears without a reload.
	e.mustCall("POST", "/sites", map[string]any{"name": "dc3", "auth_key": "secret-key-3", "networks": []int{100}})
	b.visible(`#topology-svg g.node[data-site="dc3"]`)
	b.visible(`#topology-svg g.link[data-a="dc2"][data-b="dc3"]`)
	t.Logf("screenshot: %s", b.screenshot(dir, "topology.png"))

	b.do("open events", chromedp.Click(chromedp.CSS(`#nav a[data-route="events"]`)))
	b.visible(`#page-events[data-state="ready"]`)
	t.Logf("screenshot: %s", b.screenshot(dir, "events.png"))
	b.checkErrors()
}

func login(t *testing.T, e *env, b *browser) {
	b.do("load", chromedp.Navigate(e.srv.URL+"/"))
	b.visible("#login-token")
	b.fill("login-token", "not-the-token")
	b.do("submit bad token", chromedp.Click(chromedp.ID("login-submit")))
	b.waitFor("login error", `document.getElementById('login-error').textContent.includes('unknown token')`)
	b.fill("login-token", adminToken)
	b.do("submit token", chromedp.Click(chromedp.ID("login-submit")))
	b.visible(`#page-overview[data-state="ready"]`)
	b.visible(`#stream-status[data-state="live"]`)
	if got := b.text("#count-networks"); got != "0" {
		t.Errorf("network count on an empty controller = %q", got)
	}
}

// manageForms adds objects through the forms and checks the API's errors.
func manageForms(t *testing.T, e *env, b *browser) {
	b.do("open manage", chromedp.Click(chromedp.CSS(`#nav a[data-route="manage"]`)))
	b.visible(`#page-manage[data-state="ready"]`)

	b.fill("network-add-instance_id", "100")
	b.fill("network-add-name", "blue")
	b.do("add network", chromedp.Click(chromedp.ID("network-add-submit")))
	b.visible(`#networks-table tr[data-key="100"] td[data-encap="lisp-gpe"]`)
	networkEncap(t, e, b)

	b.fill("site-add-name", "dc1")
	b.fill("site-add-auth_key", "secret-key-1")
	b.fill("site-add-networks", "100")
	b.fill("site-add-mac_prefixes", "02:00:10:00:00:00/24")
	b.fill("site-add-rloc_prefixes", "192.0.2.0/24")
	b.do("add site", chromedp.Click(chromedp.ID("site-add-submit")))
	b.visible(`#sites-table tr[data-key="dc1"]`)
	if got := b.text(`#sites-table tr[data-key="dc1"]`); !strings.Contains(got, "100") ||
		!strings.Contains(got, "02:00:10:00:00:00/24") || !strings.Contains(got, "192.0.2.0/24") {
		t.Errorf("site row %q does not list instance-id 100 and the scope", got)
	}
	siteScope(t, b)

	b.fill("xtr-add-site", "dc1")
	b.fill("xtr-add-name", "dc1-leaf1")
	b.fill("xtr-add-rloc", "192.0.2.1")
	b.do("add xTR", chromedp.Click(chromedp.ID("xtr-add-submit")))
	b.visible(`#manage-xtrs-table tr[data-key="dc1-leaf1"]`)

	b.fill("port-bind-xtr", "dc1-leaf1")
	b.fill("port-bind-port", "tap0")
	b.fill("port-bind-instance_id", "100")
	b.do("bind port", chromedp.Click(chromedp.ID("port-bind-submit")))
	b.waitFor("port listed", `(document.querySelector('#manage-xtrs-table tr[data-key="dc1-leaf1"]')||{}).textContent?.includes('tap0→100')`)

	badMAC(t, e, b)
	clearDuplicate(t, e, b)
	t.Logf("screenshot: %s", b.screenshot(b.dir, "manage.png"))
}

// siteScope changes a site's scope through its form: a malformed MAC
// prefix is refused with the API's field, then any_mac is switched on.
func siteScope(t *testing.T, b *browser) {
	b.fill("site-scope-name", "dc1")
	b.fill("site-scope-mac_prefixes", "02:00:10:00:00:00/99")
	b.do("submit a bad MAC prefix", chromedp.Click(chromedp.ID("site-scope-submit")))
	b.visible(`#site-scope[data-result="error"] #site-scope-error`)
	if got := b.text("#site-scope-error"); !strings.Contains(got, "(field: mac_prefixes)") {
		t.Errorf("scope form error = %q, want the field mac_prefixes", got)
	}
	b.visible(`#site-scope-mac_prefixes[aria-invalid="true"]`)
	b.fill("site-scope-mac_prefixes", "")
	b.do("choose any MAC", chromedp.Evaluate[chromedp.Void](`document.getElementById('site-scope-any_mac').value = 'true'`))
	b.do("save the scope", chromedp.Click(chromedp.ID("site-scope-submit")))
	b.visible(`#site-scope[data-result="ok"]`)
	b.waitFor("the row shows any MAC", `(document.querySelector('#sites-table tr[data-key="dc1"] td[data-col="mac_scope"]')||{}).textContent === 'any'`)
	if got := b.text(`#sites-table tr[data-key="dc1"] td[data-col="rloc_prefixes"]`); got != "192.0.2.0/24" {
		t.Errorf("a PATCH of the MAC scope changed the RLOC prefixes: %q", got)
	}
}

// networkEncap changes network 100 to VXLAN and back through the form,
// and shows the API's error for a network that does not exist.
func networkEncap(t *testing.T, e *env, b *browser) {
	setEncap := func(iid, encap string) {
		b.fill("network-encap-instance_id", iid)
		b.do("choose "+encap, chromedp.SetValue(chromedp.ID("network-encap-encapsulation"), encap))
		b.do("change encapsulation", chromedp.Click(chromedp.ID("network-encap-submit")))
	}
	setEncap("100", "vxlan")
	b.visible(`#networks-table tr[data-key="100"] td[data-encap="vxlan"]`)
	if n := e.mustCall("GET", "/networks/100", nil); n["encapsulation"] != "vxlan" {
		t.Errorf("after the form, network 100 = %v", n)
	}
	setEncap("999", "vxlan")
	b.waitFor("missing network error", `document.getElementById('network-encap-error').textContent.includes('no network')`)
	setEncap("100", "lisp-gpe")
	b.visible(`#networks-table tr[data-key="100"] td[data-encap="lisp-gpe"]`)
}

// badMAC submits a malformed MAC and expects the API's own message.
func badMAC(t *testing.T, e *env, b *browser) {
	const eid = "02:00:00:00:00:zz"
	code, out := e.call("POST", "/mappings", map[string]any{"instance_id": 100, "eid": eid, "site": "dc1"})
	want := errorMessage(out)
	if code != 400 || want == "" {
		t.Fatalf("API accepted bad MAC: %d %v", code, out)
	}
	b.fill("mapping-add-instance_id", "100")
	b.fill("mapping-add-eid", eid)
	b.fill("mapping-add-site", "dc1")
	b.do("submit bad MAC", chromedp.Click(chromedp.ID("mapping-add-submit")))
	b.visible(`#mapping-add[data-result="error"] #mapping-add-error`)
	got := b.text("#mapping-add-error")
	if !strings.Contains(got, want) || !strings.Contains(got, "(field: eid)") {
		t.Errorf("form error = %q, want the API's %q and its field", got, want)
	}
	b.visible(`#mapping-add-eid[aria-invalid="true"]`)
}

// clearDuplicate shows whatever the API answers, even "no such endpoint".
func clearDuplicate(t *testing.T, e *env, b *browser) {
	code, out := e.call("POST", "/mappings/duplicates/clear?instance_id=100&eid=02:00:00:00:00:01", nil)
	b.fill("duplicate-clear-instance_id", "100")
	b.fill("duplicate-clear-eid", "02:00:00:00:00:01")
	b.do("clear duplicate", chromedp.Click(chromedp.ID("duplicate-clear-submit")))
	b.visible(`#duplicate-clear[data-result]`)
	if code < 300 {
		b.visible(`#duplicate-clear[data-result="ok"]`)
		return
	}
	b.visible(`#duplicate-clear[data-result="error"]`)
	if got, want := b.text("#duplicate-clear-error"), errorMessage(out); want == "" || !strings.Contains(got, want) {
		t.Errorf("duplicate-clear error = %q, want %q", got, want)
	}
}

// liveMappings: a mapping made through the API appears without a reload.
func liveMappings(t *testing.T, e *env, b *browser) {
	e.mustCall("POST", "/sites", map[string]any{"name": "dc2", "auth_key": "secret-key-2", "networks": []int{100}})
	e.mustCall("POST", "/sites/dc2/xtrs", map[string]any{"name": "dc2-leaf1", "rloc": "192.0.2.2"})
	b.do("open mappings", chromedp.Click(chromedp.CSS(`#nav a[data-route="mappings"]`)))
	b.visible(`#mappings-body[data-state="ready"]`)
	b.do("mark page", chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`))
	e.mustCall("POST", "/mappings", map[string]any{"instance_id": 100, "eid": "02:00:00:00:00:01", "site": "dc1",
		"rlocs": []map[string]any{{"address": "192.0.2.1"}}})
	b.visible(`#mappings-table tr[data-eid="02:00:00:00:00:01"]`)
	same, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__sameDocument === true`))
	if err != nil || !same {
		t.Errorf("the page reloaded to show the new mapping (%v)", err)
	}
	if got := b.text("#page-info"); got != "1–1 of 1" {
		t.Errorf("pager = %q", got)
	}
	// Server-side filtering: a text that matches nothing empties the page.
	b.fill("f-q", "ff:ff")
	b.waitFor("filtered", `document.getElementById('page-info')?.textContent === '0–0 of 0'`)
	b.fill("f-q", "00:01")
	b.visible(`#mappings-table tr[data-eid="02:00:00:00:00:01"]`)
}

// hostPage: the locator set, and a move that shows in the history live.
func hostPage(t *testing.T, e *env, b *browser) {
	b.do("open host", chromedp.Click(chromedp.CSS(`#mappings-table tr[data-eid="02:00:00:00:00:01"] a`)))
	b.visible(`#locators-table tr[data-rloc="192.0.2.1"]`)
	b.visible(`#history-list li[data-type="mapping.created"]`)
	e.mustCall("POST", "/mappings", map[string]any{"instance_id": 100, "eid": "02:00:00:00:00:01", "site": "dc2",
		"rlocs": []map[string]any{{"address": "192.0.2.2"}}})
	b.visible(`#history-list li[data-type="mapping.moved"]`)
	b.visible(`#locators-table tr[data-rloc="192.0.2.2"]`)
	if got := b.text(`#history-list li[data-type="mapping.moved"]`); !strings.Contains(got, "moved to dc2") {
		t.Errorf("move history = %q", got)
	}
	t.Logf("screenshot: %s", b.screenshot(b.dir, "host.png"))
}

// liveEvents: learns, alerts and unknown types all reach the timeline.
func liveEvents(t *testing.T, e *env, b *browser) {
	b.do("open events", chromedp.Click(chromedp.CSS(`#nav a[data-route="events"]`)))
	b.visible(`#page-events[data-state="ready"]`)
	e.mustCall("POST", "/mappings", map[string]any{"instance_id": 100, "eid": "02:00:00:00:00:02", "site": "dc1",
		"rlocs": []map[string]any{{"address": "192.0.2.1"}}})
	sel := `#events-list li[data-type="mapping.created"][data-eid="02:00:00:00:00:02"]`
	b.visible(sel)
	if got := b.text(sel); !strings.Contains(got, "Host 02:00:00:00:00:02 in IID 100 added (static) at dc1") {
		t.Errorf("event text = %q", got)
	}
	ctx := context.Background()
	if err := e.ctl.Emit(ctx, "xtr.down", nil, "", "dc1", "dc1-leaf1",
		map[string]string{"conn": "openflow", "reason": "connection refused"}); err != nil {
		t.Fatalf("emit: %v", err)
	}
	if err := e.ctl.Emit(ctx, "fabric.surprise", nil, "", "dc2", "", map[string]int{"n": 1}); err != nil {
		t.Fatalf("emit: %v", err)
	}
	conv := map[string]any{"from_site": "dc1", "to_site": "dc2", "converged": true, "seconds": 0.0125,
		"switches": []string{"dc1-leaf1", "dc2-leaf1"}}
	iid := uint32(100)
	if err := e.ctl.Emit(ctx, "mapping.converged", &iid, "02:00:00:00:00:01", "dc2", "dc2-leaf1", conv); err != nil {
		t.Fatalf("emit: %v", err)
	}
	// What the Map-Server writes when dc2 tries to register dc1's static host.
	if err := e.ctl.Emit(ctx, "registration.refused", &iid, "02:00:00:00:00:01", "dc2", "",
		map[string]string{"reason": "refused_static", "source": "198.51.100.9:4342", "owner_site": "dc1"}); err != nil {
		t.Fatalf("emit: %v", err)
	}
	b.visible(`#events-list li[data-type="registration.refused"]`)
	if got := b.text(`#events-list li[data-type="registration.refused"]`); !strings.Contains(got,
		"Map-Register from 198.51.100.9:4342 (site dc2) refused for 02:00:00:00:00:01 in IID 100: refused_static, held by dc1") {
		t.Errorf("registration.refused text = %q", got)
	}
	b.visible(`#events-list li[data-type="fabric.surprise"]`)
	b.visible(`#events-list li[data-type="mapping.converged"]`)
	if got := b.text(`#events-list li[data-type="mapping.converged"]`); !strings.Contains(got, "from dc1 to dc2 converged in 13 ms on 2 switches") {
		t.Errorf("convergence text = %q", got)
	}
	if got := b.text(`#events-list li[data-type="xtr.down"]`); !strings.Contains(got, "xTR dc1-leaf1 is down (openflow): connection refused") {
		t.Errorf("xtr.down text = %q", got)
	}
	if got := b.text(`#events-list li[data-type="fabric.surprise"]`); !strings.Contains(got, `{"n":1}`) {
		t.Errorf("unknown event text = %q, want its data", got)
	}
	if got := b.text(`#events-list li[data-type="mapping.moved"]`); !strings.Contains(got, "moved to dc2") {
		t.Errorf("moved text = %q", got)
	}
}

func apiPage(b *browser) {
	b.do("open API", chromedp.Click(chromedp.CSS(`#nav a[data-route="api"]`)))
	b.visible(`#page-api[data-state="ready"]`)
	b.visible(`#api-doc details[data-path="/mappings"][data-method="get"]`)
	b.do("expand", chromedp.Click(chromedp.CSS(`#api-doc details[data-path="/mappings"][data-method="get"] summary`)))
	b.waitFor("parameters", `document.querySelector('#api-doc details[data-path="/mappings"][data-method="get"]').textContent.includes('offset')`)
}

// TestDashboardNoMetrics: without /metrics the charts say so.
func TestDashboardNoMetrics(t *testing.T) {
	e := newEnv(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b := newBrowser(t, ctx, e.pin)
	b.do("load", chromedp.Navigate(e.srv.URL+"/"))
	b.visible("#login-token")
	b.fill("login-token", adminToken)
	b.do("submit token", chromedp.Click(chromedp.ID("login-submit")))
	b.visible(`#page-overview[data-state="ready"]`)
	b.waitFor("no data", `document.querySelectorAll('#rates .spark-card[data-state="nodata"] .nodata').length === 3`)
	if got := b.text("#rates"); !strings.Contains(got, "no data") {
		t.Errorf("rates = %q", got)
	}
	b.checkErrors()
}
