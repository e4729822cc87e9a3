package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/web"
)

func engine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	web.Register(r)
	return r
}

func get(r http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func TestServesIndexAndAssets(t *testing.T) {
	r := engine()
	cases := []struct{ path, ctype, body string }{
		{"/", "text/html", `src="/ui/js/app.js"`},
		{"/ui/js/app.js", "text/javascript", "import"},
		{"/ui/css/base.css", "text/css", ":root"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, c := range cases {
		w := get(r, c.path, nil)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), c.ctype) ||
			!strings.Contains(w.Body.String(), c.body) {
			t.Errorf("GET %s: %d %q", c.path, w.Code, w.Header().Get("Content-Type"))
		}
		if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("ETag") == "" {
			t.Errorf("GET %s: missing CSP or ETag", c.path)
		}
	}
}

func TestRevalidatesWithETag(t *testing.T) {
	r := engine()
	tag := get(r, "/ui/js/api.js", nil).Header().Get("ETag")
	if w := get(r, "/ui/js/api.js", map[string]string{"If-None-Match": tag}); w.Code != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", w.Code)
	}
}

func TestUnknownAsset(t *testing.T) {
	r := engine()
	for _, p := range []string{"/ui/nope.js", "/ui/../web.go", "/ui/"} {
		if w := get(r, p, nil); w.Code != http.StatusNotFound && w.Code != http.StatusMovedPermanently {
			t.Errorf("GET %s: %d", p, w.Code)
		}
	}
	if w := get(r, "/ui/index.html", nil); w.Code != http.StatusMovedPermanently {
		t.Errorf("GET /ui/index.html: %d, want a redirect to /", w.Code)
	}
}

// TestBrowserPinsTheServerKey: Chromium loads the dashboard over HTTPS
// because it is told the server key's pin, not because certificate errors
// are ignored: with another key's pin the same page fails.
func TestBrowserPinsTheServerKey(t *testing.T) {
	e := newEnv(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	other := pki.SPKIPin(pkitest.New(t).Material.Leaf)
	b := newBrowser(t, ctx, other)
	err := chromedp.Do(b.ctx, chromedp.Navigate(e.srv.URL+"/"))
	if err == nil || !strings.Contains(err.Error(), "CERT") {
		t.Errorf("dashboard loaded with another key's pin: %v", err)
	}
	t.Logf("with another key's pin: %v", err)
	b2 := newBrowser(t, ctx, e.pin)
	b2.do("load with the right pin", chromedp.Navigate(e.srv.URL+"/"))
	b2.visible("#login-token")
}
