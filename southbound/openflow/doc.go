// Package openflow is l2lisp's OpenFlow 1.3 southbound: it accepts Open
// vSwitch connections (hello, features, set-config, role), keeps them alive
// with echoes, and reconciles each switch's flows and groups with the
// desired state the pipeline compiler produces (see Flow and GroupEntry).
//
// Ownership and change detection ride on cookies: our flows carry
// CookieOwner in the top 16 bits, the pipeline's stage in the next 8, and a
// hash of the flow's content in the low 40, so after a reconnect Sync reads
// the switch's flows and rewrites only those whose cookie differs. The wire
// codec is the ofp13 subpackage.
package openflow
