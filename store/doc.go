// Package store opens the controller's database (SQLite by default,
// PostgreSQL for several replicas), applies the versioned schema from
// migrations/, and defines the rows the controller reads and writes.
//
// The database is the only state that matters: everything a controller
// holds in memory is rebuilt from it at start and kept current by following
// the events table, the change feed.
package store
