package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
)

// httpFlags bind the HTTP server's limits.
func httpFlags(fs *flag.FlagSet, l *northbound.Limits) {
	fs.DurationVar(&l.ReadHeaderTimeout, "http-read-header-timeout", envDuration("L2LISP_HTTP_READ_HEADER_TIMEOUT", l.ReadHeaderTimeout), "time a client has to send a request's headers (env L2LISP_HTTP_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&l.ReadTimeout, "http-read-timeout", envDuration("L2LISP_HTTP_READ_TIMEOUT", l.ReadTimeout), "time a client has to send a whole request (env L2LISP_HTTP_READ_TIMEOUT)")
	fs.DurationVar(&l.WriteTimeout, "http-write-timeout", envDuration("L2LISP_HTTP_WRITE_TIMEOUT", l.WriteTimeout), "time to answer a request; the event stream is exempt (env L2LISP_HTTP_WRITE_TIMEOUT)")
	fs.DurationVar(&l.IdleTimeout, "http-idle-timeout", envDuration("L2LISP_HTTP_IDLE_TIMEOUT", l.IdleTimeout), "keep-alive connections idle this long are closed (env L2LISP_HTTP_IDLE_TIMEOUT)")
	fs.IntVar(&l.MaxHeaderBytes, "http-max-header-bytes", envInt("L2LISP_HTTP_MAX_HEADER_BYTES", l.MaxHeaderBytes), "larger request headers are answered 431 (env L2LISP_HTTP_MAX_HEADER_BYTES)")
	fs.IntVar(&l.MaxConns, "http-max-conns", envInt("L2LISP_HTTP_MAX_CONNS", l.MaxConns), "open REST/dashboard connections; more wait to be accepted, 0: no limit (env L2LISP_HTTP_MAX_CONNS)")
}

// retentionFlags bind the change feed's retention policy.
func retentionFlags(fs *flag.FlagSet, r *controller.Retention) {
	fs.DurationVar(&r.MaxAge, "events-max-age", envDuration("L2LISP_EVENTS_MAX_AGE", r.MaxAge), "delete change-feed events older than this; 0: no age limit (env L2LISP_EVENTS_MAX_AGE)")
	fs.Int64Var(&r.MaxCount, "events-max-count", int64(envInt("L2LISP_EVENTS_MAX_COUNT", int(r.MaxCount))), "keep at most this many change-feed events; 0: no count limit (env L2LISP_EVENTS_MAX_COUNT)")
	fs.DurationVar(&r.Every, "events-prune-every", envDuration("L2LISP_EVENTS_PRUNE_EVERY", r.Every), "how often to prune the change feed (env L2LISP_EVENTS_PRUNE_EVERY)")
}

func checkLimits(l northbound.Limits, r controller.Retention) error {
	for name, v := range map[string]int64{"--http-read-header-timeout": int64(l.ReadHeaderTimeout),
		"--http-read-timeout": int64(l.ReadTimeout), "--http-write-timeout": int64(l.WriteTimeout),
		"--http-idle-timeout": int64(l.IdleTimeout), "--http-max-header-bytes": int64(l.MaxHeaderBytes),
		"--http-max-conns": int64(l.MaxConns), "--events-max-age": int64(r.MaxAge),
		"--events-max-count": r.MaxCount, "--events-prune-every": int64(r.Every)} {
		if v < 0 {
			return fmt.Errorf("%s must not be negative", name)
		}
	}
	return nil
}

// envInt is envOr for integers; a malformed value keeps def.
func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// defaultTokenFile sits beside the SQLite database, or in the working
// directory with PostgreSQL.
func defaultTokenFile(db string) string {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return "l2lisp-admin-token"
	}
	return filepath.Join(filepath.Dir(db), "l2lisp-admin-token")
}

// adminToken is the bootstrap admin token: --api-token, else the one in
// --api-token-file, else a new one written there readable by its owner
// only. The token itself is never logged.
func adminToken(cfg serveConfig, log *slog.Logger) (string, error) {
	if cfg.apiToken != "" {
		return cfg.apiToken, nil
	}
	path := cfg.apiTokenFile
	if path == "" {
		path = defaultTokenFile(cfg.db)
	}
	if b, err := os.ReadFile(path); err == nil {
		st, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("admin token file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("admin token file %s is readable by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("admin token file %s is empty", path)
		}
		log.Info("admin token read from its file", "file", path)
		return tok, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	tok := controller.NewTokenSecret()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	_, werr := f.WriteString(tok + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("write admin token: %w", err)
	}
	log.Warn("no --api-token given: generated an admin token, readable only by this user", "file", path)
	return tok, nil
}
