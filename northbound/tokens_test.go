package northbound_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/store"
	"github.com/l2lisp/l2lisp/store/storetest"
)

// token is a token as POST /tokens answers it.
type token struct {
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Bootstrap  bool       `json:"bootstrap"`
	Secret     string     `json:"secret"`
}

// newToken creates a token as the bootstrap admin and returns its secret.
func (e *env) newToken(name, role string) string {
	e.t.Helper()
	var tok token
	e.must("POST", "/api/v1/tokens", map[string]any{"name": name, "role": role}, 201, &tok)
	if tok.Name != name || tok.Role != role || !strings.HasPrefix(tok.Secret, "l2lisp_") || len(tok.Secret) < 40 {
		e.t.Fatalf("created token = %+v", tok)
	}
	return tok.Secret
}

// wantError checks a status and the JSON error body's code and field.
func (e *env) wantError(method, path, tok string, body any, status int, code, field string) apiErr {
	e.t.Helper()
	got, b := e.request(method, path, tok, body)
	var ae apiErr
	if err := json.Unmarshal(b, &ae); err != nil || got != status || ae.Error.Code != code || ae.Error.Field != field {
		e.t.Errorf("%s %s: %d %s; want %d with code %q field %q", method, path, got, b, status, code, field)
	}
	return ae
}

func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	alice := e.newToken("alice", "operator")
	viewer := e.newToken("watcher", "viewer")
	boss := e.newToken("boss", "admin")

	// Operators change things, and the change names them.
	e.mustAs(alice, "POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201)
	evs := e.eventsAfter(0)
	if last := evs[len(evs)-1]; last.Type != controller.EvNetworkCreated || last.Actor != "alice" {
		t.Errorf("network.created event = %+v, want actor alice", last)
	}
	for _, ev := range evs {
		if ev.Type == controller.EvTokenCreated && ev.Actor != controller.BootstrapAdmin {
			t.Errorf("token.created by %q, want %q", ev.Actor, controller.BootstrapAdmin)
		}
	}
	// ... but not tokens; viewers change nothing.
	ae := e.wantError("GET", "/api/v1/tokens", alice, nil, 403, "forbidden", "Authorization")
	if !strings.Contains(ae.Error.Message, "admin") {
		t.Errorf("403 message %q does not say what is needed", ae.Error.Message)
	}
	e.wantError("POST", "/api/v1/networks", viewer, map[string]any{"instance_id": 4200, "name": "red"}, 403, "forbidden", "Authorization")
	e.mustAs(viewer, "GET", "/api/v1/networks", nil, 200)
	// Another admin manages tokens.
	e.mustAs(boss, "POST", "/api/v1/tokens", map[string]any{"name": "carol", "role": "viewer"}, 201)

	// The list shows names and roles, never a secret or a hash.
	status, b := e.request("GET", "/api/v1/tokens", admin, nil)
	if status != 200 {
		t.Fatalf("GET /tokens: %d %s", status, b)
	}
	var list []token
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	names := map[string]token{}
	for _, tk := range list {
		names[tk.Name] = tk
	}
	for name, role := range map[string]string{"bootstrap": "admin", "bootstrap-viewer": "viewer", "alice": "operator",
		"watcher": "viewer", "boss": "admin", "carol": "viewer"} {
		if names[name].Role != role {
			t.Errorf("token %s listed as %+v, want role %s", name, names[name], role)
		}
	}
	if names["carol"].CreatedBy != "boss" || !names["bootstrap"].Bootstrap || names["alice"].Bootstrap {
		t.Errorf("listed tokens: %s", b)
	}
	for _, secret := range []string{alice, viewer, boss} {
		h := controller.HashToken(secret)
		if strings.Contains(string(b), secret) || strings.Contains(string(b), hex.EncodeToString(h[:])) ||
			strings.Contains(string(b), "secret") || strings.Contains(string(b), "hash") {
			t.Errorf("the token list shows a secret or a hash: %s", b)
		}
	}

	// Revoked: 401 at once on this replica, and an open stream ends.
	s := e.openEvents("", map[string]string{"Authorization": "Bearer " + alice})
	e.must("DELETE", "/api/v1/tokens/alice", nil, 204, nil)
	s.expect(controller.EvTokenRevoked)
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Errorf("the revoked token's stream goes on: %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the revoked token's stream did not end")
	}
	e.wantError("GET", "/api/v1/networks", alice, nil, 401, "unauthorized", "Authorization")
	e.wantError("DELETE", "/api/v1/tokens/alice", admin, nil, 404, "not_found", "name")
	e.mustAs(viewer, "GET", "/api/v1/networks", nil, 200)
}

