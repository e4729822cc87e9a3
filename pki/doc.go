// Package pki makes and loads l2lisp's public key infrastructure: one
// certificate authority, the controller's certificate (a TLS server for the
// REST API, OpenFlow and, as a client, for OVSDB) and one certificate per
// xTR whose common name is the xTR's name. Keys are ECDSA P-256, which Go,
// OpenSSL 3 (Open vSwitch) and browsers all accept; private keys are
// written readable by their owner only.
package pki
