// Package migrations holds the versioned SQL schema, one directory per SQL
// dialect, embedded in the binary and applied at start by the store.
package migrations

import "embed"

// FS holds sqlite/*.sql and postgres/*.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
