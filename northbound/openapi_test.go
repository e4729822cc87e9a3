package northbound_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Parameters []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
	Responses map[string]json.RawMessage `json:"responses"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIMatchesRoutes checks the served document against the router,
// both ways, so neither can drift from the other.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	status, body := e.request("GET", "/api/v1/openapi.json", "", nil)
	if status != 200 {
		t.Fatalf("GET /api/v1/openapi.json: %d", status)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	routes := map[string]bool{}
	for _, r := range e.api.Engine().Routes() {
		p, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok {
			continue
		}
		routes[strings.ToLower(r.Method)+" "+param.ReplaceAllString(p, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for m, raw := range item {
			if !slices.Contains(httpMethods, m) {
				continue // parameters, summary, ...
			}
			documented[m+" "+path] = true
			checkOperation(t, m+" "+path, path, raw)
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("the OpenAPI document has %s, which is no route", d)
		}
	}
	if len(documented) < 20 {
		t.Errorf("only %d operations documented", len(documented))
	}
	// The site key is write-only: an input, never an output.
	if _, ok := doc.Components.Schemas["Site"].Properties["auth_key"]; ok {
		t.Errorf("the Site schema shows auth_key")
	}
	if _, ok := doc.Components.Schemas["SiteInput"].Properties["auth_key"]; !ok {
		t.Errorf("the SiteInput schema lacks auth_key")
	}
	// A token's secret shows only in the answer that creates it; no hash ever.
	for schema, want := range map[string]bool{"Token": false, "CreatedToken": true} {
		if _, ok := doc.Components.Schemas[schema].Properties["secret"]; ok != want {
			t.Errorf("the %s schema has secret: %v, want %v", schema, ok, want)
		}
		if _, ok := doc.Components.Schemas[schema].Properties["hash"]; ok {
			t.Errorf("the %s schema shows a hash", schema)
		}
	}
	if _, ok := doc.Components.Schemas["Event"].Properties["actor"]; !ok {
		t.Errorf("the Event schema lacks actor")
	}
	for _, ref := range regexp.MustCompile(`"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(body), -1) {
		if _, ok := doc.Components.Schemas[ref[1]]; !ok {
			t.Errorf("$ref to undefined schema %s", ref[1])
		}
	}
}

// checkOperation wants responses and a declared parameter for every
// {param} of the path.
func checkOperation(t *testing.T, what, path string, raw json.RawMessage) {
	t.Helper()
	var op operation
	if err := json.Unmarshal(raw, &op); err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if len(op.Responses) == 0 {
		t.Errorf("%s: no responses", what)
	}
	for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
		found := false
		for _, p := range op.Parameters {
			found = found || (p.Name == m[1] && p.In == "path")
		}
		if !found {
			t.Errorf("%s: path parameter %s is not declared", what, m[1])
		}
	}
}
