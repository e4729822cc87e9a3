// Package e2e holds the end-to-end tests: the real l2lisp binary against a
// real multi-datacenter lab of Open vSwitch instances and host namespaces.
package e2e