func TestTokenErrors(t *testing.T) {
	e := newEnv(t)
	e.newToken("alice", "operator")
	for _, c := range []struct {
		name        string
		body        any
		status      int
		code, field string
	}{
		{"duplicate", map[string]any{"name": "alice", "role": "viewer"}, 409, "conflict", "name"},
		{"reserved bootstrap", map[string]any{"name": "bootstrap", "role": "viewer"}, 400, "invalid", "name"},
		{"reserved system", map[string]any{"name": "System", "role": "viewer"}, 400, "invalid", "name"},
		{"actor-like name", map[string]any{"name": "lisp:dc1", "role": "viewer"}, 400, "invalid", "name"},
		{"empty name", map[string]any{"name": "", "role": "viewer"}, 400, "invalid", "name"},
		{"no role", map[string]any{"name": "bob"}, 400, "invalid", "role"},
		{"bad role", map[string]any{"name": "bob", "role": "root"}, 400, "invalid", "role"},
		{"unknown field", map[string]any{"name": "bob", "role": "viewer", "secret": "mine"}, 400, "invalid", "secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.wantError("POST", "/api/v1/tokens", admin, c.body, c.status, c.code, c.field)
		})
	}
	e.t = t
	e.wantError("DELETE", "/api/v1/tokens/bootstrap", admin, nil, 409, "conflict", "name")
	e.wantError("DELETE", "/api/v1/tokens/nobody", admin, nil, 404, "not_found", "name")
}

// mustAs sends a request with token tok and wants status.
func (e *env) mustAs(tok, method, path string, body any, want int) []byte {
	e.t.Helper()
	status, b := e.request(method, path, tok, body)
	if status != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	return b
}

// TestTokenSecretsStayOut looks for a token's secret and hash in the
// change feed and the database's events.
func TestTokenSecretsStayOut(t *testing.T) {
	e := newEnv(t)
	secret := e.newToken("alice", "admin")
	e.must("DELETE", "/api/v1/tokens/alice", nil, 204, nil)
	h := controller.HashToken(secret)
	var rows []store.Event
	if err := e.db.Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, r := range rows {
		types[r.Type] = true
		b, _ := json.Marshal(r)
		if strings.Contains(string(b), secret) || strings.Contains(string(b), hex.EncodeToString(h[:])) {
			t.Errorf("event %d holds the token's secret or hash: %s", r.ID, b)
		}
	}
	if !types[controller.EvTokenCreated] || !types[controller.EvTokenRevoked] {
		t.Errorf("events %v lack token.created or token.revoked", types)
	}
	s := e.openEvents("?since=0", nil)
	for _, ev := range s.expect(controller.EvTokenCreated, controller.EvTokenRevoked) {
		if strings.Contains(ev.data, secret) || strings.Contains(ev.data, hex.EncodeToString(h[:])) ||
			!strings.Contains(ev.data, `"actor":"bootstrap"`) {
			t.Errorf("streamed %s: %s", ev.typ, ev.data)
		}
	}
	s.cancel()
}

// TestTokenRevokedOnEveryReplica runs two API replicas on one database: a
// token made on one works on the other, and once revoked on one it is
// refused by both.
func TestTokenRevokedOnEveryReplica(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		a, b := newEnvAt(t, dsn), newEnvAt(t, dsn)
		secret := a.newToken("alice", "operator")
		waitStatus(t, b, secret, http.StatusOK)
		b.mustAs(secret, "POST", "/api/v1/networks", map[string]any{"instance_id": 4100, "name": "blue"}, 201)
		a.must("DELETE", "/api/v1/tokens/alice", nil, 204, nil)
		a.wantError("GET", "/api/v1/networks", secret, nil, 401, "unauthorized", "Authorization")
		waitStatus(t, b, secret, http.StatusUnauthorized)
		b.wantError("POST", "/api/v1/networks", secret, map[string]any{"instance_id": 4200, "name": "red"}, 401, "unauthorized", "Authorization")
	})
}

// waitStatus polls GET /networks with tok on e until it answers want; the
// deadline only guards a hang (followers poll every 250 ms).
func waitStatus(t *testing.T, e *env, tok string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _ := e.request("GET", "/api/v1/networks", tok, nil)
		if status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /networks with the token: %d, want %d within 30s", status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
