package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/l2lisp/l2lisp/cluster"
	"github.com/l2lisp/l2lisp/mapserver"
	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/reconcile"

	"github.com/gin-gonic/gin"
	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/web"
)

type serveConfig struct {
	db, listen, ofListen, ofTarget, lispListen string
	ofRole, replicaID                          string
	leaderLease                                time.Duration
	apiToken, readToken, apiTokenFile          string
	http                                       northbound.Limits
	retention                                  controller.Retention
	logFormat, logLevel                        string
	learn                                      controller.LearnConfig
	mapCache                                   reconcile.MapCacheConfig
	bfd                                        controller.BFDConfig
	registrationTTL                            time.Duration
	lispReplyRate                              float64
	authFailRate                               float64 // failed Map-Register authentications per second per source
	authFailBurst                              int
	tls                                        tlsConfig
	notifyInterval                             time.Duration
	notifyRetries                              int
	pprofListen                                string
}

func parseServe(args []string) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.db, "db", envOr("L2LISP_DB", "./l2lisp.db"), "SQLite file, or postgres:// URL (env L2LISP_DB)")
	fs.StringVar(&c.listen, "listen", envOr("L2LISP_LISTEN", "127.0.0.1:8080"), "REST API and dashboard address (env L2LISP_LISTEN)")
	fs.StringVar(&c.ofListen, "openflow-listen", envOr("L2LISP_OPENFLOW_LISTEN", ":6653"), "OpenFlow listen address (env L2LISP_OPENFLOW_LISTEN)")
	fs.StringVar(&c.ofTarget, "openflow-target", envOr("L2LISP_OPENFLOW_TARGET", ""), "controller targets switches are told to connect to, e.g. tcp:203.0.113.254:6653; list every replica, comma-separated, so all replicas configure the same set (env L2LISP_OPENFLOW_TARGET)")
	fs.StringVar(&c.ofRole, "openflow-role", envOr("L2LISP_OPENFLOW_ROLE", "auto"), "OpenFlow role asked of every switch: auto (PostgreSQL: the replicas elect a leader, which is MASTER while the others are SLAVE; SQLite: equal), or a fixed equal, master or slave, with no election (env L2LISP_OPENFLOW_ROLE)")
	fs.DurationVar(&c.leaderLease, "leader-lease", envDuration("L2LISP_LEADER_LEASE", cluster.DefaultLease), "how long the elected leader's term lasts without renewal; a standby takes over at most 1.25 x this after the leader dies (env L2LISP_LEADER_LEASE)")
	fs.StringVar(&c.replicaID, "replica-id", envOr("L2LISP_REPLICA_ID", ""), "this replica's name among those sharing the database (default host:port of --listen) (env L2LISP_REPLICA_ID)")
	fs.StringVar(&c.lispListen, "lisp-listen", envOr("L2LISP_LISP_LISTEN", ":4342"), "LISP control plane UDP address (env L2LISP_LISP_LISTEN)")
	fs.StringVar(&c.apiToken, "api-token", envOr("L2LISP_API_TOKEN", ""), "bootstrap admin bearer token, named \"bootstrap\" (env L2LISP_API_TOKEN); if empty, read from --api-token-file or generated there")
	fs.StringVar(&c.apiTokenFile, "api-token-file", envOr("L2LISP_API_TOKEN_FILE", ""), "file (mode 0600) holding the admin token when --api-token is empty (env L2LISP_API_TOKEN_FILE; default l2lisp-admin-token beside the SQLite database, or in the working directory)")
	fs.StringVar(&c.readToken, "read-token", envOr("L2LISP_READ_TOKEN", ""), "bootstrap viewer (read-only) bearer token, named \"bootstrap-viewer\" (env L2LISP_READ_TOKEN)")
	fs.StringVar(&c.logFormat, "log-format", envOr("L2LISP_LOG_FORMAT", "text"), "log format: text or json (env L2LISP_LOG_FORMAT)")
	fs.StringVar(&c.logLevel, "log-level", envOr("L2LISP_LOG_LEVEL", "info"), "debug, info, warn or error (env L2LISP_LOG_LEVEL)")
	fs.DurationVar(&c.registrationTTL, "registration-ttl", envDuration("L2LISP_REGISTRATION_TTL", mapserver.DefaultRegistrationTTL), "lifetime of a LISP registration not refreshed (env L2LISP_REGISTRATION_TTL)")
	fs.Float64Var(&c.lispReplyRate, "lisp-reply-rate", envFloat("L2LISP_LISP_REPLY_RATE", mapserver.DefaultReplyRate), "Map-Replies per second to any one ITR-RLOC, negative for no limit (env L2LISP_LISP_REPLY_RATE)")
	lispAuthFlags(fs, &c)
	notifyFlags(fs, &c)
	fs.StringVar(&c.pprofListen, "pprof-listen", envOr("L2LISP_PPROF_LISTEN", ""), "serve Go profiles (/debug/pprof/) on this host:port, unauthenticated: loopback only (env L2LISP_PPROF_LISTEN)")
	c.learn = controller.DefaultLearnConfig()
	learnFlags(fs, &c.learn)
	c.mapCache = reconcile.DefaultMapCacheConfig()
	mapCacheFlags(fs, &c.mapCache)
	c.bfd = controller.DefaultBFDConfig()
	bfdFlags(fs, &c.bfd)
	c.http, c.retention = northbound.DefaultLimits(), controller.DefaultRetention()
	httpFlags(fs, &c.http)
	retentionFlags(fs, &c.retention)
	tlsFlags(fs, &c.tls)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.check()
}

