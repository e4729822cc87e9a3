package controller

import (
	"testing"

	"github.com/l2lisp/l2lisp/store"
)

func TestXTRTLSDir(t *testing.T) {
	x, err := XTRInput{Site: "dc1", Name: "e1", RLOC: "192.0.2.1"}.validate()
	if err != nil || x.TLSDir != DefaultTLSDir {
		t.Fatalf("default tls_dir: %q %v", x.TLSDir, err)
	}
	for _, bad := range []string{"relative/dir", "/etc/../root", "/etc/ovs/", "/etc//ovs", "/etc/o vs", "/etc/ovs\n"} {
		if _, err := (XTRInput{Site: "dc1", Name: "e1", RLOC: "192.0.2.1", TLSDir: bad}).validate(); err == nil {
			t.Errorf("tls_dir %q accepted", bad)
		}
	}
	// A row from before the column existed reads as the default.
	if x, err := xtrFromRow(store.XTR{Name: "e1", RLOC: "192.0.2.1"}); err != nil || x.TLSDir != DefaultTLSDir {
		t.Errorf("old row: %q %v", x.TLSDir, err)
	}
}
