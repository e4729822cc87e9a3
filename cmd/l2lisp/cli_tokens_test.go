package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// TestTokenCommands creates, uses, lists and revokes tokens through the
// CLI, and finds each change's author in the events and the history.
func TestTokenCommands(t *testing.T) {
	srv := newAPI(t)
	admin := newCLI(t, srv)
	out, errOut, code := admin.run("token", "create", "ops", "--role", "operator")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if code != 0 || !strings.Contains(out, "shown only this once") || !strings.HasPrefix(secret, "l2lisp_") {
		t.Fatalf("token create: %d\n%s%s", code, out, errOut)
	}
	out, _, code = admin.run("token", "create", "ci", "--role", "viewer", "-o", "json")
	var created client.CreatedToken
	if err := json.Unmarshal([]byte(out), &created); code != 0 || err != nil || created.Role != "viewer" || created.Secret == "" {
		t.Fatalf("token create -o json: %d %v\n%s", code, err, out)
	}

	ops := newCLI(t, srv)
	ops.env["L2LISP_TOKEN"] = secret
	viewer := newCLI(t, srv)
	viewer.env["L2LISP_TOKEN"] = created.Secret
	for _, s := range []struct {
		c       *cli
		args    string
		code    int
		out     string
		errText string
	}{
		{ops, "network add 100 blue", 0, "blue", ""},
		{ops, "site add dc1 --auth-key secret-dc1 --networks 100", 0, "dc1", ""},
		{ops, "mapping add 02:00:00:00:00:01 --iid 100 --site dc1 --rloc 192.0.2.1", 0, "02:00:00:00:00:01", ""},
		{viewer, "network list", 0, "blue", ""},
		{viewer, "network add 200 red", 1, "", `error: token "ci" has role viewer; this needs operator (field Authorization)`},
		{ops, "token list", 1, "", "this needs admin"},
		{admin, "token list", 0, "ops", ""},
		{admin, "events --since 0", 0, "by=ops", ""},
		{admin, "mapping history --iid 100 02:00:00:00:00:01", 0, "ops", ""},
		{admin, "token rm ops", 0, "revoked token ops", ""},
		{ops, "network list", 1, "", "error: unknown token"},
		{admin, "token rm ops", 1, "", `no token named "ops"`},
		{admin, "token create bootstrap --role viewer", 1, "", "reserved"},
		{admin, "token create x --role root", 1, "", "(field role)"},
	} {
		out, errOut, code := s.c.run(strings.Fields(s.args)...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.errText) {
			t.Errorf("%s: exit %d, want %d with %q / %q\nstdout: %s\nstderr: %s", s.args, code, s.code, s.out, s.errText, out, errOut)
		}
	}
	out, _, _ = admin.run("token", "list")
	for _, w := range []string{"NAME", "ROLE", "bootstrap", "admin", "(flag)", "ci", "viewer"} {
		if !strings.Contains(out, w) {
			t.Errorf("token list lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "l2lisp_") || strings.Contains(out, created.Secret) {
		t.Errorf("token list shows a secret:\n%s", out)
	}
}
