// Package reconcile keeps every edge switch in line with the mapping
// database and feeds what the switches report back to the controller.
//
// The Reconciler follows the change feed, marks the xTRs each change
// affects, compiles their desired flows with package pipeline and pushes
// only the difference (a per-EID delta when it can, a full diff against
// what the switch holds otherwise); it provisions bridges and ports over
// OVSDB. Southbound wires it to the OpenFlow listener and the OVSDB
// manager: connections, packet-ins (host learning, through Punts),
// flow-removed (aging, or a resync when the switch lost a flow behind our
// back), per-port meters and the time a move took to reach every switch.
//
// It reaches the controller only through the State and Learner interfaces,
// and the switches only through FlowSyncer and Provisioner.
package reconcile
