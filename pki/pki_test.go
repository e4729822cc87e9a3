package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func mustInit(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := Init(dir, Options{Hosts: []string{"ctl.example.net"}, IPs: []netip.Addr{netip.MustParseAddr("203.0.113.254"), netip.MustParseAddr("::1")}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func verify(t *testing.T, dir, certFile string, opts x509.VerifyOptions) error {
	t.Helper()
	pool, err := LoadPool(filepath.Join(dir, CAFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := readCert(certFile)
	if err != nil {
		t.Fatal(err)
	}
	opts.Roots = pool
	_, err = c.Verify(opts)
	return err
}

func TestInitChainAndNames(t *testing.T) {
	dir := mustInit(t)
	ctl := filepath.Join(dir, ControllerCertFile)
	for _, name := range []string{"ctl.example.net", "203.0.113.254", "::1"} {
		if err := verify(t, dir, ctl, x509.VerifyOptions{DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("controller certificate for %s: %v", name, err)
		}
	}
	if err := verify(t, dir, ctl, x509.VerifyOptions{KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("controller certificate as a client (OVSDB): %v", err)
	}
	if err := verify(t, dir, ctl, x509.VerifyOptions{DNSName: "other.example.net"}); err == nil {
		t.Error("controller certificate verified for a name it was not issued for")
	}
	c, _ := readCert(ctl)
	if c.Subject.CommonName != ControllerName {
		t.Errorf("controller CN %q", c.Subject.CommonName)
	}
	ca, err := LoadAuthority(dir)
	if err != nil || !ca.Cert.IsCA || !ca.Cert.MaxPathLenZero {
		t.Fatalf("CA: %v %+v", err, ca)
	}
	if c.NotAfter.Sub(c.NotBefore) < 800*24*time.Hour {
		t.Errorf("controller certificate valid only %v", c.NotAfter.Sub(c.NotBefore))
	}
}

func TestIssueXTR(t *testing.T) {
	dir := mustInit(t)
	w, err := IssueXTR(dir, "dc1-edge", Options{IPs: []netip.Addr{netip.MustParseAddr("203.0.113.1")}})
	if err != nil || len(w) != 3 {
		t.Fatalf("issue: %v %v", w, err)
	}
	b := XTRBundle(dir, "dc1-edge")
	cert := filepath.Join(b, BundleCert)
	c, _ := readCert(cert)
	if c.Subject.CommonName != "dc1-edge" || !slices.Contains(c.DNSNames, "dc1-edge") {
		t.Errorf("xTR certificate CN %q SANs %v", c.Subject.CommonName, c.DNSNames)
	}
	// The switch is an OpenFlow client and an OVSDB server known by its name.
	for _, o := range []x509.VerifyOptions{
		{KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{DNSName: "dc1-edge", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{DNSName: "203.0.113.1"},
	} {
		if err := verify(t, dir, cert, o); err != nil {
			t.Errorf("xTR certificate %+v: %v", o, err)
		}
	}
	if err := verify(t, dir, cert, x509.VerifyOptions{DNSName: "dc2-edge"}); err == nil {
		t.Error("dc1-edge's certificate verified as dc2-edge")
	}
	if _, err := tls.LoadX509KeyPair(cert, filepath.Join(b, BundleKey)); err != nil {
		t.Errorf("key does not match certificate: %v", err)
	}
	ca1, _ := os.ReadFile(filepath.Join(dir, CAFile))
	ca2, _ := os.ReadFile(filepath.Join(b, BundleCA))
	if string(ca1) != string(ca2) {
		t.Error("bundle CA differs from the PKI's")
	}
	if _, err := IssueXTR(dir, "bad name", Options{}); err == nil {
		t.Error("xTR name with a space accepted")
	}
	if _, err := IssueXTR(t.TempDir(), "dc1-edge", Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("issue without a CA: %v", err)
	}
}

func TestKeyPermissions(t *testing.T) {
	old := syscall.Umask(0) // the modes must not depend on the caller's umask
	defer syscall.Umask(old)
	dir := mustInit(t)
	if _, err := IssueXTR(dir, "dc1-edge", Options{}); err != nil {
		t.Fatal(err)
	}
	b := XTRBundle(dir, "dc1-edge")
	for path, want := range map[string]os.FileMode{
		filepath.Join(dir, CAKeyFile): 0o600, filepath.Join(dir, ControllerKeyFile): 0o600, filepath.Join(b, BundleKey): 0o600,
		filepath.Join(dir, CAFile): 0o644, filepath.Join(dir, ControllerCertFile): 0o644, filepath.Join(b, BundleCert): 0o644,
	} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %04o (%v)", path, fi.Mode().Perm(), want, err)
		}
		if want == 0o600 && CheckKeyFile(path) != nil {
			t.Errorf("CheckKeyFile(%s) complains about mode 0600", path)
		}
	}
	loose := filepath.Join(dir, CAFile)
	if CheckKeyFile(loose) == nil {
		t.Error("CheckKeyFile accepts a world-readable file")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestInitAgain(t *testing.T) {
	dir := mustInit(t)
	caBefore, _ := os.ReadFile(filepath.Join(dir, CAFile))
	ctlBefore, _ := os.ReadFile(filepath.Join(dir, ControllerCertFile))
	if _, err := Init(dir, Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("second init without Force: %v", err)
	}
	if _, err := IssueXTR(dir, "x", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := IssueXTR(dir, "x", Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("second issue without Force: %v", err)
	}
	if _, err := Init(dir, Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, CAFile))
	ctlAfter, _ := os.ReadFile(filepath.Join(dir, ControllerCertFile))
	if string(caBefore) != string(caAfter) || string(ctlBefore) == string(ctlAfter) {
		t.Error("init --force must keep the CA and replace the controller certificate")
	}
}

func TestLoadRefusesForeignCA(t *testing.T) {
	a, b := mustInit(t), mustInit(t)
	if _, err := Load(filepath.Join(a, ControllerCertFile), filepath.Join(a, ControllerKeyFile), filepath.Join(a, CAFile)); err != nil {
		t.Fatalf("own CA: %v", err)
	}
	if _, err := Load(filepath.Join(a, ControllerCertFile), filepath.Join(a, ControllerKeyFile), filepath.Join(b, CAFile)); err == nil {
		t.Error("certificate accepted with another CA")
	}
	if _, err := Load(filepath.Join(a, ControllerCertFile), filepath.Join(b, ControllerKeyFile), filepath.Join(a, CAFile)); err == nil {
		t.Error("certificate accepted with another key")
	}
}

// TestMutualTLS runs real handshakes with the configurations serve uses:
// a client certificate of the CA gets in and shows its CN; none, or one
// of another CA, does not.
func TestMutualTLS(t *testing.T) {
	dir, other := mustInit(t), mustInit(t)
	for _, d := range []string{dir, other} {
		if _, err := IssueXTR(d, "dc1-edge", Options{}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := Load(filepath.Join(dir, ControllerCertFile), filepath.Join(dir, ControllerKeyFile), filepath.Join(dir, CAFile))
	if err != nil {
		t.Fatal(err)
	}
	client := func(d string) *tls.Config {
		b := XTRBundle(d, "dc1-edge")
		m, err := Load(filepath.Join(b, BundleCert), filepath.Join(b, BundleKey), filepath.Join(b, BundleCA))
		if err != nil {
			t.Fatal(err)
		}
		c := m.Client()
		c.RootCAs = srv.CAs // the switch trusts our CA in every case
		c.ServerName = "203.0.113.254"
		return c
	}
	noCert, _ := ClientTrusting(filepath.Join(dir, CAFile))
	noCert.ServerName = "203.0.113.254"
	for _, c := range []struct {
		name string
		cfg  *tls.Config
		cn   string
	}{
		{"own CA", client(dir), "dc1-edge"},
		{"other CA", client(other), ""},
		{"no certificate", noCert, ""},
	} {
		cn, err := handshake(t, srv.MutualServer(), c.cfg)
		if cn != c.cn || (c.cn == "") != (err != nil) {
			t.Errorf("%s: CN %q err %v, want CN %q", c.name, cn, err, c.cn)
		}
	}
	// A client trusting only the CA accepts the controller's certificate for its IP.
	if _, err := handshake(t, srv.Server(), noCert); err != nil {
		t.Errorf("server-only TLS: %v", err)
	}
}

// handshake connects cli to a server over loopback and returns the client
// CN the server saw, or the server's handshake error.
func handshake(t *testing.T, srvCfg, cli *tls.Config) (string, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		cn  string
		err error
	}
	res := make(chan result, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			res <- result{err: err}
			return
		}
		defer nc.Close()
		tc := tls.Server(nc, srvCfg)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			res <- result{err: err}
			return
		}
		cn := ""
		if p := tc.ConnectionState().PeerCertificates; len(p) > 0 {
			cn = p[0].Subject.CommonName
		}
		res <- result{cn: cn}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tc := tls.Client(nc, cli)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	_ = tc.Handshake()
	_, _ = tc.Read(make([]byte, 1)) // TLS 1.3: the server's verdict on our certificate arrives after our Finished
	r := <-res
	return r.cn, r.err
}
