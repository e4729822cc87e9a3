// Package storetest gives tests a database of their own: a SQLite file in
// the test's directory, or a fresh PostgreSQL database beside the one
// L2LISP_TEST_POSTGRES names, dropped again when the test ends. Tests on a
// database of their own can run beside other tests on the same server.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for CREATE/DROP DATABASE
)

// EnvPostgres names the variable holding the test server's URL.
const EnvPostgres = "L2LISP_TEST_POSTGRES"

// SQLite returns the path of a new SQLite database file.
func SQLite(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "l2lisp.db")
}

// Postgres creates an empty database and returns its URL, or "" (after
// logging why) when L2LISP_TEST_POSTGRES is not set.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Logf("%s not set: PostgreSQL not tested", EnvPostgres)
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "l2lisp_t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends the sessions of processes the test started and did
		// not stop (a killed replica's connections linger a moment).
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Databases returns the databases a test should run on by name: "sqlite"
// always, "postgres" when a server is configured.
func Databases(t testing.TB) map[string]string {
	t.Helper()
	dbs := map[string]string{"sqlite": SQLite(t)}
	if dsn := Postgres(t); dsn != "" {
		dbs["postgres"] = dsn
	}
	return dbs
}
