package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// ReserveEventIDs hands out the next n event ids inside tx and returns the
// last of them. Call it as the last statement before the commit: the row
// lock it takes is held until tx ends, so a concurrent writer waits for
// this one to commit and then continues after these ids. Ids are therefore
// gapless (a rollback gives them back) and in commit order, and whoever
// reads the events table in id order sees every event exactly once.
func ReserveEventIDs(tx *gorm.DB, n int) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("reserve event ids: n = %d", n)
	}
	var last []int64
	if err := tx.Raw("UPDATE feed_position SET last_id = last_id + ? WHERE id = 1 RETURNING last_id", n).
		Scan(&last).Error; err != nil {
		return 0, fmt.Errorf("reserve event ids: %w", err)
	}
	if len(last) != 1 {
		return 0, fmt.Errorf("reserve event ids: the feed_position row is missing")
	}
	return last[0], nil
}

// LastEventID is the id of the newest committed event: the feed position
// a replica that loads the state now starts following from.
func LastEventID(ctx context.Context, db *gorm.DB) (int64, error) {
	var p FeedPosition
	if err := db.WithContext(ctx).Where("id = 1").Take(&p).Error; err != nil {
		return 0, fmt.Errorf("read feed position: %w", err)
	}
	return p.LastID, nil
}

// IsPostgres reports whether db is a PostgreSQL database (else SQLite).
func IsPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// IsPostgresDB is IsPostgres for the database/sql handle under a gorm.DB.
func IsPostgresDB(db *sql.DB) bool {
	_, sqlite := db.Driver().(*sqlite3.SQLiteDriver)
	return !sqlite
}

// MoreReaders lets n connections read a SQLite database at once (it is
// kept to one, the writer's, otherwise), for a load that reads in
// parallel before any write; the returned func puts it back. PostgreSQL's
// pool is left as it is.
func MoreReaders(db *sql.DB, n int) func() {
	if IsPostgresDB(db) {
		return func() {}
	}
	db.SetMaxOpenConns(n)
	return func() { db.SetMaxOpenConns(1) }
}
