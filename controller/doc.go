// Package controller is the l2lisp control logic: it validates and applies
// changes to the mapping database, publishes every change on one change feed
// (the events table) that any replica can follow, keeps the in-memory state
// rebuilt from that feed, and compiles the desired flows of every edge
// switch from it (a pure function, see pipeline.go).
package controller
