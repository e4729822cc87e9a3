package reconcile

import (
	"testing"

	"github.com/l2lisp/l2lisp/controller"
)

// TestSwitchSSL: the switch gets the files of its TLS directory exactly
// when one of its controller targets is ssl:.
func TestSwitchSSL(t *testing.T) {
	x := controller.XTR{Name: "e1"}
	x.TLSDir = "/srv/pki/e1"
	for _, c := range []struct {
		targets []string
		want    string
	}{
		{[]string{"ssl:203.0.113.254:6653"}, "/srv/pki/e1/key.pem"},
		{[]string{"tcp:203.0.113.254:6653", "ssl:203.0.113.253:6653"}, "/srv/pki/e1/key.pem"},
		{[]string{"tcp:203.0.113.254:6653"}, ""},
		{nil, ""},
	} {
		got := switchSSL(x, c.targets)
		if (got == nil) != (c.want == "") || (got != nil && (got.PrivateKey != c.want || got.CACert != "/srv/pki/e1/ca.pem" ||
			got.Certificate != "/srv/pki/e1/cert.pem")) {
			t.Errorf("switchSSL(%v) = %+v", c.targets, got)
		}
	}
}
