package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// call is Do for endpoints that answer a JSON value of type T.
func call[T any](ctx context.Context, c *Client, method, path string, q url.Values, in any) (T, error) {
	var v T
	_, err := c.Do(ctx, method, path, q, in, &v)
	return v, err
}

func esc(s string) string { return url.PathEscape(s) }

func iidPath(iid int64) string { return "/networks/" + strconv.FormatInt(iid, 10) }

func eidQuery(iid int64, eid string) url.Values {
	return url.Values{"instance_id": {strconv.FormatInt(iid, 10)}, "eid": {eid}}
}

// Health reads /healthz (outside /api/v1, no token needed).
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	_, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil, &h)
	return h, err
}

// CreateNetwork adds a tenant network.
func (c *Client) CreateNetwork(ctx context.Context, in NetworkInput) (Network, error) {
	return call[Network](ctx, c, http.MethodPost, "/networks", nil, in)
}

// Networks lists the tenant networks.
func (c *Client) Networks(ctx context.Context) ([]Network, error) {
	return call[[]Network](ctx, c, http.MethodGet, "/networks", nil, nil)
}

// Network shows one network.
func (c *Client) Network(ctx context.Context, iid int64) (Network, error) {
	return call[Network](ctx, c, http.MethodGet, iidPath(iid), nil, nil)
}

// UpdateNetwork changes the set fields of a network (PATCH): today its
// encapsulation.
func (c *Client) UpdateNetwork(ctx context.Context, iid int64, in NetworkChange) (Network, error) {
	return call[Network](ctx, c, http.MethodPatch, iidPath(iid), nil, in)
}

// DeleteNetwork deletes a network and its mappings.
func (c *Client) DeleteNetwork(ctx context.Context, iid int64) error {
	_, err := c.Do(ctx, http.MethodDelete, iidPath(iid), nil, nil, nil)
	return err
}

// CreateSite adds a site.
func (c *Client) CreateSite(ctx context.Context, in SiteInput) (Site, error) {
	return call[Site](ctx, c, http.MethodPost, "/sites", nil, in)
}

// Sites lists the sites.
func (c *Client) Sites(ctx context.Context) ([]Site, error) {
	return call[[]Site](ctx, c, http.MethodGet, "/sites", nil, nil)
}

// Site shows one site.
func (c *Client) Site(ctx context.Context, name string) (Site, error) {
	return call[Site](ctx, c, http.MethodGet, "/sites/"+esc(name), nil, nil)
}

// UpdateSite changes the set fields of a site (PATCH).
func (c *Client) UpdateSite(ctx context.Context, name string, in SiteInput) (Site, error) {
	return call[Site](ctx, c, http.MethodPatch, "/sites/"+esc(name), nil, in)
}

// DeleteSite deletes a site that has no xTRs.
func (c *Client) DeleteSite(ctx context.Context, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/sites/"+esc(name), nil, nil, nil)
	return err
}

// CreateXTR registers an edge switch of a site.
func (c *Client) CreateXTR(ctx context.Context, site string, in XTRInput) (XTR, error) {
	return call[XTR](ctx, c, http.MethodPost, "/sites/"+esc(site)+"/xtrs", nil, in)
}

// XTRs lists the xTRs with their connection status.
func (c *Client) XTRs(ctx context.Context) ([]XTR, error) {
	return call[[]XTR](ctx, c, http.MethodGet, "/xtrs", nil, nil)
}

// XTR shows one xTR with its connection status.
func (c *Client) XTR(ctx context.Context, name string) (XTR, error) {
	return call[XTR](ctx, c, http.MethodGet, "/xtrs/"+esc(name), nil, nil)
}

// DrainXTR takes an xTR out of service before maintenance: it stops being
// a designated forwarder and remote sites stop sending to it. A non-zero
// wait makes the call return once every connected switch reflects that
// (at most wait, 5 minutes at most).
func (c *Client) DrainXTR(ctx context.Context, name string, wait time.Duration) (DrainResult, error) {
	return call[DrainResult](ctx, c, http.MethodPost, "/xtrs/"+esc(name)+"/drain", waitQuery(wait), nil)
}

