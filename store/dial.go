package store

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dial connects to a database Open has already migrated, with a pool of at
// most conns connections. A small pool of its own keeps, say, the
// leader's lease renewal from queueing behind a burst of writes.
func Dial(ctx context.Context, dsn string, conns int) (*gorm.DB, error) {
	_, dialector, err := dialectorFor(dsn)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return nil, dbError("open database %s", dsn, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, dbError("open database %s", dsn, err)
	}
	sqlDB.SetMaxOpenConns(conns)
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, dbError("database %s unusable", dsn, err)
	}
	return db, nil
}
