// Package frame decodes what host learning needs from an Ethernet frame a
// switch punted to the controller: the MAC addresses and, for ARP and
// IPv6 neighbor discovery, the IP-to-MAC binding the sender announces. It
// is pure: no I/O, no state.
package frame
