package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Material is what a TLS endpoint of l2lisp holds: its certificate and key
// and the CA it trusts for its peers.
type Material struct {
	Cert tls.Certificate
	Leaf *x509.Certificate
	CAs  *x509.CertPool
}

// Load reads a certificate, its key and the CA certificate (PEM files),
// and checks the certificate chains to that CA.
func Load(certFile, keyFile, caFile string) (*Material, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load %s and %s: %w", certFile, keyFile, err)
	}
	pool, err := LoadPool(caFile)
	if err != nil {
		return nil, err
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", certFile, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%s is not signed by the CA in %s: %w", certFile, caFile, err)
	}
	return &Material{Cert: cert, Leaf: leaf, CAs: pool}, nil
}

// LoadPool reads a PEM file of CA certificates.
func LoadPool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no CA certificate in it", caFile)
	}
	return pool, nil
}

// CheckKeyFile reports an error when a private key file can be read by
// anyone but its owner; callers warn, since some secret stores mount
// files 0644 on purpose.
func CheckKeyFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("private key %s has mode %04o: anyone on the host may read it (chmod 600)", path, fi.Mode().Perm())
	}
	return nil
}

// MinVersion is the oldest TLS version any l2lisp endpoint speaks.
const MinVersion = tls.VersionTLS12

// Server is the configuration of a TLS server that does not ask for a
// client certificate: the REST API and dashboard, where browsers and the
// CLI authenticate with bearer tokens.
func (m *Material) Server() *tls.Config {
	return &tls.Config{MinVersion: MinVersion, Certificates: []tls.Certificate{m.Cert}}
}

// MutualServer is the configuration of a TLS server that requires a client
// certificate signed by the CA: OpenFlow, where the certificate says which
// xTR is connecting.
func (m *Material) MutualServer() *tls.Config {
	c := m.Server()
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.ClientCAs = m.CAs
	return c
}

// Client is the configuration of a TLS client that presents this
// certificate and trusts only the CA: the controller dialling a switch's
// OVSDB server. Set ServerName to the name the peer must prove.
func (m *Material) Client() *tls.Config {
	return &tls.Config{MinVersion: MinVersion, Certificates: []tls.Certificate{m.Cert}, RootCAs: m.CAs}
}

// ClientTrusting is a client configuration that trusts only the CA in
// caFile and presents no certificate: the CLI and REST clients.
func ClientTrusting(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, errors.New("no CA file")
	}
	pool, err := LoadPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: MinVersion, RootCAs: pool}, nil
}
