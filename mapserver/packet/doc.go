// Package packet encodes and decodes LISP control-plane messages
// (RFC 9301): Map-Request, Map-Reply, Map-Register, Map-Notify,
// Map-Notify-Ack and the Encapsulated Control Message (ECM), together with
// the address encodings the l2lisp controller needs (IPv4, IPv6, MAC and the
// RFC 8060 Instance-ID LCAF).
//
// The package is pure: it performs no I/O and depends only on the standard
// library.
//
// Decoding is zero-copy where it matters for throughput: byte slices in a
// decoded message (authentication data, opaque LCAF bodies, ECM payloads)
// alias the input buffer, so callers that reuse their receive buffer must
// copy what they keep. Each message type has a Decode method that reuses the
// slices already held by the receiver, and an Append method that writes into
// a caller-supplied buffer, so a steady-state server loop does not allocate.
//
// Decoders never panic: every length and count is checked before use and
// failures are reported as errors wrapping ErrTruncated, ErrUnknownType or a
// *FieldError.
package packet
