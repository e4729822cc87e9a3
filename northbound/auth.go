package northbound

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
)

// tokenKey is where authorize leaves the caller's token in the gin context.
const tokenKey = "l2lisp.token"

// bootstrapToken is a token from the server's flags: kept only in memory,
// and only as its hash like the stored ones.
type bootstrapToken struct {
	hash [32]byte
	tok  controller.Token
}

func newBootstraps(opt Options, now time.Time) []bootstrapToken {
	var out []bootstrapToken
	for _, b := range []struct {
		secret, name string
		role         controller.Role
	}{
		{opt.AdminToken, controller.BootstrapAdmin, controller.RoleAdmin},
		{opt.ReadToken, controller.BootstrapViewer, controller.RoleViewer},
	} {
		if b.secret == "" {
			continue
		}
		out = append(out, bootstrapToken{hash: controller.HashToken(b.secret), tok: controller.Token{
			Name: b.name, Role: b.role, CreatedAt: now, CreatedBy: "configuration", Bootstrap: true}})
	}
	return out
}

// identify finds the token a secret belongs to: a bootstrap token or one
// created through the API and not revoked on this replica.
func (s *Server) identify(secret string) (controller.Token, bool) {
	h := controller.HashToken(secret)
	var found controller.Token
	match := 0
	for _, b := range s.boot {
		if subtle.ConstantTimeCompare(h[:], b.hash[:]) == 1 {
			found, match = b.tok, 1
		}
	}
	if match == 1 {
		return found, true
	}
	return s.ctl.Authenticate(secret)
}

// required is the least role a request needs: reading takes a viewer,
// changing an operator, and anything about tokens an admin.
func required(c *gin.Context) controller.Role {
	if strings.HasPrefix(c.FullPath(), "/api/v1/tokens") {
		return controller.RoleAdmin
	}
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		return controller.RoleViewer
	}
	return controller.RoleOperator
}

// authorize checks the bearer token and its role, then names the token as
// the actor of whatever the request writes (the audit trail).
func (s *Server) authorize(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	ok = ok && strings.EqualFold(scheme, "Bearer") // schemes are case-insensitive (RFC 7235)
	if !ok && c.Request.Method == http.MethodGet {
		// EventSource cannot set headers; the dashboard passes the token as a query parameter.
		secret, ok = c.GetQuery("access_token")
	}
	if !ok || secret == "" {
		c.Header("WWW-Authenticate", `Bearer realm="l2lisp"`)
		metrics.HTTPAuthRefused.WithLabelValues("unauthorized").Inc()
		fail(c, http.StatusUnauthorized, "unauthorized", "Authorization", "a bearer token is required")
		return
	}
	tok, ok := s.identify(secret)
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="l2lisp", error="invalid_token"`)
		metrics.HTTPAuthRefused.WithLabelValues("unauthorized").Inc()
		fail(c, http.StatusUnauthorized, "unauthorized", "Authorization", "unknown token")
		return
	}
	if need := required(c); !tok.Role.Allows(need) {
		metrics.HTTPAuthRefused.WithLabelValues("forbidden").Inc()
		fail(c, http.StatusForbidden, "forbidden", "Authorization",
			fmt.Sprintf("token %q has role %s; this needs %s", tok.Name, tok.Role, need))
		return
	}
	c.Set(tokenKey, tok)
	c.Request = c.Request.WithContext(controller.WithActor(c.Request.Context(), tok.Name))
	c.Next()
}
