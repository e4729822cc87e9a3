package northbound

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/metrics"
)

// Limits bound what one client can hold of the HTTP server. The event
// stream clears its own read and write deadlines: it is meant to last.
type Limits struct {
	ReadHeaderTimeout time.Duration // to read a request's headers (slow clients)
	ReadTimeout       time.Duration // to read a whole request, body included
	WriteTimeout      time.Duration // to answer, from the end of the headers
	IdleTimeout       time.Duration // a keep-alive connection waiting for its next request
	MaxHeaderBytes    int           // larger request headers get 431
	MaxConns          int           // open connections; more wait in the kernel's backlog
}

// DefaultLimits are generous for operators and the dashboard, and short
// enough that thousands of half-sent requests cannot hold the server.
func DefaultLimits() Limits {
	return Limits{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, MaxConns: 1024}
}

// NewHTTPServer returns the server for h with l's timeouts and header limit;
// serve it on Listen's listener to bound the connections too.
func NewHTTPServer(h http.Handler, l Limits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes}
}

// LimitListener accepts at most n connections at once (n <= 0: no limit).
// Beyond that it stops accepting: new clients wait in the kernel's backlog,
// which refuses them once full, while the open connections are served.
// Timeouts free the slots that slow or idle clients hold.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	metrics.HTTPConnections.Inc()
	return &limitConn{Conn: c, release: func() {
		<-l.slots
		metrics.HTTPConnections.Dec()
	}}, nil
}

// Close also wakes an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when closed, once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
