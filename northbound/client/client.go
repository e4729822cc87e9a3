package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// apiPrefix is where the versioned API lives under the base URL.
const apiPrefix = "/api/v1"

// maxErrorBody bounds how much of a non-JSON error answer is kept.
const maxErrorBody = 512

// Client talks to one l2lisp controller. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New returns a client of the controller at baseURL (e.g.
// http://127.0.0.1:8080) that authenticates with token. A nil hc means a
// plain http.Client; a Timeout on hc also cuts the event stream, which
// Events then resumes.
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc}
}

// BaseURL is the controller address the client was made with.
func (c *Client) BaseURL() string { return c.base }

// APIError is an error answer of the API: {"error":{"code","message","field"}}.
type APIError struct {
	Status  int    // HTTP status code
	Code    string // invalid, not_found, conflict, forbidden, unauthorized, ...
	Message string
	Field   string // the offending input field, if any
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (field %s)", e.Message, e.Field)
	}
	return e.Message
}

type rawKey struct{}

// WithRawBody returns a context that makes a call store the body of its
// successful answer in dst: the API's JSON exactly as sent, for callers
// that pass it on (a CLI's -o json) while still getting typed values.
func WithRawBody(ctx context.Context, dst *json.RawMessage) context.Context {
	return context.WithValue(ctx, rawKey{}, dst)
}

// Do sends one request to path under /api/v1 with query parameters and, if
// in is not nil, in as a JSON body (a json.RawMessage or []byte is sent as
// is). A 2xx answer is decoded into out when out is not nil; any other is
// returned as *APIError. It returns the HTTP status.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	return c.do(ctx, method, apiPrefix+path, query, in, out)
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	req, err := c.newRequest(ctx, method, path, query, in)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, decodeError(resp.StatusCode, body)
	}
	if dst, ok := ctx.Value(rawKey{}).(*json.RawMessage); ok && dst != nil {
		*dst = append((*dst)[:0], body...)
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, in any) (*http.Request, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	switch b := in.(type) {
	case nil:
	case json.RawMessage:
		body = bytes.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// decodeError reads an error answer; a body that is not the API's error
// shape (a proxy's HTML page, say) becomes an APIError with its text.
func decodeError(status int, body []byte) *APIError {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > maxErrorBody {
		msg = msg[:maxErrorBody] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{Status: status, Code: fmt.Sprintf("http_%d", status), Message: fmt.Sprintf("HTTP %d: %s", status, msg)}
}