// UndrainXTR puts a drained xTR back in service.
func (c *Client) UndrainXTR(ctx context.Context, name string, wait time.Duration) (DrainResult, error) {
	return call[DrainResult](ctx, c, http.MethodPost, "/xtrs/"+esc(name)+"/undrain", waitQuery(wait), nil)
}

func waitQuery(wait time.Duration) url.Values {
	if wait <= 0 {
		return nil
	}
	return url.Values{"wait": {wait.String()}}
}

// DeleteXTR deletes an xTR.
func (c *Client) DeleteXTR(ctx context.Context, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/xtrs/"+esc(name), nil, nil, nil)
	return err
}

// BindPort binds an access port of an xTR to a network.
func (c *Client) BindPort(ctx context.Context, xtr string, in PortInput) (Port, error) {
	return call[Port](ctx, c, http.MethodPost, "/xtrs/"+esc(xtr)+"/ports", nil, in)
}

// Ports lists the bound access ports of an xTR.
func (c *Client) Ports(ctx context.Context, xtr string) ([]Port, error) {
	return call[[]Port](ctx, c, http.MethodGet, "/xtrs/"+esc(xtr)+"/ports", nil, nil)
}

// UnbindPort unbinds an access port.
func (c *Client) UnbindPort(ctx context.Context, xtr, port string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/xtrs/"+esc(xtr)+"/ports/"+esc(port), nil, nil, nil)
	return err
}

// CreateMapping creates or replaces a static mapping; it reports whether
// the EID was new.
func (c *Client) CreateMapping(ctx context.Context, in MappingInput) (Mapping, bool, error) {
	var m Mapping
	status, err := c.Do(ctx, http.MethodPost, "/mappings", nil, in, &m)
	return m, status == http.StatusCreated, err
}

// ImportMappings creates or replaces many static mappings with one
// request (at most 10000); items may be MappingInput values or raw JSON
// bodies. It answers once the accepted ones are committed.
func (c *Client) ImportMappings(ctx context.Context, items []any) (ImportResult, error) {
	return call[ImportResult](ctx, c, http.MethodPost, "/mappings/import", nil, map[string]any{"items": items})
}

// Mappings reads one page of mappings.
func (c *Client) Mappings(ctx context.Context, f MappingFilter) (MappingPage, error) {
	q := url.Values{}
	if f.InstanceID != nil {
		q.Set("instance_id", strconv.FormatInt(*f.InstanceID, 10))
	}
	for k, v := range map[string]string{"site": f.Site, "origin": f.Origin, "q": f.Text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Offset > 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	return call[MappingPage](ctx, c, http.MethodGet, "/mappings", q, nil)
}

// DeleteMapping deletes the mapping of an EID.
func (c *Client) DeleteMapping(ctx context.Context, iid int64, eid string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/mappings", eidQuery(iid, eid), nil, nil)
	return err
}

// MappingHistory lists the mapping events of one EID, oldest first.
func (c *Client) MappingHistory(ctx context.Context, iid int64, eid string) ([]Event, error) {
	return call[[]Event](ctx, c, http.MethodGet, "/mappings/history", eidQuery(iid, eid), nil)
}

// Lookup resolves an EID as the Map-Resolver would.
func (c *Client) Lookup(ctx context.Context, iid int64, eid string) (LookupResult, error) {
	return call[LookupResult](ctx, c, http.MethodGet, "/lookup", eidQuery(iid, eid), nil)
}

// CreateToken makes a named API token (admin only); keep its Secret; the
// server shows it this once.
func (c *Client) CreateToken(ctx context.Context, in TokenInput) (CreatedToken, error) {
	return call[CreatedToken](ctx, c, http.MethodPost, "/tokens", nil, in)
}

// Tokens lists the API tokens, without secrets (admin only).
func (c *Client) Tokens(ctx context.Context) ([]Token, error) {
	return call[[]Token](ctx, c, http.MethodGet, "/tokens", nil, nil)
}

// RevokeToken revokes a token: every replica refuses it from then on.
func (c *Client) RevokeToken(ctx context.Context, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/tokens/"+esc(name), nil, nil, nil)
	return err
}

// Cluster lists the controller replicas and which one leads.
func (c *Client) Cluster(ctx context.Context) (Cluster, error) {
	return call[Cluster](ctx, c, http.MethodGet, "/cluster", nil, nil)
}
