package northbound

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/metrics"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// XTRStatus is what the southbound knows of one edge switch.
type XTRStatus struct {
	OVSDB    ConnState `json:"ovsdb"`
	OpenFlow ConnState `json:"openflow"`
	Flows    int       `json:"flows"`
	// MapCache is how many remote hosts of on-demand networks it holds.
	MapCache int `json:"map_cache_entries"`
	// InSync says whether it reflects every change this replica applied.
	InSync bool `json:"in_sync"`
}

// ConnState is the state of one connection to a switch.
type ConnState struct {
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	Role      string    `json:"role,omitempty"` // OpenFlow: the role the switch granted this replica
}

// StatusSource reports switch connection state; the southbound provides it.
type StatusSource interface {
	XTRStatus(name string) XTRStatus
}

// Options configure the API server.
type Options struct {
	AdminToken string // the bootstrap admin token, named "bootstrap"
	ReadToken  string // the bootstrap viewer token, named "bootstrap-viewer"
	Status     StatusSource
	Cluster    ClusterSource // nil: a single controller
	Log        *slog.Logger
	// Extra lets other parts (metrics, dashboard) add routes to the engine.
	Extra func(r *gin.Engine)
}

// Server is the REST API over a controller.
type Server struct {
	ctl  *controller.Controller
	opt  Options
	gin  *gin.Engine
	boot []bootstrapToken
	// done is closed by Close to end event streams on shutdown.
	done chan struct{}
	once sync.Once
}

// New builds the API's routes.
func New(ctl *controller.Controller, opt Options) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{ctl: ctl, opt: opt, gin: gin.New(), done: make(chan struct{}),
		boot: newBootstraps(opt, time.Now().UTC().Truncate(time.Second))}
	// Without the fallback a *gin.Context is a context.Context whose Done
	// is nil; handlers pass c.Request.Context() anyway.
	s.gin.ContextWithFallback = true
	s.gin.Use(gin.Recovery(), s.logRequests)
	s.gin.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok", "last_event_id": ctl.LastEventID()})
	})
	s.gin.GET("/api/v1/openapi.json", s.openAPI)
	api := s.gin.Group("/api/v1", s.authorize, limitBody)
	s.routes(api)
	if opt.Extra != nil {
		opt.Extra(s.gin)
	}
	s.gin.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, "not_found", "", "no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path)
	})
	return s
}

// Close ends the open event streams, so an HTTP server shutdown does not
// wait for clients that never hang up.
func (s *Server) Close() { s.once.Do(func() { close(s.done) }) }

// Handler is the http.Handler of the API.
func (s *Server) Handler() http.Handler { return s.gin }

// Engine exposes the gin engine, for tests that walk the routes.
func (s *Server) Engine() *gin.Engine { return s.gin }

func (s *Server) routes(api *gin.RouterGroup) {
	api.POST("/networks", s.createNetwork)
	api.GET("/networks", s.listNetworks)
	api.GET("/networks/:instance_id", s.getNetwork)
	api.PATCH("/networks/:instance_id", s.patchNetwork)
	api.DELETE("/networks/:instance_id", s.deleteNetwork)

	api.POST("/sites", s.createSite)
	api.GET("/sites", s.listSites)
	api.GET("/sites/:name", s.getSite)
	api.PATCH("/sites/:name", s.patchSite)
	api.DELETE("/sites/:name", s.deleteSite)
	api.POST("/sites/:name/xtrs", s.createXTR)

	api.GET("/xtrs", s.listXTRs)
	api.GET("/xtrs/:name", s.getXTR)
	api.DELETE("/xtrs/:name", s.deleteXTR)
	api.POST("/xtrs/:name/drain", s.drainXTR)
	api.POST("/xtrs/:name/undrain", s.undrainXTR)
	api.POST("/xtrs/:name/ports", s.bindPort)
	api.GET("/xtrs/:name/ports", s.listPorts)
	api.DELETE("/xtrs/:name/ports/:port", s.unbindPort)

	api.POST("/mappings", s.createMapping)
	api.POST("/mappings/import", s.importMappings)
	api.GET("/mappings", s.listMappings)
	api.DELETE("/mappings", s.deleteMapping)
	api.GET("/mappings/history", s.mappingHistory)
	api.POST("/mappings/duplicates/clear", s.clearDuplicate)
	api.GET("/lookup", s.lookup)
	api.GET("/subscriptions", s.listSubscriptions)
	api.GET("/events", s.events)
	api.GET("/cluster", s.cluster)

	api.POST("/tokens", s.createToken)
	api.GET("/tokens", s.listTokens)
	api.DELETE("/tokens/:name", s.revokeToken)
}

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody)
	}
	c.Next()
}

func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched" // keeps scanners from creating a series per URL
	}
	metrics.HTTPRequests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
	if s.opt.Log != nil && route != "/api/v1/events" {
		s.opt.Log.Debug("http", "method", c.Request.Method, "path", c.FullPath(),
			"status", c.Writer.Status(), "duration", time.Since(start))
	}
}

// apiError is the body of every error answer.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func fail(c *gin.Context, status int, code, field, msg string) {
	c.AbortWithStatusJSON(status, apiError{errorBody{Code: code, Message: msg, Field: field}})
}

// failErr maps a controller error to its status code.
func failErr(c *gin.Context, err error) {
	status, body := errorOf(err)
	fail(c, status, body.Code, body.Field, body.Message)
}

// errorOf is the status code and error body of a controller error.
func errorOf(err error) (int, errorBody) {
	if e, ok := controller.AsError(err); ok {
		status := map[controller.Kind]int{
			controller.KindInvalid: http.StatusBadRequest, controller.KindNotFound: http.StatusNotFound,
			controller.KindConflict: http.StatusConflict, controller.KindForbidden: http.StatusForbidden,
		}[e.Kind]
		return status, errorBody{Code: string(e.Kind), Field: e.Field, Message: e.Message}
	}
	return http.StatusInternalServerError, errorBody{Code: "internal", Message: err.Error()}
}

// bind decodes a JSON body strictly: unknown fields, wrong types and
// trailing data are errors that name the field.
func bind(c *gin.Context, v any) bool {
	body, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		fail(c, http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("the body is over %d bytes", MaxBody))
		return false
	}
	if err != nil {
		fail(c, http.StatusBadRequest, "invalid", "", "cannot read body: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field, msg := describeJSONError(err)
		fail(c, http.StatusBadRequest, "invalid", field, msg)
		return false
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		fail(c, http.StatusBadRequest, "invalid", "", "trailing data after the JSON object")
		return false
	}
	return true
}

func describeJSONError(err error) (string, string) {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return te.Field, fmt.Sprintf("%s must be of type %s", te.Field, te.Type)
	case errors.As(err, &se):
		return "", fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.EOF):
		return "", "a JSON body is required"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return f, "unknown field " + f
	}
	return "", "malformed JSON: " + msg
}
