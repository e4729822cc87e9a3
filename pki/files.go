package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// The files of a PKI directory. The xTR bundle directory XTRDir/NAME holds
// exactly what that xTR's switch host needs, under the names the
// controller configures in the switch's SSL table (BundleKey, BundleCert,
// BundleCA inside the xTR's tls_dir).
const (
	CAFile             = "ca.pem"
	CAKeyFile          = "ca-key.pem"
	ControllerCertFile = "controller.pem"
	ControllerKeyFile  = "controller-key.pem"
	XTRDir             = "xtrs"
	BundleKey          = "key.pem"
	BundleCert         = "cert.pem"
	BundleCA           = "ca.pem"
)

// ControllerName is the common name of the controller's certificate. It
// has a space, which no xTR name may contain, so the controller's own
// certificate can never pass for an xTR's.
const ControllerName = "l2lisp controller"

// ErrExists reports a file Init or IssueXTR would overwrite without Force.
var ErrExists = errors.New("already exists")

// Options say what goes into the certificates Init and IssueXTR make.
type Options struct {
	Hosts    []string     // DNS names (subject alternative names)
	IPs      []netip.Addr // IP addresses (subject alternative names)
	Validity time.Duration
	Force    bool // replace existing certificates and keys
}

// Written lists the files a call created, for the operator.
type Written []string

// Init makes dir's CA (unless dir already has one, which it then uses)
// and the controller's certificate, valid as a TLS server for opt's hosts
// and addresses and as a TLS client (OVSDB).
func Init(dir string, opt Options) (Written, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var w Written
	ca, err := LoadAuthority(dir)
	if errors.Is(err, os.ErrNotExist) {
		if ca, err = NewAuthority("l2lisp CA", 0); err != nil {
			return nil, err
		}
		keyPEM, err := ca.KeyPEM()
		if err != nil {
			return nil, err
		}
		if err := writeFiles(dir, []file{{CAKeyFile, keyPEM, 0o600}, {CAFile, ca.CertPEM(), 0o644}}, false); err != nil {
			return nil, err
		}
		w = append(w, filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
	} else if err != nil {
		return nil, err
	}
	is, err := ca.Issue(Request{CommonName: ControllerName, DNSNames: opt.Hosts, IPs: opt.IPs,
		Server: true, Client: true, Validity: opt.Validity})
	if err != nil {
		return w, err
	}
	files := []file{{ControllerKeyFile, is.KeyPEM, 0o600}, {ControllerCertFile, is.CertPEM, 0o644}}
	if err := writeFiles(dir, files, opt.Force); err != nil {
		return w, err
	}
	return append(w, filepath.Join(dir, ControllerCertFile), filepath.Join(dir, ControllerKeyFile)), nil
}

// nameRE is the controller's rule for xTR names; a certificate for any
// other name could never be admitted.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// IssueXTR makes the bundle of xTR name in dir/xtrs/name: its key and
// certificate (common name and DNS name = name, plus opt's names, for TLS
// client and server: the switch is the client of OpenFlow and the server
// of OVSDB) and a copy of the CA certificate.
func IssueXTR(dir, name string, opt Options) (Written, error) {
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("xTR name %q: want 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	ca, err := LoadAuthority(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (run l2lisp pki init first)", err)
	}
	is, err := ca.Issue(Request{CommonName: name, DNSNames: append([]string{name}, opt.Hosts...), IPs: opt.IPs,
		Server: true, Client: true, Validity: opt.Validity})
	if err != nil {
		return nil, err
	}
	bundle := XTRBundle(dir, name)
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", bundle, err)
	}
	files := []file{{BundleKey, is.KeyPEM, 0o600}, {BundleCert, is.CertPEM, 0o644}, {BundleCA, ca.CertPEM(), 0o644}}
	if err := writeFiles(bundle, files, opt.Force); err != nil {
		return nil, err
	}
	return Written{filepath.Join(bundle, BundleCert), filepath.Join(bundle, BundleKey), filepath.Join(bundle, BundleCA)}, nil
}

// XTRBundle is the directory IssueXTR writes xTR name's files to.
func XTRBundle(dir, name string) string { return filepath.Join(dir, XTRDir, name) }

// LoadAuthority reads dir's CA certificate and key.
func LoadAuthority(dir string) (*Authority, error) {
	cert, err := readCert(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", filepath.Join(dir, CAKeyFile))
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CAKeyFile), err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s does not hold the key of %s", CAKeyFile, CAFile)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", filepath.Join(dir, CAFile))
	}
	return &Authority{Cert: cert, Key: key}, nil
}

// readCert reads the first certificate of a PEM file.
func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: no certificate", path)
		}
		if blk.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return c, nil
		}
	}
}

type file struct {
	name string
	data []byte
	mode os.FileMode
}

// writeFiles writes every file or, when one exists and !force, none.
// Each goes through a temporary file created with its final mode, so a key
// is never readable by others, not even for a moment.
func writeFiles(dir string, files []file, force bool) error {
	if !force {
		for _, f := range files {
			p := filepath.Join(dir, f.name)
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s %w (use --force to replace it)", p, ErrExists)
			}
		}
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; Chmod sets the mode whatever the umask.
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
