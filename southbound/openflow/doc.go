// Package openflow is l2lisp's OpenFlow 1.3 southbound: it accepts Open
// vSwitch connections (hello, features, set-config, role), keeps them alive
// with echoes, and reconciles each switch's flows and groups with the
// desired state the pipeline compiler produces (see Flow and GroupEntry).
//
// Behind a TLS listener the server requires each switch's certificate and
// admits a connection only after its features reply, when Admit accepts
// the certificate's name and the datapath-id (AdmitByName) and no other
// connection holds that datapath-id; every refusal goes to OnRefused with
// its reason, and a refused peer never gets configuration or flows, nor
// do its packet-ins reach OnPacketIn.
//
// Ownership and change detection ride on cookies: our flows carry
// CookieOwner in the top 16 bits, the pipeline's stage in the next 8, and a
// hash of the flow's content in the low 40, so after a reconnect Sync reads
// the switch's flows and rewrites only those whose cookie differs. The wire
// codec is the ofp13 subpackage.
package openflow
