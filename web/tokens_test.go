package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// callAs sends one REST request with token and returns the status.
func (e *env) callAs(token, method, path string, body any) int {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, e.srv.URL+"/api/v1"+path, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// signIn logs in with token and waits for the overview.
func signIn(b *browser, e *env, token string) {
	b.do("load", chromedp.Navigate(e.srv.URL+"/"))
	b.visible("#login-token")
	b.fill("login-token", token)
	b.do("submit token", chromedp.Click(chromedp.ID("login-submit")))
	b.visible(`#page-overview[data-state="ready"]`)
}

// TestDashboardTokens: an admin creates a token in the dashboard and sees
// its secret once; the events name who made each change; revoking it in
// the dashboard makes the API refuse it; a viewer gets the API's refusal.
func TestDashboardTokens(t *testing.T) {
	e := newEnv(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	b := newBrowser(t, ctx, e.pin)
	signIn(b, e, adminToken)

	b.do("open tokens", chromedp.Click(chromedp.CSS(`#nav a[data-route="tokens"]`)))
	b.visible(`#page-tokens[data-state="ready"]`)
	b.visible(`#tokens-table tr[data-key="bootstrap"][data-role="admin"]`)
	b.fill("token-add-name", "ops")
	b.do("pick role", chromedp.SetValue(chromedp.ID("token-add-role"), "operator"))
	b.do("create token", chromedp.Click(chromedp.ID("token-add-submit")))
	b.visible(`#token-add[data-result="ok"]`)
	b.visible("#token-secret")
	secret, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('token-secret').value`))
	if err != nil || !strings.HasPrefix(secret, "l2lisp_") {
		t.Fatalf("secret shown = %q, %v", secret, err)
	}
	b.visible(`#tokens-table tr[data-key="ops"][data-role="operator"]`)
	if got := b.text(`#tokens-table tr[data-key="ops"]`); !strings.Contains(got, "bootstrap") || strings.Contains(got, secret) {
		t.Errorf("token row = %q, want created by bootstrap and no secret", got)
	}
	t.Logf("screenshot: %s", b.screenshot(artifacts(t), "tokens.png"))

	// A reserved name: the API's message, on the name field.
	b.fill("token-add-name", "bootstrap")
	b.do("create reserved", chromedp.Click(chromedp.ID("token-add-submit")))
	b.visible(`#token-add[data-result="error"]`)
	if got := b.text("#token-add-error"); !strings.Contains(got, "reserved") || !strings.Contains(got, "(field: name)") {
		t.Errorf("reserved name error = %q", got)
	}

	// The new token works, and the events say who did what.
	if s := e.callAs(secret, "POST", "/networks", map[string]any{"instance_id": 100, "name": "blue"}); s != 201 {
		t.Fatalf("POST /networks with the new token: %d", s)
	}
	b.do("open events", chromedp.Click(chromedp.CSS(`#nav a[data-route="events"]`)))
	b.visible(`#events-list li[data-type="network.created"][data-actor="ops"]`)
	if got := b.text(`#events-list li[data-type="network.created"] .ev-actor`); got != "by ops" {
		t.Errorf("network.created shows %q, want \"by ops\"", got)
	}
	if got := b.text(`#events-list li[data-type="token.created"]`); !strings.Contains(got, "API token ops (operator) created") ||
		!strings.Contains(got, "by bootstrap") {
		t.Errorf("token.created shows %q", got)
	}
	// The filter finds changes by who made them.
	b.fill("ev-text", "by ops")
	b.waitFor("filter by actor", `[...document.querySelectorAll('#events-list li.event')].every(li => li.dataset.actor === 'ops')`)
	if html, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerHTML`)); err != nil || strings.Contains(html, secret) {
		t.Errorf("the secret is still in the page after leaving the tokens page (%v)", err)
	}

	// Revoked in the dashboard: refused by the API.
	b.do("back to tokens", chromedp.Click(chromedp.CSS(`#nav a[data-route="tokens"]`)))
	b.visible(`#tokens-table tr[data-key="ops"]`)
	b.fill("token-revoke-name", "ops")
	b.do("revoke", chromedp.Click(chromedp.ID("token-revoke-submit")))
	b.visible(`#token-revoke[data-result="ok"]`)
	b.waitFor("row gone", `document.querySelector('#tokens-table tr[data-key="ops"]') === null`)
	if s := e.callAs(secret, "GET", "/networks", nil); s != 401 {
		t.Errorf("GET /networks with the revoked token: %d, want 401", s)
	}

	// A viewer sees the API's refusal on the tokens page.
	out := e.mustCall("POST", "/tokens", map[string]any{"name": "watcher", "role": "viewer"})
	viewer, _ := out["secret"].(string)
	b.do("log out", chromedp.Click(chromedp.ID("logout")))
	signIn(b, e, viewer)
	b.do("open tokens as viewer", chromedp.Click(chromedp.CSS(`#nav a[data-route="tokens"]`)))
	b.visible(`#page-tokens[data-state="forbidden"]`)
	if got := b.text(`#page-tokens .slot .form-error`); !strings.Contains(got, `token "watcher" has role viewer; this needs admin`) {
		t.Errorf("viewer's tokens page = %q", got)
	}
	b.checkErrors()
}
