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
// leader (nil: always) says whether this replica expires registrations and
// publishes to subscribers: one replica does, every replica answers.
func startLISP(ctx context.Context, ctl *controller.Controller, cfg serveConfig, leader func() bool, log *slog.Logger) (stop func(), err error) {
	retries := cfg.notifyRetries
	if retries == 0 {
		retries = -1 // NotifyConfig's zero means the default; the flag's means none
	}
	s, err := mapserver.Listen(ctx, ctl, mapserver.Config{Listen: cfg.lispListen, ReplyRate: cfg.lispReplyRate,
		RegistrationTTL: cfg.registrationTTL, AuthFailRate: cfg.authFailRate, AuthFailBurst: cfg.authFailBurst,
		Leader: leader, Log: log.With("component", "lisp"),
		Notify: mapserver.NotifyConfig{Interval: cfg.notifyInterval, Retries: retries, Publisher: leader}})
	if err != nil {
		return nil, fmt.Errorf("lisp control plane: %w", err)
	}
	log.Info("lisp map-server and map-resolver listening", "addr", s.Addr().String(),
		"registration_ttl", cfg.registrationTTL, "reply_rate", cfg.lispReplyRate,
		"auth_fail_rate", cfg.authFailRate, "auth_fail_burst", cfg.authFailBurst,
		"map_notify_interval", cfg.notifyInterval, "map_notify_retries", cfg.notifyRetries)
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

// notifyFlags are the timers of acknowledged Map-Notify (RFC 9301 §5.7):
// every unsolicited Map-Notify (publications to RFC 9437 subscribers, the
// notice to an xTR whose EID moved away) is sent again every interval
// until a Map-Notify-Ack arrives, at most retries times.
func notifyFlags(fs *flag.FlagSet, c *serveConfig) {
	fs.DurationVar(&c.notifyInterval, "map-notify-interval", envDuration("L2LISP_MAP_NOTIFY_INTERVAL", mapserver.DefaultNotifyInterval),
		"time between copies of an unacknowledged Map-Notify (env L2LISP_MAP_NOTIFY_INTERVAL)")
	fs.IntVar(&c.notifyRetries, "map-notify-retries", int(envFloat("L2LISP_MAP_NOTIFY_RETRIES", mapserver.DefaultNotifyRetries)),
		"copies of an unacknowledged Map-Notify sent after the first before giving up, 0 for none (env L2LISP_MAP_NOTIFY_RETRIES)")
}

func checkNotifyFlags(c serveConfig) error {
	if c.notifyInterval <= 0 {
		return fmt.Errorf("--map-notify-interval %v: want a positive duration", c.notifyInterval)
	}
	if c.notifyRetries < 0 || c.notifyRetries > 100 {
		return fmt.Errorf("--map-notify-retries %d: want 0-100", c.notifyRetries)
	}
	return nil
}
