// Package metrics defines l2lisp's Prometheus metrics in one place, so every
// part counts under the same names and GET /metrics shows them all.
package metrics
