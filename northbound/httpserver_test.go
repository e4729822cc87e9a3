package northbound_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/l2lisp/l2lisp/metrics"
	"github.com/l2lisp/l2lisp/northbound"
)

// serveLimited serves the env's API with the production server and
// listener under l, and returns its base URL.
func (e *env) serveLimited(l northbound.Limits) string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	srv := northbound.NewHTTPServer(e.api.Handler(), l)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(northbound.LimitListener(ln, l.MaxConns))
	}()
	e.t.Cleanup(func() {
		e.api.Close()
		_ = srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// get sends one GET on a new connection and returns the status.
func get(base, path, token string, timeout time.Duration) (int, error) {
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Close = true
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestSlowlorisCutOff holds many connections that send their headers a
// byte at a time: each is cut off at the header timeout, and legitimate
// requests are answered all along.
func TestSlowlorisCutOff(t *testing.T) {
	e := newEnv(t)
	l := northbound.DefaultLimits()
	l.ReadHeaderTimeout = time.Second
	base := e.serveLimited(l)
	addr := strings.TrimPrefix(base, "http://")

	const slow = 200
	closedAfter := make(chan time.Duration, slow)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		began := time.Now()
		wg.Add(2)
		go func() { // drip the headers, never ending them
			defer wg.Done()
			_, _ = io.WriteString(c, "GET /api/v1/networks HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
			}
		}()
		go func() { // the server closing the connection ends this read
			defer wg.Done()
			_, _ = io.Copy(io.Discard, c)
			closedAfter <- time.Since(began)
		}()
	}
	// Legitimate clients keep being answered while the slow ones hold on.
	answered := 0
	for end := time.Now().Add(l.ReadHeaderTimeout / 2); time.Now().Before(end); answered++ {
		if status, err := get(base, "/api/v1/networks", admin, 5*time.Second); err != nil || status != 200 {
			t.Fatalf("legitimate request %d during the slow attack: %d %v", answered, status, err)
		}
	}
	for i := range slow {
		select {
		case d := <-closedAfter:
			if d < l.ReadHeaderTimeout*8/10 {
				t.Errorf("slow connection closed after %v, before the header timeout", d)
			}
		case <-time.After(l.ReadHeaderTimeout + 10*time.Second):
			t.Fatalf("only %d of %d slow connections were cut off", i, slow)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d legitimate requests answered while %d slow connections were held", answered, slow)
	if status, err := get(base, "/api/v1/networks", admin, 5*time.Second); err != nil || status != 200 {
		t.Errorf("after the attack: %d %v", status, err)
	}
}

// TestOversizedHeader wants 431 for headers over the limit, and normal
// headers served.
func TestOversizedHeader(t *testing.T) {
	e := newEnv(t)
	l := northbound.DefaultLimits()
	l.MaxHeaderBytes = 8 << 10
	base := e.serveLimited(l)
	for _, c := range []struct {
		size int
		want int
	}{{2 << 10, 200}, {64 << 10, 431}, {900 << 10, 431}} {
		req, _ := http.NewRequest("GET", base+"/api/v1/networks", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("X-Big", strings.Repeat("b", c.size))
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatalf("%d-byte header: %v", c.size, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%d-byte header: %d, want %d", c.size, resp.StatusCode, c.want)
		}
	}
}

// TestConnectionCap holds every allowed connection: a new client waits,
// the held ones are still served, and the newcomer is answered as soon as
// one of them leaves.
func TestConnectionCap(t *testing.T) {
	e := newEnv(t)
	l := northbound.DefaultLimits()
	l.MaxConns = 4
	base := e.serveLimited(l)
	addr := strings.TrimPrefix(base, "http://")
	held := make([]net.Conn, l.MaxConns)
	for i := range held {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held[i] = c
		// One request each, so the server has surely accepted it.
		if status := rawGet(t, c, "/healthz"); status != 200 {
			t.Fatalf("held connection %d: %d", i, status)
		}
	}
	var m dto.Metric
	if err := metrics.HTTPConnections.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetGauge().GetValue(); got != float64(l.MaxConns) {
		t.Errorf("l2lisp_http_connections = %v, want %d", got, l.MaxConns)
	}
	waiting := make(chan error, 1)
	began := time.Now()
	go func() {
		status, err := get(base, "/api/v1/networks", admin, 30*time.Second)
		if err == nil && status != 200 {
			err = fmt.Errorf("status %d", status)
		}
		waiting <- err
	}()
	select {
	case err := <-waiting:
		t.Fatalf("a connection over the cap was served at once (%v)", err)
	case <-time.After(time.Second):
	}
	// The held clients are served meanwhile.
	for i, c := range held {
		if status := rawGet(t, c, "/api/v1/networks"); status != 200 {
			t.Errorf("held connection %d while the cap is reached: %d", i, status)
		}
	}
	held[0].Close()
	select {
	case err := <-waiting:
		if err != nil {
			t.Fatalf("the waiting client: %v", err)
		}
		t.Logf("the client over the cap was answered %v after it connected, once a slot freed", time.Since(began).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting client was not served after a slot freed")
	}
}

// rawGet sends one keep-alive request on c and reads the answer.
func rawGet(t *testing.T, c net.Conn, path string) int {
	t.Helper()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", path, admin)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	// The answers here are small: reading the body leaves the reader empty.
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestIdleTimeout finds an idle keep-alive connection closed.
func TestIdleTimeout(t *testing.T) {
	e := newEnv(t)
	l := northbound.DefaultLimits()
	l.IdleTimeout = 300 * time.Millisecond
	addr := strings.TrimPrefix(e.serveLimited(l), "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if status := rawGet(t, c, "/healthz"); status != 200 {
		t.Fatalf("GET /healthz: %d", status)
	}
	began := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %d, %v; want EOF", n, err)
	}
	if d := time.Since(began); d < l.IdleTimeout*8/10 {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
}

// TestEventStreamOutlivesTimeouts keeps an event stream open for several
// times the read and write timeouts: events keep arriving on the one
// connection.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	e := newEnv(t)
	l := northbound.DefaultLimits()
	l.ReadTimeout, l.WriteTimeout = 400*time.Millisecond, 400*time.Millisecond
	base := e.serveLimited(l)
	// A plain request still works under these timeouts.
	if status, err := get(base, "/api/v1/networks", admin, 5*time.Second); err != nil || status != 200 {
		t.Fatalf("GET /networks: %d %v", status, err)
	}
	s := e.openEventsAt(base, "", nil)
	began := time.Now()
	for i := range 6 {
		time.Sleep(300 * time.Millisecond)
		e.must("POST", "/api/v1/networks", map[string]any{"instance_id": 4100 + i, "name": fmt.Sprintf("n%d", i)}, 201, nil)
		s.expect("network.created")
	}
	if d := time.Since(began); d < 4*l.WriteTimeout {
		t.Errorf("the stream lasted only %v", d)
	}
	t.Logf("one stream delivered 6 events over %v with read and write timeouts of %v", time.Since(began).Round(time.Millisecond), l.WriteTimeout)
}
