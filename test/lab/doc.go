// Package lab builds a local multi-datacenter network for tests and demos:
// one network namespace per datacenter, each with its own Open vSwitch
// (userspace datapath), an RLOC on a WAN-facing bridge, hosts as namespaces
// behind veth access ports, and a management link to the controller.
package lab
