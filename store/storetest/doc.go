// Package storetest gives tests their own PostgreSQL database, so tests of
// several packages (and several people) can share one server.
package storetest
