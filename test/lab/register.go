package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/l2lisp/l2lisp/pki"
)

// APIError is the controller's error body: {"error":{"code","message","field"}}.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// client speaks the controller's REST API as the admin.
type client struct {
	base  string
	token string
	http  *http.Client
}

func newClient(cfg Config) (*client, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
		if strings.HasPrefix(cfg.APIURL, "https:") && cfg.CAFile != "" {
			tc, err := pki.ClientTrusting(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("controller CA: %w", err)
			}
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = tc
			hc.Transport = tr
		}
	}
	return &client{base: strings.TrimRight(cfg.APIURL, "/"), token: cfg.Token, http: hc}, nil
}

// create POSTs body to path. 409 means an earlier run made it already,
// which is what a re-run of Up wants, so it counts as success; created
// says which happened.
func (c *client) create(ctx context.Context, path string, body any) (created bool, err error) {
	status, err := c.send(ctx, http.MethodPost, path, body)
	if status == http.StatusConflict {
		return false, nil
	}
	return err == nil, err
}

// change PATCHes body to path.
func (c *client) change(ctx context.Context, path string, body any) error {
	_, err := c.send(ctx, http.MethodPatch, path, body)
	return err
}

// send makes one call; an answer other than 2xx is an *APIError.
func (c *client) send(ctx context.Context, method, path string, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	apiErr := &APIError{Status: resp.StatusCode}
	var wrap struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(raw, &wrap) == nil && wrap.Error != nil {
		apiErr.Code, apiErr.Message, apiErr.Field = wrap.Error.Code, wrap.Error.Message, wrap.Error.Field
	} else {
		apiErr.Message = strings.TrimSpace(string(raw))
	}
	return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, apiErr)
}

// Request bodies, as the controller's REST API takes them.
type (
	networkReq struct {
		InstanceID     uint32 `json:"instance_id"`
		Name           string `json:"name"`
		Encapsulation  string `json:"encapsulation,omitempty"`
		ForwardingMode string `json:"forwarding_mode,omitempty"`
	}
	siteReq struct {
		Name     string   `json:"name"`
		AuthKey  string   `json:"auth_key"`
		Networks []uint32 `json:"networks"`
	}
	xtrReq struct {
		Name         string `json:"name"`
		RLOC         string `json:"rloc"`
		OVSDB        string `json:"ovsdb"`
		Bridge       string `json:"bridge"`
		DatapathType string `json:"datapath_type"`
		TLSDir       string `json:"tls_dir,omitempty"`
		Priority     int    `json:"priority"`
		Weight       int    `json:"weight"`
	}
	portReq struct {
		Name       string `json:"name"`
		InstanceID uint32 `json:"instance_id"`
	}
	mappingReq struct {
		InstanceID uint32 `json:"instance_id"`
		EID        string `json:"eid"`
		Site       string `json:"site"`
	}
)

// Register tells the controller at cfg.APIURL about the networks, one site
// and xTR per DC, each host's access port and, with cfg.StaticHosts, each
// host's MAC. Up calls it when cfg.Register is set; it is idempotent.
func Register(ctx context.Context, cfg Config, t *Topology) error {
	cfg = cfg.withDefaults()
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	var iids []uint32
	for _, n := range t.Networks {
		if err := registerNetwork(ctx, c, n); err != nil {
			return err
		}
		iids = append(iids, n.InstanceID)
	}
	for i := range t.DCs {
		if err := registerDC(ctx, c, &t.DCs[i], iids); err != nil {
			return err
		}
	}
	if err := registerUplinks(ctx, c, t); err != nil {
		return err
	}
	for _, h := range t.Hosts {
		d := t.DC(h.DC)
		if d == nil {
			return fmt.Errorf("host %s: no DC %d", h.Name, h.DC)
		}
		if h.LAN == "" {
			path := "/api/v1/xtrs/" + url.PathEscape(d.XTR) + "/ports"
			if _, err := c.create(ctx, path, portReq{Name: h.Port, InstanceID: h.InstanceID}); err != nil {
				return err
			}
		}
		if !cfg.StaticHosts {
			continue
		}
		m := mappingReq{InstanceID: h.InstanceID, EID: h.MAC, Site: d.SiteName()}
		if _, err := c.create(ctx, "/api/v1/mappings", m); err != nil {
			return err
		}
	}
	cfg.Log.Info("lab: registered with controller", "api", cfg.APIURL, "hosts", len(t.Hosts),
		"static_hosts", cfg.StaticHosts)
	return nil
}

// registerNetwork creates a network; one that exists already is given the
// encapsulation and forwarding mode asked for, if any.
func registerNetwork(ctx context.Context, c *client, n Network) error {
	created, err := c.create(ctx, "/api/v1/networks", networkReq{InstanceID: n.InstanceID, Name: n.Name,
		Encapsulation: n.Encapsulation, ForwardingMode: n.ForwardingMode})
	if err != nil || created {
		return err
	}
	patch := map[string]string{}
	if n.Encapsulation != "" {
		patch["encapsulation"] = n.Encapsulation
	}
	if n.ForwardingMode != "" {
		patch["forwarding_mode"] = n.ForwardingMode
	}
	if len(patch) == 0 {
		return nil
	}
	return c.change(ctx, fmt.Sprintf("/api/v1/networks/%d", n.InstanceID), patch)
}

func registerDC(ctx context.Context, c *client, d *DC, iids []uint32) error {
	key, err := randomKey()
	if err != nil {
		return err
	}
	created, err := c.create(ctx, "/api/v1/sites", siteReq{Name: d.SiteName(), AuthKey: key, Networks: iids})
	if err != nil {
		return err
	}
	if created {
		d.AuthKey = key
	}
	ovsdb := d.OVSDB
	if ovsdb == "" {
		ovsdb = d.OVS.DBSock() // a topology file from before TLS
	}
	x := xtrReq{
		Name: d.XTR, RLOC: d.RLOC.String(), OVSDB: ovsdb, Bridge: "br-int",
		DatapathType: "netdev", TLSDir: d.TLSDir, Priority: 1, Weight: 100,
	}
	_, err = c.create(ctx, "/api/v1/sites/"+url.PathEscape(d.SiteName())+"/xtrs", x)
	return err
}

func randomKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("site auth key: %w", err)
	}
	return hex.EncodeToString(b), nil
}
