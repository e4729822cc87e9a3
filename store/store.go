package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/l2lisp/l2lisp/migrations"
)

// Open connects to the database named by dsn and migrates it to the newest
// schema. A dsn starting with postgres:// or postgresql:// selects
// PostgreSQL; anything else is a SQLite file path.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*gorm.DB, error) {
	return OpenAt(ctx, dsn, -1, log)
}

// OpenAt is Open that migrates only up to version (-1: the newest); tests use
// it to start from an old schema.
func OpenAt(ctx context.Context, dsn string, version int64, log *slog.Logger) (*gorm.DB, error) {
	dialect, dialector, err := dialectorFor(dsn)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
	})
	if err != nil {
		return nil, dbError("open database %s", dsn, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, dbError("open database %s", dsn, err)
	}
	if dialect == "sqlite3" {
		// SQLite has one writer; one connection for writes avoids
		// "database is locked" between our own goroutines.
		sqlDB.SetMaxOpenConns(1)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return nil, dbError("database %s unusable", dsn, err)
	}
	if err := migrate(ctx, sqlDB, dialect, version); err != nil {
		return nil, dbError("database %s", dsn, err)
	}
	if dialect == "sqlite3" && version < 0 {
		prepareBulk(ctx, sqlDB, log)
	}
	v, _ := goose.GetDBVersionContext(ctx, sqlDB)
	log.Info("database ready", "dsn", Redact(dsn), "dialect", dialect, "schema_version", v)
	return db, nil
}

func dialectorFor(dsn string) (string, gorm.Dialector, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "postgres", postgres.Open(dsn), nil
	}
	if dsn == "" {
		return "", nil, fmt.Errorf("empty database path")
	}
	if dir := filepath.Dir(dsn); dir != "." {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return "", nil, fmt.Errorf("database directory %s does not exist", dir)
		}
	}
	// synchronous=NORMAL in WAL mode (set by the connect hook) loses
	// nothing when the process dies (only on power loss).
	q := "?_synchronous=NORMAL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate"
	// The path goes into a file: URI, where '?' and '#' would end it.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(dsn)
	return "sqlite3", sqlite.New(sqlite.Config{DriverName: sqliteDriver, DSN: "file:" + esc + q}), nil
}

// sqliteDriver is the SQLite driver with the settings every connection
// takes:
//   - WAL lets readers run beside the writer. A new database gets 8 KiB
//     pages first (the size is fixed once the file is in WAL mode; an
//     existing file keeps its own): a group commit writes one log frame,
//     and one system call, per page, and with 4 KiB pages that doubled the
//     calls for the same rows.
//   - Statement journals (kept for a statement or savepoint that may have
//     to be undone) stay in memory rather than in a temporary file: the
//     writer's bulk statements and savepoints filled one with thousands of
//     page writes a second.
//   - An 8 MiB page cache (2 MiB by default) keeps the upper levels of a
//     million-row table's indexes in memory. A larger one costs more than
//     it saves: once a b-tree rebalance has borrowed the locking page's
//     number, SQLite walks the whole cache at every commit.
//   - wal_autocheckpoint is raised because a Checkpointer copies the log
//     beside the writer (checkpoint.go).
const sqliteDriver = "sqlite3_l2lisp"

const (
	sqlitePageSize = 8192
	sqliteCacheKiB = 8192
)

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		pragmas := fmt.Sprintf("PRAGMA page_size = %d; PRAGMA journal_mode = WAL; PRAGMA temp_store = MEMORY; "+
			"PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = %d", sqlitePageSize, sqliteCacheKiB, writerCheckpointPages)
		if _, err := c.Exec(pragmas, nil); err != nil {
			return fmt.Errorf("sqlite connection settings: %w", err)
		}
		return nil
	}})
}

func migrate(ctx context.Context, db *sql.DB, dialect string, version int64) error {
	dir := "sqlite"
	if dialect == "postgres" {
		dir = "postgres"
	}
	sub, err := fs.Sub(migrations.FS, dir)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	var opts []goose.ProviderOption
	if dialect == "postgres" {
		// Replicas started together must not apply the same migration
		// twice: an advisory lock makes them take turns.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(goose.Dialect(dialect), db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if version < 0 {
		_, err = p.Up(ctx)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	return nil
}
