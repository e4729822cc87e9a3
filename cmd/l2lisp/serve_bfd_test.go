package main

import (
	"strings"
	"testing"
)

func TestServeBFDFlags(t *testing.T) {
	c, err := parseServe([]string{"--insecure-plaintext", "--bfd-min-rx", "50", "--bfd-min-tx", "40", "--bfd-mult", "4"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.bfd.Enabled || c.bfd.MinRx != 50 || c.bfd.MinTx != 40 || c.bfd.Mult != 4 {
		t.Errorf("parsed %+v", c.bfd)
	}
	t.Setenv("L2LISP_BFD", "false")
	if c, err = parseServe([]string{"--insecure-plaintext"}); err != nil || c.bfd.Enabled {
		t.Errorf("L2LISP_BFD=false: %+v %v", c.bfd, err)
	}
	for _, bad := range [][]string{{"--bfd-mult", "0"}, {"--bfd-min-rx", "0"}, {"--bfd-min-tx", "70000"}} {
		if _, err := parseServe(append([]string{"--insecure-plaintext"}, bad...)); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
