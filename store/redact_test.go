package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/store"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://l2lisp:s3cret@db.example:5432/l2lisp?sslmode=disable", "postgres://l2lisp:xxxxx@db.example:5432/l2lisp?sslmode=disable"},
		{"postgresql://u:p%40ss@[2001:db8::1]/x", "postgresql://u:xxxxx@[2001:db8::1]/x"},
		{"postgres://u:pa/ss?w@host/db", "postgres://u:xxxxx@host/db"},
		{"postgres://u@host/db?password=hunter22&sslmode=require", "postgres://u@host/db?password=xxxxx&sslmode=require"},
		{"postgres://host/db", "postgres://host/db"},
		{"host=db user=u password=hunter22 dbname=x", "host=db user=u password=xxxxx dbname=x"},
		{"./l2lisp.db", "./l2lisp.db"},
		{"/var/lib/l2lisp/a@b.db", "/var/lib/l2lisp/a@b.db"},
	} {
		if got := store.Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestOpenHidesPassword opens PostgreSQL URLs that cannot work (nothing
// listens; a malformed port) and finds the password in neither the error
// nor the log.
func TestOpenHidesPassword(t *testing.T) {
	const pw = "pw-7Qz3vLk9-not-in-logs"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, dsn := range []string{
		"postgres://l2lisp:" + pw + "@" + closed + "/l2lisp?sslmode=disable&connect_timeout=2",
		"postgres://l2lisp@" + closed + "/l2lisp?sslmode=disable&connect_timeout=2&password=" + pw,
		"postgres://l2lisp:" + pw + "@127.0.0.1:notaport/l2lisp",
	} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		db, err := store.Open(context.Background(), dsn, log)
		if err == nil {
			sqlDB, _ := db.DB()
			sqlDB.Close()
			t.Fatalf("Open(%s) succeeded", store.Redact(dsn))
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(logs.String(), pw) {
			t.Errorf("the password leaked:\nerror: %v\nlog: %s", err, logs.String())
		}
		if !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("error does not show the redacted setting: %v", err)
		}
	}
}
