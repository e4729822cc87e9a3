// Package pkitest gives tests a throwaway PKI made by package pki: a CA,
// the controller's certificate (for localhost, 127.0.0.1, ::1 and the
// lab's management address 203.0.113.254) and xTR bundles on demand, with
// HTTPS servers and clients that trust only that CA.
package pkitest

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/l2lisp/l2lisp/pki"
)

// PKI is one test's certificate authority in Dir.
type PKI struct {
	Dir      string
	Material *pki.Material // the controller's certificate and the CA
}

// New makes a PKI in a temporary directory of t.
func New(t testing.TB) *PKI {
	t.Helper()
	return NewIn(t, t.TempDir())
}

// NewIn makes a PKI in dir.
func NewIn(t testing.TB, dir string) *PKI {
	t.Helper()
	ips := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("203.0.113.254")}
	if _, err := pki.Init(dir, pki.Options{Hosts: []string{"localhost"}, IPs: ips}); err != nil {
		t.Fatalf("pki init: %v", err)
	}
	p := &PKI{Dir: dir}
	m, err := pki.Load(p.CertFile(), p.KeyFile(), p.CAFile())
	if err != nil {
		t.Fatalf("pki load: %v", err)
	}
	p.Material = m
	return p
}

// CAFile, CertFile and KeyFile are the paths serve's --tls-ca, --tls-cert
// and --tls-key take.
func (p *PKI) CAFile() string   { return filepath.Join(p.Dir, pki.CAFile) }
func (p *PKI) CertFile() string { return filepath.Join(p.Dir, pki.ControllerCertFile) }
func (p *PKI) KeyFile() string  { return filepath.Join(p.Dir, pki.ControllerKeyFile) }

// ServeFlags are serve's TLS flags for this PKI.
func (p *PKI) ServeFlags() []string {
	return []string{"--tls-cert", p.CertFile(), "--tls-key", p.KeyFile(), "--tls-ca", p.CAFile()}
}

// XTR issues xTR name's bundle (once) and returns its directory.
func (p *PKI) XTR(t testing.TB, name string) string {
	t.Helper()
	dir := pki.XTRBundle(p.Dir, name)
	if _, err := pki.IssueXTR(p.Dir, name, pki.Options{}); err != nil && !errors.Is(err, pki.ErrExists) {
		t.Fatalf("pki issue %s: %v", name, err)
	}
	return dir
}

// ClientTLS trusts only the CA and presents no certificate.
func (p *PKI) ClientTLS() *tls.Config {
	return &tls.Config{MinVersion: pki.MinVersion, RootCAs: p.Material.CAs}
}

// Client is an HTTP client that trusts only the CA.
func (p *PKI) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = p.ClientTLS()
	return &http.Client{Transport: tr}
}

// Server starts h over HTTPS with the controller's certificate, closed when
// t ends. Its Client, like ours, trusts only the CA.
func (p *PKI) Server(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = p.Material.Server()
	srv.StartTLS()
	// httptest's client trusts the leaf itself; make it go through the CA.
	srv.Client().Transport.(*http.Transport).TLSClientConfig = p.ClientTLS()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}
