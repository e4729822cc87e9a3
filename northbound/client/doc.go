// Package client is a Go client of the l2lisp REST API (/api/v1): typed
// methods for every endpoint, API errors as *APIError, and a change-feed
// follower that reconnects with Last-Event-ID so no event is lost.
package client
