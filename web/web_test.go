package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

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
