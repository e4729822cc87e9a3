// Package web is the operators' dashboard: static HTML, CSS and JavaScript
// embedded in the binary. The pages talk only to the public REST API
// (/api/v1) and its event stream, so they need no server-side code beyond
// serving the files.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

//go:embed static
var files embed.FS

// AssetPrefix is where the dashboard's CSS and JavaScript are served.
const AssetPrefix = "/ui/"

// csp keeps the dashboard to its own origin: no inline script, no CDN.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

type asset struct {
	body  []byte
	etag  string
	ctype string
}

// assets is read once: the files are embedded, so they never change and
// their hashes make strong ETags (embed.FS has no modification times).
var assets = loadAssets()

func loadAssets() map[string]asset {
	out := map[string]asset{}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`,
			ctype: contentType(p)}
		return nil
	})
	if err != nil {
		panic("web: embedded assets unreadable: " + err.Error())
	}
	return out
}

// contentType is fixed here rather than taken from the host's mime.types,
// which differs between systems; module scripts need a JavaScript type.
func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

// Register serves the dashboard at "/" and its assets under /ui/.
func Register(r *gin.Engine) {
	r.GET("/", serveIndex)
	r.HEAD("/", serveIndex)
	r.GET(AssetPrefix+"*filepath", serveAsset)
	r.HEAD(AssetPrefix+"*filepath", serveAsset)
}

func serveIndex(c *gin.Context) { serve(c, "index.html") }

func serveAsset(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean(c.Param("filepath")), "/")
	if name == "index.html" {
		c.Redirect(http.StatusMovedPermanently, "/")
		return
	}
	serve(c, name)
}

func serve(c *gin.Context, name string) {
	a, ok := assets[name]
	if !ok {
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"error": gin.H{"code": "not_found",
			"message": "no such dashboard file: " + name}})
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	// Revalidate every time: cheap with the ETag, and an upgraded binary
	// never leaves a browser with a stale mix of modules.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", csp)
	http.ServeContent(c.Writer, c.Request, name, time.Time{}, bytes.NewReader(a.body))
}
