package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/southbound/ovsdb"
)

// tlsConfig is what serve is told about TLS.
type tlsConfig struct {
	cert, key, ca string
	insecure      bool
	mat           *pki.Material // loaded; nil with insecure
}

// insecureFlag is the one way to run without TLS; its name says what it does.
const insecureFlag = "insecure-plaintext"

func tlsFlags(fs *flag.FlagSet, c *tlsConfig) {
	fs.StringVar(&c.cert, "tls-cert", envOr("L2LISP_TLS_CERT", ""), "controller certificate, PEM: the REST API, dashboard and OpenFlow serve it, OVSDB presents it (env L2LISP_TLS_CERT; make one with l2lisp pki init)")
	fs.StringVar(&c.key, "tls-key", envOr("L2LISP_TLS_KEY", ""), "private key of --tls-cert, PEM (env L2LISP_TLS_KEY)")
	fs.StringVar(&c.ca, "tls-ca", envOr("L2LISP_TLS_CA", ""), "CA certificate, PEM: switches' OpenFlow client and OVSDB server certificates must chain to it (env L2LISP_TLS_CA)")
	fs.BoolVar(&c.insecure, insecureFlag, envOr("L2LISP_INSECURE_PLAINTEXT", "") == "true", "run with NO TLS at all: plain HTTP, OpenFlow and OVSDB that anyone on the path can read and forge; for throwaway tests only (env L2LISP_INSECURE_PLAINTEXT=true)")
}

// errNoTLS is the message of a serve started with neither TLS nor the flag.
var errNoTLS = errors.New("refusing to start without TLS: give --tls-cert, --tls-key and --tls-ca " +
	"(create them with: l2lisp pki init --dir DIR --host NAME --ip ADDR), " +
	"or --" + insecureFlag + " to run every channel in plain text, for throwaway tests only")

// check validates the TLS flags against the OpenFlow targets and loads
// the files.
func (c *tlsConfig) check(ofTarget string) error {
	given := 0
	for _, f := range []string{c.cert, c.key, c.ca} {
		if f != "" {
			given++
		}
	}
	switch {
	case given == 0 && !c.insecure:
		return errNoTLS
	case given > 0 && c.insecure:
		return fmt.Errorf("--%s contradicts --tls-cert, --tls-key and --tls-ca: give one or the other", insecureFlag)
	case c.insecure:
		return nil
	case given < 3:
		return errors.New("--tls-cert, --tls-key and --tls-ca go together: give all three")
	}
	for _, tg := range strings.Split(ofTarget, ",") {
		if strings.HasPrefix(tg, "tcp:") {
			return fmt.Errorf("--openflow-target %q: with TLS, switches must connect with ssl: targets, not tcp: ones", ofTarget)
		}
	}
	m, err := pki.Load(c.cert, c.key, c.ca)
	if err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	c.mat = m
	return nil
}

// warn logs what the operator should know about the TLS setup.
func (c *tlsConfig) warn(log *slog.Logger) {
	if c.insecure {
		log.Warn("!!! INSECURE: --" + insecureFlag + " given: the REST API, the dashboard, OpenFlow and OVSDB run WITHOUT TLS; " +
			"anyone on the network can read the API token, impersonate a switch and rewrite its flows. Never use this across a network you do not fully control.")
		return
	}
	if err := pki.CheckKeyFile(c.key); err != nil {
		log.Warn("TLS key file is too open", "err", err)
	}
	log.Info("TLS on every channel", "certificate", c.cert, "ca", c.ca, "subject", c.mat.Leaf.Subject.CommonName,
		"not_after", c.mat.Leaf.NotAfter)
}

// restListener wraps the REST API's listener in TLS (HTTP/1.1; TLS 1.2+).
func (c *tlsConfig) restListener(ln net.Listener) net.Listener {
	if c.mat == nil {
		return ln
	}
	cfg := c.mat.Server()
	cfg.NextProtos = []string{"http/1.1"}
	return tls.NewListener(ln, cfg)
}

// scheme is how clients reach the REST API.
func (c *tlsConfig) scheme() string {
	if c.mat == nil {
		return "http"
	}
	return "https"
}

// openFlow is the OpenFlow listener's mutual-TLS configuration, nil
// without TLS.
func (c *tlsConfig) openFlow() *tls.Config {
	if c.mat == nil {
		return nil
	}
	return c.mat.MutualServer()
}

// ovsdbOptions are the Manager's options: the controller's certificate
// and the CA for ssl: endpoints, and no plain tcp: ones, with TLS.
func ovsdbOptions(c *tlsConfig) []ovsdb.Option {
	if c.mat == nil {
		return nil
	}
	return []ovsdb.Option{ovsdb.WithTLS(c.mat.Client()), ovsdb.WithRequireTLS()}
}
