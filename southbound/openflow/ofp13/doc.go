// Package ofp13 is a compact, pure OpenFlow 1.3 (version 0x04) wire codec:
// the messages, OXM matches, instructions and actions l2lisp needs to drive
// Open vSwitch, plus the few Nicira extensions OVS accepts in OpenFlow 1.3
// (NXM classes in matches and set-field, NXAST_REG_MOVE, NXAST_CONTROLLER).
//
// It does no I/O beyond reading one framed message from a reader; the
// connection logic lives in the parent package.
package ofp13
