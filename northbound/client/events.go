package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reconnect delays of Events: short at first, since the server ends a
// stream on purpose when a subscriber falls behind.
const (
	minRetry = 200 * time.Millisecond
	maxRetry = 10 * time.Second
)

// handlerError carries an error of the caller's fn out of the stream.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }

// Events follows the change feed from after event id since (a negative
// since: from now on), calling fn for each event in order. When the stream
// breaks it reconnects with Last-Event-ID, so no event is lost or repeated.
// It returns fn's first error as is, an API error that retrying cannot fix
// (a 4xx: bad token, say), or the context's error.
func (c *Client) Events(ctx context.Context, since int64, fn func(Event) error) error {
	if since < 0 {
		// Pin the position now, so that a reconnect before the first
		// event still misses nothing.
		h, err := c.Health(ctx)
		if err != nil {
			return err
		}
		since = h.LastEventID
	}
	delay := minRetry
	for {
		start := since
		err := c.stream(ctx, since, func(ev Event) error {
			since = ev.ID
			return fn(ev)
		})
		var he handlerError
		var ae *APIError
		switch {
		case errors.As(err, &he):
			return he.err
		case ctx.Err() != nil:
			return fmt.Errorf("events: %w", ctx.Err())
		case errors.As(err, &ae) && ae.Status < 500:
			return err
		}
		if since != start {
			delay = minRetry // the stream made progress: not a failing server
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("events: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, maxRetry)
	}
}

// stream reads one connection of the event stream until it ends.
func (c *Client) stream(ctx context.Context, since int64, fn func(Event) error) error {
	path := apiPrefix + "/events"
	req, err := c.newRequest(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", strconv.FormatInt(since, 10))
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return decodeError(resp.StatusCode, body)
	}
	return readSSE(bufio.NewReader(resp.Body), fn)
}

// readSSE parses a text/event-stream ("id: N\nevent: TYPE\ndata: JSON\n\n";
// lines starting with ':' are keepalives) and calls fn per event.
func readSSE(r *bufio.Reader, fn func(Event) error) error {
	var data strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("event stream: %w", io.ErrUnexpectedEOF)
			}
			return fmt.Errorf("event stream: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			if v, ok := strings.CutPrefix(line, "data:"); ok {
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(strings.TrimPrefix(v, " "))
			}
			continue // id and event repeat what data holds; ':' is a comment
		}
		if data.Len() == 0 {
			continue
		}
		raw := []byte(data.String())
		data.Reset()
		var ev Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("event stream: decode event: %w", err)
		}
		ev.Raw = raw
		if err := fn(ev); err != nil {
			return handlerError{err}
		}
	}
}
