// Package northbound is the operators' REST API (JSON under /api/v1, gin):
// handlers validate input, call the controller and return; every error is
// {"error":{"code","message","field"}} with a 4xx status for bad input.
package northbound
