package ovsdb

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/southbound/ovsdb/vswitchd"
	"github.com/l2lisp/l2lisp/test/lab"
)

func bundleSSL(dir string) *SSL {
	return &SSL{PrivateKey: filepath.Join(dir, pki.BundleKey), Certificate: filepath.Join(dir, pki.BundleCert),
		CACert: filepath.Join(dir, pki.BundleCA)}
}

func TestPlanSSL(t *testing.T) {
	d := validDesired()
	d.SSL = bundleSSL("/etc/openvswitch/l2lisp")
	s := appliedSnapshot(d)
	ops, changes, err := planApply(s, d, DefaultOwner)
	if err != nil || len(ops) != 2 || ops[0].Table != vswitchd.SSLTable || ops[1].Table != vswitchd.OpenvSwitchTable ||
		changes.String() != "insert SSL /etc/openvswitch/l2lisp/cert.pem" {
		t.Fatalf("new SSL row: %v %v %v", ops, changes, err)
	}
	// The row as Apply left it: nothing more to do.
	row := &vswitchd.SSL{UUID: uuid(500), PrivateKey: d.SSL.PrivateKey, Certificate: d.SSL.Certificate,
		CaCert: d.SSL.CACert, ExternalIDs: map[string]string{OwnerKey: DefaultOwner}}
	s.ssl[row.UUID], s.root.SSL = row, &row.UUID
	if ops, _, err := planApply(s, d, DefaultOwner); err != nil || len(ops) != 0 {
		t.Errorf("applied SSL: %d ops, %v", len(ops), err)
	}
	// Ours but changed by hand: put back.
	row.CaCert = "/tmp/other.pem"
	if ops, _, err := planApply(s, d, DefaultOwner); err != nil || len(ops) != 1 || ops[0].Op != ovsdb.OperationUpdate {
		t.Errorf("drifted SSL: %v, %v", ops, err)
	}
	// Someone else's (ovs-vsctl set-ssl): fine when it names the same files, refused otherwise.
	row.CaCert, row.ExternalIDs = d.SSL.CACert, nil
	if ops, _, err := planApply(s, d, DefaultOwner); err != nil || len(ops) != 0 {
		t.Errorf("foreign SSL row with our files: %d ops, %v", len(ops), err)
	}
	row.PrivateKey = "/etc/ssl/private/other.pem"
	if _, _, err := planApply(s, d, DefaultOwner); !errors.Is(err, ErrNotOwned) {
		t.Errorf("foreign SSL row with other files: %v", err)
	}
	// No SSL wanted: the row is left as it is.
	d.SSL = nil
	if ops, _, err := planApply(s, d, DefaultOwner); err != nil || len(ops) != 0 {
		t.Errorf("no SSL wanted: %d ops, %v", len(ops), err)
	}
	d.SSL = &SSL{PrivateKey: "key.pem", Certificate: "/a", CACert: "/b"}
	if err := d.Validate(); !errors.Is(err, ErrInvalidDesired) {
		t.Errorf("relative key path: %v", err)
	}
}

// TestManagerOverTLS provisions a real switch whose ovsdb-server listens
// only on pssl: with an xTR's certificate: the Manager gets in with the
// controller's certificate and the CA, checks the switch's certificate
// names the xTR, writes the SSL table, and refuses plain tcp: endpoints.
func TestManagerOverTLS(t *testing.T) {
	o := startOVS(t, "tls", "l2dbbr3")
	dir := t.TempDir()
	if _, err := pki.Init(dir, pki.Options{Hosts: []string{"localhost"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.IssueXTR(dir, "xtr-tls", pki.Options{}); err != nil {
		t.Fatal(err)
	}
	bundle := pki.XTRBundle(dir, "xtr-tls")
	port := freePort(t)
	o.Stop()
	o.SSL = &lab.SSL{PrivateKey: filepath.Join(bundle, pki.BundleKey), Certificate: filepath.Join(bundle, pki.BundleCert),
		CACert: filepath.Join(bundle, pki.BundleCA), Remote: "pssl:" + port + ":127.0.0.1"}
	if err := o.StartDB(); err != nil {
		t.Fatal(err)
	}
	if err := o.StartVswitchd(); err != nil {
		t.Fatal(err)
	}
	m, err := pki.Load(filepath.Join(dir, pki.ControllerCertFile), filepath.Join(dir, pki.ControllerKeyFile), filepath.Join(dir, pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	mgr := NewManager(testLogger(t), WithTLS(m.Client()), WithRequireTLS())
	defer mgr.Close()
	d := labDesired("l2dbbr3", "l2dblisp3")
	d.Controllers = []string{"ssl:127.0.0.1:16653"}
	d.SSL = bundleSSL(bundle)
	ep := "ssl:127.0.0.1:" + port
	if err := mgr.Ensure(testCtx(t), "xtr-tls", ep, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "provisioned over TLS", func() (bool, string) {
		got, _ := o.Vsctl("get-ssl")
		st := mgr.State("xtr-tls")
		return st.Connected && st.LastError == "" && strings.Contains(got, "Private key: "+d.SSL.PrivateKey) &&
			strings.Contains(got, "CA Certificate: "+d.SSL.CACert), got + " / " + st.LastError
	})
	// The same switch registered under another name does not prove it.
	if err := mgr.Ensure(testCtx(t), "other-name", ep, labDesired("l2dbbr4", "l2dblisp4")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "certificate of another name refused", func() (bool, string) {
		st := mgr.State("other-name")
		return !st.Connected && strings.Contains(st.LastError, "certificate"), st.LastError
	})
	if err := mgr.Ensure(testCtx(t), "plain", "tcp:127.0.0.1:"+port, labDesired("l2dbbr5", "l2dblisp5")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "plain TCP refused", func() (bool, string) {
		st := mgr.State("plain")
		return strings.Contains(st.LastError, "plain TCP refused"), st.LastError
	})
	if got := vsctl(t, o, "list-br"); got != "l2dbbr3" {
		t.Errorf("bridges = %q, want only l2dbbr3", got)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}
