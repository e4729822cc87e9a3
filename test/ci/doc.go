// Package ci holds what CI runs around the tests: testreport, which prints
// every skipped test and fails on a skip the allow-list (skips.allow) does
// not name.
package ci
