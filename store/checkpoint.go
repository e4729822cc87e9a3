package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// SQLite in WAL mode appends each commit to the -wal file and copies the
// log back into the database file (a checkpoint) once it reaches
// wal_autocheckpoint pages: inside the commit that crossed the line, on
// the committing connection, with an fsync of the log and one of the
// database. Under a steady stream of writes that put the copying, disk
// waits included, on the single writer every few commits: about half of
// its commit time.
//
// A Checkpointer copies the log beside the writer instead, on a connection
// of its own, several times a second. Its checkpoints are PASSIVE: they
// copy what they can and never make the writer wait. The writer's
// connections still checkpoint themselves, but only once the log reaches
// writerCheckpointPages; by then the Checkpointer has copied nearly all of
// it, and that checkpoint is what lets SQLite start the log over from its
// beginning (which needs a write to begin when the whole log is copied: a
// busy writer gives that right after its own checkpoint, rarely after
// another connection's).

// writerCheckpointPages is the wal_autocheckpoint of every connection:
// 16 MiB of pages of sqlitePageSize (SQLite's default is 1000 pages).
const writerCheckpointPages = 16 << 20 / sqlitePageSize

// checkpointEvery is how often a Checkpointer copies the log.
var checkpointEvery = 200 * time.Millisecond

// checkpointTimeout bounds one checkpoint.
const checkpointTimeout = 30 * time.Second

// Checkpointer copies the WAL of a SQLite database back into it, on a
// connection of its own. The one StartCheckpointer returns for PostgreSQL,
// and a nil one, do nothing.
type Checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	stop chan struct{}
	wg   sync.WaitGroup
}

// StartCheckpointer starts copying the log of db's SQLite file; for
// PostgreSQL it returns a Checkpointer that does nothing.
func StartCheckpointer(db *gorm.DB, log *slog.Logger) (*Checkpointer, error) {
	d, ok := db.Dialector.(*sqlite.Dialector)
	if !ok {
		return &Checkpointer{}, nil
	}
	conn, err := sql.Open(sqliteDriver, d.DSN)
	if err != nil {
		return nil, fmt.Errorf("checkpoint connection: %w", err)
	}
	conn.SetMaxOpenConns(1)
	cp := &Checkpointer{db: conn, log: log, stop: make(chan struct{})}
	cp.wg.Add(1)
	go cp.run()
	return cp, nil
}

// Close stops the checkpoints and closes their connection.
func (cp *Checkpointer) Close() {
	if cp == nil || cp.db == nil {
		return
	}
	close(cp.stop)
	cp.wg.Wait()
	_ = cp.db.Close()
}

func (cp *Checkpointer) run() {
	defer cp.wg.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-cp.stop:
			return
		}
		if err := cp.checkpoint(); err != nil {
			cp.log.Warn("wal checkpoint failed", "err", err)
		}
	}
}

// checkpoint runs one PASSIVE checkpoint.
func (cp *Checkpointer) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
	defer cancel()
	if _, err := cp.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return fmt.Errorf("wal checkpoint: %w", err)
	}
	return nil
}
