package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/web"
)

const chromium = "/usr/bin/chromium"

const adminToken = "admin"

// env is one in-process controller with its REST API and the dashboard.
type env struct {
	t   *testing.T
	ctl *controller.Controller
	srv *httptest.Server // HTTPS with a test CA's certificate
	pin string           // the server key's SPKI pin, the one key Chromium is told to trust
}

// newEnv builds the real server stack; withMetrics adds /metrics as the
// serve command does.
func newEnv(t *testing.T, withMetrics bool) *env {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(ctx, t.TempDir()+"/db", logger)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatalf("store handle: %v", err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	ctl, err := controller.New(ctx, db, logger)
	if err != nil {
		t.Fatalf("controller: %v", err)
	}
	t.Cleanup(ctl.Close)
	api := northbound.New(ctl, northbound.Options{AdminToken: adminToken, Log: logger, Extra: func(r *gin.Engine) {
		web.Register(r)
		if withMetrics {
			r.GET("/metrics", gin.WrapH(metrics.Handler()))
		}
	}})
	// The event streams stay open until their client goes: the server's
	// cleanup cuts them so Close does not wait for them.
	ca := pkitest.New(t)
	srv := ca.Server(t, api.Handler())
	return &env{t: t, ctl: ctl, srv: srv, pin: pki.SPKIPin(ca.Material.Leaf)}
}

// call sends one REST request as an operator would and decodes the answer.
func (e *env) call(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatalf("encode: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/api/v1"+path, rd)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.srv.Client().Do(req) // trusts only the test CA
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, out
}

// mustCall is call that fails the test on an error status.
func (e *env) mustCall(method, path string, body any) map[string]any {
	e.t.Helper()
	code, out := e.call(method, path, body)
	if code >= 300 {
		e.t.Fatalf("%s %s: status %d: %v", method, path, code, out)
	}
	return out
}

// errorMessage reads error.message of an API error answer.
func errorMessage(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// browser is one headless Chromium tab with a record of page errors.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string // where screenshots go
	mu   sync.Mutex
	errs []string
}

// newBrowser starts Chromium; it is closed before the server (cleanups
// run last-registered first), so no event stream holds the server open.
// Chromium trusts the one server key whose SPKI pin is given (a base64
// SHA-256, see pki.SPKIPin): any other certificate error still fails.
func newBrowser(t *testing.T, ctx context.Context, pin string) *browser {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no Chromium at %s: %v", chromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), // also what makes Chromium honour the SPKI list
		chromedp.Flag("ignore-certificate-errors-spki-list", pin),
		chromedp.WindowSize(1400, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	b := &browser{t: t}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		_ = chromedp.Cancel(tabCtx)
		cancelTab()
		cancelAlloc()
	})
	b.ctx = tabCtx
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// listen records script exceptions, console errors and CSP violations:
// any of them means the dashboard is broken even if the page looks fine.
func (b *browser) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = fmt.Sprintf("exception: %s %s:%d", d.Text, d.URL, d.LineNumber)
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		msg = "console.error: " + strings.Join(parts, " ")
	case *log.EventEntryAdded:
		// Failed requests are expected (a 404 the page reports); scripts
		// and security (CSP) errors are not.
		if ev.Entry.Level != log.EntryLevelError || ev.Entry.Source == log.EntrySourceNetwork {
			return
		}
		msg = fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	default:
		return
	}
	b.mu.Lock()
	b.errs = append(b.errs, msg)
	b.mu.Unlock()
}

func (b *browser) checkErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errs {
		b.t.Errorf("page error: %s", e)
	}
}

// do runs actions, failing the test with what was being done.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text reads the visible text of the first element a CSS selector finds.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitFor blocks until a JavaScript condition holds; the deadline of the
// test's context bounds it, not a timer of its own.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(0))); err != nil {
		b.t.Fatalf("wait for %s (%s): %v", what, expr, err)
	}
}

// visible waits until a CSS selector matches a visible element.
func (b *browser) visible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// fill replaces the value of a form field by typing, as a user would.
func (b *browser) fill(id, value string) {
	b.t.Helper()
	// Clear with script: SetValue cannot set an empty value.
	clear := fmt.Sprintf(`document.getElementById(%q).value = ''`, id)
	b.do("fill "+id, chromedp.WaitVisible(chromedp.ID(id)), chromedp.Evaluate[chromedp.Void](clear),
		chromedp.SendKeys(chromedp.ID(id), value))
}

// screenshot saves a full-page PNG into the artifacts directory.
func (b *browser) screenshot(dir, name string) string {
	b.t.Helper()
	// From the top, or the sticky header is drawn where the page was scrolled.
	b.do("scroll to top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	return p
}

// artifacts is where screenshots go: $L2LISP_ARTIFACTS or a temporary dir.
func artifacts(t *testing.T) string {
	dir := os.Getenv("L2LISP_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts dir: %v", err)
	}
	return dir
}
