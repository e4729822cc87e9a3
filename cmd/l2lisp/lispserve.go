package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/l2lisp/l2lisp/mapserver"

	"github.com/l2lisp/l2lisp/controller"
)

// startLISP runs the Map-Server and Map-Resolver on cfg.lispListen.
func startLISP(ctx context.Context, ctl *controller.Controller, cfg serveConfig, log *slog.Logger) (stop func(), err error) {
	s, err := mapserver.Listen(ctx, ctl, mapserver.Config{Listen: cfg.lispListen, ReplyRate: cfg.lispReplyRate,
		RegistrationTTL: cfg.registrationTTL, AuthFailRate: cfg.authFailRate, AuthFailBurst: cfg.authFailBurst,
		Log: log.With("component", "lisp")})
	if err != nil {
		return nil, fmt.Errorf("lisp control plane: %w", err)
	}
	log.Info("lisp map-server and map-resolver listening", "addr", s.Addr().String(),
		"registration_ttl", cfg.registrationTTL, "reply_rate", cfg.lispReplyRate,
		"auth_fail_rate", cfg.authFailRate, "auth_fail_burst", cfg.authFailBurst)
	return s.Close, nil
}

// lispAuthFlags are the Map-Server's budget of failed authentications per
// source address: a source over it has its Map-Registers dropped before
// any HMAC is computed.
func lispAuthFlags(fs *flag.FlagSet, c *serveConfig) {
	fs.Float64Var(&c.authFailRate, "lisp-auth-fail-rate", envFloat("L2LISP_LISP_AUTH_FAIL_RATE", mapserver.DefaultAuthFailRate),
		"failed Map-Register authentications per second a source may make after its burst, negative for no budget (env L2LISP_LISP_AUTH_FAIL_RATE)")
	fs.IntVar(&c.authFailBurst, "lisp-auth-fail-burst", int(envFloat("L2LISP_LISP_AUTH_FAIL_BURST", mapserver.DefaultAuthFailBurst)),
		"failed Map-Register authentications a source may make at once (env L2LISP_LISP_AUTH_FAIL_BURST)")
}

// envDuration is envOr for durations; a malformed value keeps def.
func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// envFloat is envOr for numbers; a malformed value keeps def.
func envFloat(name string, def float64) float64 {
	if v, ok := os.LookupEnv(name); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}
