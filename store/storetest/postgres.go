package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Env names the PostgreSQL server tests use: a URL of a role that may
// create databases and roles (scripts/test.sh starts one).
const Env = "L2LISP_TEST_POSTGRES"

// Databases are the databases a test runs on: a SQLite file in dir, and a
// fresh PostgreSQL database when $L2LISP_TEST_POSTGRES names a server.
func Databases(t testing.TB, dir string) map[string]string {
	t.Helper()
	dbs := map[string]string{"sqlite": dir + "/l2lisp.db"}
	if os.Getenv(Env) == "" {
		t.Logf("%s not set: PostgreSQL not tested", Env)
		return dbs
	}
	dbs["postgres"] = Postgres(t)
	return dbs
}

// Postgres creates an empty database on the $L2LISP_TEST_POSTGRES server,
// dropped when the test ends, and returns its URL. It fails the test when
// the variable is not set.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn, admin := open(t)
	name := "l2lisp_t_" + random(6)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	return u.String()
}

// PostgresWithPassword is Postgres owned by a new role that logs in with
// password; both are dropped when the test ends.
func PostgresWithPassword(t testing.TB, password string) string {
	t.Helper()
	dsn, admin := open(t)
	name := "l2lisp_t_" + random(6)
	for _, q := range []string{
		"CREATE ROLE " + name + " LOGIN PASSWORD '" + password + "'",
		"CREATE DATABASE " + name + " OWNER " + name,
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("create test role and database: %v", err)
		}
	}
	t.Cleanup(func() {
		defer admin.Close()
		for _, q := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "DROP ROLE IF EXISTS " + name} {
			if _, err := admin.Exec(q); err != nil {
				t.Logf("%s: %v", q, err)
			}
		}
	})
	u, _ := url.Parse(dsn)
	u.User = url.UserPassword(name, password)
	u.Path = "/" + name
	return u.String()
}

func open(t testing.TB) (string, *sql.DB) {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		t.Fatalf("%s is not set", Env)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	if err := db.Ping(); err != nil {
		t.Fatalf("%s unreachable: %v", Env, err)
	}
	return dsn, db
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
