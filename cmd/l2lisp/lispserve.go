package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/l2lisp/l2lisp/mapserver"

	"github.com/l2lisp/l2lisp/controller"
)

// startLISP runs the Map-Server and Map-Resolver on cfg.lispListen.
// leader (nil: always) says whether this replica expires registrations.
func startLISP(ctx context.Context, ctl *controller.Controller, cfg serveConfig, leader func() bool, log *slog.Logger) (stop func(), err error) {
	s, err := mapserver.Listen(ctx, ctl, mapserver.Config{Listen: cfg.lispListen, ReplyRate: cfg.lispReplyRate,
		RegistrationTTL: cfg.registrationTTL, Leader: leader, Log: log.With("component", "lisp")})
	if err != nil {
		return nil, fmt.Errorf("lisp control plane: %w", err)
	}
	log.Info("lisp map-server and map-resolver listening", "addr", s.Addr().String(),
		"registration_ttl", cfg.registrationTTL, "reply_rate", cfg.lispReplyRate)
	return s.Close, nil
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
