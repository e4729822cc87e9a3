package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/northbound"
	"github.com/l2lisp/l2lisp/northbound/client"
	"github.com/l2lisp/l2lisp/pki/pkitest"
	"github.com/l2lisp/l2lisp/store"
)

// server is the real API over HTTPS and a client trusting only its CA.
type server struct {
	*httptest.Server
	CA string
	HC *http.Client
}

// newServer runs the real API over a controller over a SQLite file; wrap,
// if not nil, sees every request first.
func newServer(t *testing.T, wrap func(http.Handler) http.Handler) *server {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, t.TempDir()+"/db", log)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	ctl, err := controller.New(ctx, db, log)
	if err != nil {
		t.Fatalf("controller.New: %v", err)
	}
	var h http.Handler = northbound.New(ctl, northbound.Options{AdminToken: "admin"}).Handler()
	if wrap != nil {
		h = wrap(h)
	}
	t.Cleanup(func() {
		ctl.Close()
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	ca := pkitest.New(t)
	srv := ca.Server(t, h)
	hc, err := client.HTTPClient(ca.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	return &server{Server: srv, CA: ca.CAFile(), HC: hc}
}

func ptr[T any](v T) *T { return &v }

func TestEndpoints(t *testing.T) {
	srv := newServer(t, nil)
	c := client.New(srv.URL+"/", "admin", srv.HC)
	ctx := context.Background()
	iid := int64(100)
	steps := []struct {
		name string
		run  func() (any, error)
	}{
		{"create network", func() (any, error) { return c.CreateNetwork(ctx, client.NetworkInput{InstanceID: iid, Name: "blue"}) }},
		{"networks", func() (any, error) { return c.Networks(ctx) }},
		{"network", func() (any, error) { return c.Network(ctx, iid) }},
		{"update network", func() (any, error) {
			return c.UpdateNetwork(ctx, iid, client.NetworkChange{Encapsulation: ptr("vxlan")})
		}},
		{"create site", func() (any, error) {
			return c.CreateSite(ctx, client.SiteInput{Name: "dc1", AuthKey: ptr("key-of-dc1"), Networks: &[]int64{iid}})
		}},
		{"update site", func() (any, error) {
			return c.UpdateSite(ctx, "dc1", client.SiteInput{EIDPrefixes: &[]string{"10.0.0.0/8"}})
		}},
		{"update site scope", func() (any, error) {
			s, err := c.UpdateSite(ctx, "dc1", client.SiteInput{MACPrefixes: &[]string{"02:00:10:00:00:00/24"},
				AnyMAC: ptr(false), RLOCPrefixes: &[]string{"192.0.2.0/24"}})
			if err == nil && (fmt.Sprint(s.MACPrefixes, s.AnyMAC, s.RLOCPrefixes, s.EIDPrefixes) !=
				"[02:00:10:00:00:00/24] false [192.0.2.0/24] [10.0.0.0/8]") {
				return nil, fmt.Errorf("scope not kept: %+v", s)
			}
			return s, err
		}},
		{"sites", func() (any, error) { return c.Sites(ctx) }},
		{"site", func() (any, error) { return c.Site(ctx, "dc1") }},
		{"create xtr", func() (any, error) {
			return c.CreateXTR(ctx, "dc1", client.XTRInput{Name: "edge1", RLOC: "192.0.2.1", Weight: ptr(int64(50))})
		}},
		{"xtrs", func() (any, error) { return c.XTRs(ctx) }},
		{"xtr", func() (any, error) { return c.XTR(ctx, "edge1") }},
		{"drain xtr", func() (any, error) {
			r, err := c.DrainXTR(ctx, "edge1", 0)
			if err == nil && (!r.XTR.Drained || r.EventID == 0 || len(r.XTR.Locator.DesignatedForwarder) != 1) {
				return nil, fmt.Errorf("drain answered %+v", r)
			}
			return r, err
		}},
		{"undrain xtr", func() (any, error) {
			r, err := c.UndrainXTR(ctx, "edge1", 0)
			if err == nil && (r.XTR.Drained || !r.XTR.Locator.Up) {
				return nil, fmt.Errorf("undrain answered %+v", r)
			}
			return r, err
		}},
		{"bind port", func() (any, error) { return c.BindPort(ctx, "edge1", client.PortInput{Name: "vm1", InstanceID: iid}) }},
		{"ports", func() (any, error) { return c.Ports(ctx, "edge1") }},
		{"create mapping", func() (any, error) {
			m, created, err := c.CreateMapping(ctx, client.MappingInput{InstanceID: iid, EID: "10.1.0.1", Site: "dc1"})
			if err == nil && !created {
				return nil, errors.New("not reported created")
			}
			return m, err
		}},
		{"mappings", func() (any, error) {
			return c.Mappings(ctx, client.MappingFilter{InstanceID: &iid, Site: "dc1", Limit: 10})
		}},
		{"history", func() (any, error) { return c.MappingHistory(ctx, iid, "10.1.0.1") }},
		{"lookup", func() (any, error) { return c.Lookup(ctx, iid, "10.1.0.1") }},
		{"lookup negative", func() (any, error) { return c.Lookup(ctx, iid, "172.16.0.1") }},
		{"delete mapping", func() (any, error) { return nil, c.DeleteMapping(ctx, iid, "10.1.0.1") }},
		{"unbind port", func() (any, error) { return nil, c.UnbindPort(ctx, "edge1", "vm1") }},
		{"delete xtr", func() (any, error) { return nil, c.DeleteXTR(ctx, "edge1") }},
		{"delete site", func() (any, error) { return nil, c.DeleteSite(ctx, "dc1") }},
		{"delete network", func() (any, error) { return nil, c.DeleteNetwork(ctx, iid) }},
		{"health", func() (any, error) { return c.Health(ctx) }},
	}
	for _, s := range steps {
		if _, err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	_, err := c.Network(ctx, iid)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("deleted network: %v, want 404", err)
	}
}

func TestDecodedValues(t *testing.T) {
	srv := newServer(t, nil)
	c := client.New(srv.URL, "admin", srv.HC)
	ctx := context.Background()
	iid := int64(7)
	if n, err := c.CreateNetwork(ctx, client.NetworkInput{InstanceID: iid, Name: "seven"}); err != nil || n.Encapsulation != "lisp-gpe" {
		t.Fatalf("create network = %+v, %v; want the default lisp-gpe", n, err)
	}
	if n, err := c.CreateNetwork(ctx, client.NetworkInput{InstanceID: 8, Name: "eight", Encapsulation: "vxlan"}); err != nil ||
		n.Encapsulation != "vxlan" {
		t.Fatalf("create vxlan network = %+v, %v", n, err)
	}
	if n, err := c.UpdateNetwork(ctx, 8, client.NetworkChange{Encapsulation: ptr("lisp-gpe")}); err != nil ||
		n.Encapsulation != "lisp-gpe" || n.Name != "eight" {
		t.Fatalf("update network = %+v, %v", n, err)
	}
	if _, err := c.CreateSite(ctx, client.SiteInput{Name: "dc1", AuthKey: ptr("key-of-dc1"), Networks: &[]int64{iid}}); err != nil {
		t.Fatal(err)
	}
	in := client.MappingInput{InstanceID: iid, EID: "10.0.0.0/24", Site: "dc1", TTL: ptr(int64(5)),
		RLOCs: []client.LocatorInput{{Address: "192.0.2.9", Priority: ptr(int64(2)), Weight: ptr(int64(30))}}}
	var raw json.RawMessage
	m, created, err := c.CreateMapping(client.WithRawBody(ctx, &raw), in)
	if err != nil || !created {
		t.Fatalf("create mapping: %v created=%v", err, created)
	}
	want := client.Locator{Address: "192.0.2.9", Priority: 2, Weight: 30, Up: true}
	if m.EID != "10.0.0.0/24" || m.TTL != 5 || m.Origin != "static" || len(m.RLOCs) != 1 || m.RLOCs[0] != want {
		t.Errorf("mapping = %+v", m)
	}
	var back client.Mapping
	if err := json.Unmarshal(raw, &back); err != nil || back.Version != m.Version {
		t.Errorf("raw body %s: %v", raw, err)
	}
	if _, created, err := c.CreateMapping(ctx, in); err != nil || created {
		t.Errorf("replace mapping: %v created=%v, want replaced", err, created)
	}
	res, err := c.Lookup(ctx, iid, "10.0.0.7")
	if err != nil || res.Negative || res.EID != "10.0.0.0/24" || res.TTL != 5 {
		t.Errorf("lookup = %+v, %v", res, err)
	}
	res, err = c.Lookup(ctx, iid, "10.9.0.7")
	if err != nil || !res.Negative || res.Action == "" || res.TTL == 0 {
		t.Errorf("negative lookup = %+v, %v", res, err)
	}
}

func TestAPIErrors(t *testing.T) {
	srv := newServer(t, nil)
	ctx := context.Background()
	c := client.New(srv.URL, "admin", srv.HC)
	tests := []struct {
		name   string
		call   func(c *client.Client) error
		status int
		code   string
		field  string
	}{
		{"no token", func(*client.Client) error { _, err := client.New(srv.URL, "", srv.HC).Networks(ctx); return err },
			401, "unauthorized", "Authorization"},
		{"bad token", func(*client.Client) error { _, err := client.New(srv.URL, "nope", srv.HC).Sites(ctx); return err },
			401, "unauthorized", "Authorization"},
		{"bad iid", func(c *client.Client) error {
			_, err := c.CreateNetwork(ctx, client.NetworkInput{InstanceID: -1})
			return err
		},
			400, "invalid", "instance_id"},
		{"missing network", func(c *client.Client) error { _, err := c.Network(ctx, 9); return err }, 404, "not_found", "instance_id"},
		{"bad encapsulation", func(c *client.Client) error {
			_, err := c.CreateNetwork(ctx, client.NetworkInput{InstanceID: 9, Name: "nine", Encapsulation: "geneve"})
			return err
		}, 400, "invalid", "encapsulation"},
		{"change a missing network", func(c *client.Client) error {
			_, err := c.UpdateNetwork(ctx, 9, client.NetworkChange{Encapsulation: ptr("vxlan")})
			return err
		}, 404, "not_found", "instance_id"},
		{"missing site", func(c *client.Client) error { _, err := c.Site(ctx, "nope"); return err }, 404, "not_found", "name"},
		{"xtr of missing site", func(c *client.Client) error {
			_, err := c.CreateXTR(ctx, "nope", client.XTRInput{Name: "e", RLOC: "192.0.2.1"})
			return err
		}, 404, "not_found", "site"},
		{"bad rloc", func(c *client.Client) error {
			_, err := c.CreateXTR(ctx, "nope", client.XTRInput{Name: "e", RLOC: "x"})
			return err
		}, 400, "invalid", "rloc"},
		{"mapping of missing network", func(c *client.Client) error {
			_, _, err := c.CreateMapping(ctx, client.MappingInput{InstanceID: 5, EID: "10.0.0.1", Site: "dc"})
			return err
		}, 400, "invalid", "instance_id"},
		{"raw unknown field", func(c *client.Client) error {
			_, err := c.Do(ctx, http.MethodPost, "/networks", nil, json.RawMessage(`{"instance_id":1,"colour":"x"}`), nil)
			return err
		}, 400, "invalid", "colour"},
		{"no such endpoint", func(c *client.Client) error { _, err := c.Do(ctx, http.MethodGet, "/nope", nil, nil, nil); return err },
			404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(c)
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Status != tt.status || ae.Code != tt.code || ae.Field != tt.field || ae.Message == "" {
				t.Errorf("err = %+v, want %d %s field %q", ae, tt.status, tt.code, tt.field)
			}
		})
	}
}

func TestNonJSONError(t *testing.T) {
	ca := pkitest.New(t)
	srv := ca.Server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	hc, err := client.HTTPClient(ca.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.New(srv.URL, "t", hc).Networks(context.Background())
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Code != "http_502" {
		t.Errorf("err = %#v", err)
	}
}

// TestHTTPClientTrustsOnlyItsCA: a client made with another CA's file
// refuses the server; one with a missing file is an error at once.
func TestHTTPClientTrustsOnlyItsCA(t *testing.T) {
	srv := newServer(t, nil)
	hc, err := client.HTTPClient(pkitest.New(t).CAFile())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.New(srv.URL, "admin", hc).Networks(context.Background()); err == nil {
		t.Error("server with a certificate of another CA accepted")
	}
	if _, err := client.HTTPClient(srv.CA + ".missing"); err == nil {
		t.Error("missing CA file accepted")
	}
}
