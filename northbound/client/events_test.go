package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/l2lisp/l2lisp/northbound/client"
)

// connRecorder reports the Last-Event-ID of every /events connection.
func connRecorder(conns chan<- string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/events" {
				conns <- r.Header.Get("Last-Event-ID")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// follow runs Events in the background and hands over what it receives.
func follow(ctx context.Context, c *client.Client, since int64) (<-chan client.Event, <-chan error) {
	evs, done := make(chan client.Event, 100), make(chan error, 1)
	go func() {
		done <- c.Events(ctx, since, func(ev client.Event) error {
			evs <- ev
			return nil
		})
	}()
	return evs, done
}

func TestEventsReconnect(t *testing.T) {
	conns := make(chan string, 10)
	srv := newServer(t, connRecorder(conns))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := client.New(srv.URL, "admin", srv.HC)
	if _, err := admin.CreateNetwork(ctx, client.NetworkInput{InstanceID: 1, Name: "n1"}); err != nil {
		t.Fatal(err)
	}
	// Its own transport, so that cutting connections spares the writer's.
	c := client.New(srv.URL, "admin", &http.Client{Transport: &http.Transport{TLSClientConfig: srv.HC.Transport.(*http.Transport).TLSClientConfig}})
	evs, done := follow(ctx, c, 0)
	if got := <-conns; got != "0" {
		t.Errorf("first Last-Event-ID = %q, want 0", got)
	}
	if ev := <-evs; ev.ID != 1 || ev.Type != "network.created" || len(ev.Raw) == 0 {
		t.Errorf("first event = %+v", ev)
	}
	srv.CloseClientConnections()
	if got := <-conns; got != "1" {
		t.Errorf("Last-Event-ID after the cut = %q, want 1", got)
	}
	for i := 2; i <= 3; i++ {
		if _, err := admin.CreateNetwork(ctx, client.NetworkInput{InstanceID: int64(i), Name: fmt.Sprintf("n%d", i)}); err != nil {
			t.Fatal(err)
		}
		if ev := <-evs; ev.ID != int64(i) || ev.InstanceID == nil || *ev.InstanceID != uint32(i) {
			t.Errorf("event %d = %+v", i, ev)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Events after cancel = %v", err)
	}
	if len(evs) != 0 {
		t.Errorf("%d events too many", len(evs))
	}
}

func TestEventsFromNow(t *testing.T) {
	conns := make(chan string, 10)
	srv := newServer(t, connRecorder(conns))
	ctx := context.Background()
	c := client.New(srv.URL, "admin", srv.HC)
	if _, err := c.CreateNetwork(ctx, client.NetworkInput{InstanceID: 1, Name: "old"}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	done := make(chan error, 1)
	var got client.Event
	go func() {
		done <- c.Events(ctx, -1, func(ev client.Event) error { got = ev; return stop })
	}()
	<-conns
	if _, err := c.CreateNetwork(ctx, client.NetworkInput{InstanceID: 2, Name: "new"}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != stop {
		t.Fatalf("Events = %v, want fn's error as is", err)
	}
	if got.ID != 2 {
		t.Errorf("event = %+v, want only the new one", got)
	}
}

func TestEventsErrors(t *testing.T) {
	srv := newServer(t, nil)
	ctx := context.Background()
	var ae *client.APIError
	err := client.New(srv.URL, "wrong", srv.HC).Events(ctx, 0, func(client.Event) error { return nil })
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("bad token: %v, want 401 without retrying", err)
	}
}
