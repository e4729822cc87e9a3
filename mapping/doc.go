// Package mapping holds the EID-to-RLOC mapping database's types and its
// in-memory lookup index: exact match for MAC EIDs, longest-prefix match for
// IP EIDs, and the covering non-EID prefix that a negative Map-Reply carries.
//
// The package is pure: it knows nothing of SQL, HTTP or switches. The
// controller keeps an Index in step with the database by following the
// change feed.
package mapping