// check validates the parsed flags and fills the defaults that depend on
// others.
func (c *serveConfig) check() error {
	if err := checkLimits(c.http, c.retention); err != nil {
		return err
	}
	if err := checkBFD(c.bfd); err != nil {
		return err
	}
	for name, addr := range map[string]string{"--listen": c.listen, "--openflow-listen": c.ofListen, "--lisp-listen": c.lispListen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: want host:port", name, addr)
		}
	}
	if _, ok := reconcile.Roles[c.ofRole]; !ok && c.ofRole != "auto" {
		return fmt.Errorf("--openflow-role %q: want auto, equal, master or slave", c.ofRole)
	}
	if c.leaderLease < 200*time.Millisecond || c.leaderLease > 5*time.Minute {
		return fmt.Errorf("--leader-lease %v: want 200ms to 5m", c.leaderLease)
	}
	if c.replicaID == "" {
		c.replicaID = defaultReplicaID(c.listen)
	}
	for _, tg := range strings.Split(c.ofTarget, ",") {
		if c.ofTarget != "" && !strings.HasPrefix(tg, "tcp:") && !strings.HasPrefix(tg, "ssl:") && !strings.HasPrefix(tg, "unix:") {
			return fmt.Errorf("--openflow-target %q: want tcp:host:port, ssl:host:port or unix:path, comma-separated", c.ofTarget)
		}
	}
	if err := checkNotifyFlags(*c); err != nil {
		return err
	}
	if c.mapCache.Size < 1 || c.mapCache.Size > 10_000_000 {
		return fmt.Errorf("--map-cache-size %d: want 1 to 10000000", c.mapCache.Size)
	}
	if c.mapCache.Idle < time.Second || c.mapCache.Idle > 0xffff*time.Second {
		return fmt.Errorf("--map-cache-idle %v: want 1s to 18h12m15s (an OpenFlow idle timeout)", c.mapCache.Idle)
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	if err := c.tls.check(c.ofTarget); err != nil {
		return err
	}
	return nil
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
}

func cmdServe(ctx context.Context, args []string) error {
	cfg, err := parseServe(args)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	cfg.tls.warn(log)
	startPprof(cfg.pprofListen, log)
	if cfg.apiToken, err = adminToken(cfg, log); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.db, log)
	if err != nil {
		return err
	}
	ctl, err := controller.New(ctx, db, log)
	if err != nil {
		return err
	}
	defer ctl.Close()
	go ctl.RunRetention(ctx, cfg.retention)

	ctl.SetLearnConfig(cfg.learn)
	ctl.SetBFDConfig(cfg.bfd)
	// Deferred calls run in reverse: the switches are let go of before the
	// lease is given up, so the next leader never overlaps this one.
	cl, leave, err := startCluster(ctx, db, ctl, cfg, log)
	if err != nil {
		return err
	}
	defer leave()
	sb, err := reconcile.Start(ctx, ctl, reconcile.Config{OpenFlowListen: cfg.ofListen,
		OpenFlowTarget: cfg.ofTarget, Role: reconcile.Roles[cfg.ofRole], Cluster: cl, Learn: cfg.learn, Log: log,
		OpenFlowTLS: cfg.tls.openFlow(), OVSDB: ovsdbOptions(&cfg.tls), MapCache: cfg.mapCache})
	if err != nil {
		return err
	}
	defer sb.Close()

	stopLISP, err := startLISP(ctx, ctl, cfg, cl.IsLeader, log)
	if err != nil {
		return err
	}
	defer stopLISP()

	return serveREST(ctx, ctl, sb, cl, cfg, log)
}

// serveREST serves the REST API, the dashboard and /metrics until ctx ends
// or the server fails.
func serveREST(ctx context.Context, ctl *controller.Controller, sb *reconcile.Southbound, cl *cluster.Cluster, cfg serveConfig, log *slog.Logger) error {
	api := northbound.New(ctl, northbound.Options{AdminToken: cfg.apiToken, ReadToken: cfg.readToken,
		Status: switchStatus{sb}, Cluster: clusterView{cl}, Log: log, Extra: func(r *gin.Engine) {
			r.GET("/metrics", gin.WrapH(metrics.Handler()))
			web.Register(r)
		}})
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.listen, err)
	}
	ln = cfg.tls.restListener(northbound.LimitListener(ln, cfg.http.MaxConns))
	srv := northbound.NewHTTPServer(api.Handler(), cfg.http)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("l2lisp serving", "rest", cfg.tls.scheme()+"://"+ln.Addr().String(), "openflow", cfg.ofListen, "lisp", cfg.lispListen, "db", store.Redact(cfg.db))

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	api.Close()
	_ = srv.Shutdown(shut)
	return nil
}
