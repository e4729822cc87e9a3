// Package client holds the LISP clients behind the l2lisp lig and register
// commands: a Map-Request with its Map-Reply (Lig) and a signed
// Map-Register with its optional Map-Notify (Register).
package client
