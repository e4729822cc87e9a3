// Package mapserver is the l2lisp LISP control plane on UDP 4342: a Map-Server
// that authenticates Map-Registers against the sites of the controller and
// stores what they register, and a Map-Resolver that answers Map-Requests
// (plain or encapsulated) from the controller's mapping index.
//
// A site may register only what its scope holds, never an operator's
// static mapping, and another site's EID only when both scopes hold it
// (controller.ReplaceRefusal, checked here and again when written). A
// Map-Register costs at most one HMAC verification whatever the number of
// sites: the one site whose key can have signed it is chosen from the
// message first (candidate.go), and a source that keeps failing
// authentication is dropped before any HMAC.
//
// The server reads with several goroutines, each on its own SO_REUSEPORT
// socket where the platform has it, in batches of datagrams per system
// call (recvmmsg/sendmmsg on Linux), with UDP GRO on: a run of messages
// one xTR sent back to back (with GSO, or coalesced by the NIC's driver)
// is read as one, and each message in it handled as if it came alone.
// A Map-Request is answered without
// allocating. Registrations that change nothing only extend the expiry,
// which is persisted in batches (write-behind); registrations that do
// change a record go to a pool of workers that write through the
// controller and answer once the change is committed.
//
// It also serves publish/subscribe (RFC 9437, pubsub.go): subscriptions
// authenticated with the subscriber's site key and stored through the
// controller's change feed, a Map-Notify to every subscriber of a changed
// mapping, and every unsolicited Map-Notify retransmitted until a signed
// Map-Notify-Ack comes back (notify.go, pending.go).
//
// Its wire codec is the pure package packet; the lig and register clients
// are in client, the batched UDP I/O in udpio.
package mapserver
