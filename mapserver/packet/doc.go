// Package packet encodes and decodes LISP control-plane messages
// (RFC 9301): Map-Request, Map-Reply, Map-Register, Map-Notify,
// Map-Notify-Ack and the Encapsulated Control Message (ECM), together with
// the address encodings the l2lisp controller needs (IPv4, IPv6, MAC and the
// RFC 8060 Instance-ID LCAF), and the data-plane headers that carry
// Ethernet frames between sites: LISP-GPE (RFC 9305) and VXLAN (RFC 7348).
//
// Publish/subscribe (RFC 9437) rides on these messages: a Map-Request with
// the I bit carries the subscriber's 128-bit xTR-ID and 64-bit site-ID after
// its records, and the N bit of an EID-Record (MapRequest.Notify) asks to be
// notified of changes to that EID-prefix. Map-Register, Map-Notify and
// Map-Notify-Ack carry the same trailer behind their own I bit. A
// Map-Notify-Ack is a MapNotify with Ack set: MapNotify.Acknowledge builds
// it from the Map-Notify it answers, and PeekNonce reads the nonce that
// pairs them without a full decode.
//
// Authentication (Sign, Verify, Authenticator) covers Map-Register,
// Map-Notify and Map-Notify-Ack: the HMAC is taken over the whole message,
// xTR-ID trailer included, with the authentication data zeroed.
//
// The package is pure: it performs no I/O and depends only on the standard
// library.
//
// Decoding is zero-copy where it matters for throughput: byte slices in a
// decoded message (authentication data, opaque LCAF bodies, ECM payloads,
// the inner frame of an Overlay) alias the input buffer, so callers that
// reuse their receive buffer must copy what they keep. Each message type has
// a Decode method that reuses the slices already held by the receiver, and
// an Append method that writes into a caller-supplied buffer, so a
// steady-state server loop does not allocate.
//
// Decoders never panic: every length and count is checked before use and
// failures are reported as errors wrapping ErrTruncated, ErrUnknownType or a
// *FieldError.
package packet
