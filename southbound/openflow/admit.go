package openflow

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Reasons a connection is refused; they label the refusal metric.
const (
	RefusedNoCert       = "no_certificate"        // TLS without a client certificate
	RefusedUntrusted    = "untrusted_certificate" // not signed by the CA, expired, or not for a client
	RefusedTLS          = "tls_handshake"         // not TLS at all, or the handshake failed otherwise
	RefusedUnknownXTR   = "unknown_xtr"           // the certificate names no stored xTR
	RefusedDPIDMismatch = "dpid_mismatch"         // the datapath-id is not the one stored for that xTR
	RefusedDuplicate    = "duplicate"             // another connection holds the datapath-id
)

// Peer is what a connecting switch has shown by the time it asks to be
// admitted: its address, its verified certificate's name and the
// datapath-id of its features reply.
type Peer struct {
	Remote net.Addr
	TLS    bool
	Name   string // common name of the verified client certificate ("" without TLS)
	DPID   uint64
}

// Refusal is one connection turned away. Claimed is the common name of a
// certificate that did not verify: what the peer says, not who it is.
type Refusal struct {
	Peer
	Reason  string
	Claimed string
	Err     error
}

// RefusedError is what an Admit function returns to turn a peer away.
type RefusedError struct {
	Reason string
	Err    error
}

func (e *RefusedError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// Refuse returns a RefusedError for reason.
func Refuse(reason, format string, a ...any) error {
	return &RefusedError{Reason: reason, Err: fmt.Errorf(format, a...)}
}

// AdmitByName admits a TLS peer only when its certificate's common name
// is an xTR lookup knows and the datapath-id it presents is that xTR's.
// The certificate proves the name; the name, not the datapath-id the
// switch claims, picks the flows it may receive.
func AdmitByName(lookup func(name string) (dpid uint64, ok bool)) func(Peer) error {
	return func(p Peer) error {
		if !p.TLS || p.Name == "" {
			return Refuse(RefusedNoCert, "no verified client certificate")
		}
		want, ok := lookup(p.Name)
		if !ok {
			return Refuse(RefusedUnknownXTR, "certificate names %q, which is no xTR", p.Name)
		}
		if p.DPID != want {
			return Refuse(RefusedDPIDMismatch, "xTR %q has datapath-id %016x, the switch presented %016x", p.Name, want, p.DPID)
		}
		return nil
	}
}

// tlsHandshake runs the server side of a TLS handshake within timeout and
// returns the verified client certificate's common name.
func tlsHandshake(ctx context.Context, tc *tls.Conn, timeout time.Duration) (string, error) {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return "", err
	}
	st := tc.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		// Only a server configured without RequireAndVerifyClientCert gets here.
		return "", Refuse(RefusedNoCert, "no verified client certificate")
	}
	return st.VerifiedChains[0][0].Subject.CommonName, nil
}

// tlsRefusal turns a failed TLS handshake into a refusal with its reason.
func tlsRefusal(p Peer, err error) Refusal {
	r := Refusal{Peer: p, Reason: RefusedTLS, Err: err}
	var cv *tls.CertificateVerificationError
	var re *RefusedError
	switch {
	case errors.As(err, &cv):
		r.Reason = RefusedUntrusted
		if len(cv.UnverifiedCertificates) > 0 {
			r.Claimed = cv.UnverifiedCertificates[0].Subject.CommonName
		}
	case errors.As(err, &re):
		r.Reason = re.Reason
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		// crypto/tls has no error type for this; its text has been stable since Go 1.0.
		r.Reason = RefusedNoCert
	}
	return r
}
