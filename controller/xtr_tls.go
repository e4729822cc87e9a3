package controller

import (
	"path"
	"strings"

	"github.com/l2lisp/l2lisp/pki"
	"github.com/l2lisp/l2lisp/southbound/ovsdb"
)

// switchSSL is the SSL table an xTR's switch needs for its controller
// targets: the files of its TLS directory when any target is ssl:, else
// nil, which leaves the switch's SSL settings alone.
func switchSSL(x XTR, targets []string) *ovsdb.SSL {
	for _, t := range targets {
		if strings.HasPrefix(t, "ssl:") {
			dir := x.TLSDir
			if dir == "" {
				dir = DefaultTLSDir
			}
			return &ovsdb.SSL{PrivateKey: path.Join(dir, pki.BundleKey), Certificate: path.Join(dir, pki.BundleCert),
				CACert: path.Join(dir, pki.BundleCA)}
		}
	}
	return nil
}
