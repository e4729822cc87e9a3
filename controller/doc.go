// Package controller holds the state of l2lisp: networks, sites, xTRs,
// ports and the mapping database, validated and written through one
// group-committing writer together with the change feed (the events table)
// that every replica follows to keep its in-memory caches and index
// current. Host learning and mobility (what a sighting of a MAC means:
// learn, move, duplicate, age) live here too, as rules over that state.
//
// Packages above it reach it through small interfaces: pipeline compiles
// the views it builds, reconcile pushes them to the switches, mapserver and
// northbound serve it.
package controller
