package openflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// ErrDisconnected is returned for requests on a switch without a live connection.
var ErrDisconnected = errors.New("openflow: switch disconnected")

const writeTimeout = 10 * time.Second

// reply is one message the switch sent for a tracked xid.
type reply struct {
	xid uint32
	msg ofp13.Message
}

// waiter collects replies for one or more xids. It never blocks the reader:
// replies queue without bound until the requester takes them.
type waiter struct {
	mu     sync.Mutex
	queue  []reply
	notify chan struct{}
}

func newWaiter() *waiter { return &waiter{notify: make(chan struct{}, 1)} }

func (w *waiter) push(r reply) {
	w.mu.Lock()
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *waiter) next(ctx context.Context, done <-chan struct{}) (reply, error) {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			r := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return r, nil
		}
		w.mu.Unlock()
		select {
		case <-w.notify:
		case <-ctx.Done():
			return reply{}, ctx.Err()
		case <-done:
			return reply{}, ErrDisconnected
		}
	}
}

// conn is one OpenFlow connection to a switch. Writes are serialized by
// wmu; replies are routed by xid to waiters registered before sending.
type conn struct {
	nc       net.Conn
	log      *slog.Logger
	wmu      sync.Mutex
	xid      atomic.Uint32
	lastRecv atomic.Int64  // unix nanos of the last message received
	probing  atomic.Bool   // a duplicate-connection probe is under way
	role     atomic.Uint32 // the role the switch last granted on this connection

	mu      sync.Mutex
	pending map[uint32]*waiter

	done      chan struct{} // closed when the connection is shut
	fin       chan struct{} // closed when an attached connection's teardown is over
	sw        atomic.Pointer[Switch]
	closeOnce sync.Once
	err       error
}

func newConn(nc net.Conn, log *slog.Logger) *conn {
	c := &conn{nc: nc, log: log, pending: map[uint32]*waiter{},
		done: make(chan struct{}), fin: make(chan struct{})}
	c.xid.Store(0x1000) // leave room for the xids of the handshake's hello
	c.lastRecv.Store(time.Now().UnixNano())
	return c
}

func (c *conn) close(err error) {
	c.closeOnce.Do(func() {
		c.err = err
		close(c.done)
		_ = c.nc.Close()
	})
}

func (c *conn) finished() chan struct{} { return c.fin }

func (c *conn) nextXID() uint32 { return c.xid.Add(1) }

// send writes one message; a failed write kills the connection, since a
// partial write leaves the stream unusable.
func (c *conn) send(xid uint32, m ofp13.Message) error {
	b, err := ofp13.Marshal(xid, m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		return ErrDisconnected
	default:
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.close(fmt.Errorf("write: %w", err))
		return fmt.Errorf("openflow write: %w", err)
	}
	return nil
}

func (c *conn) register(xid uint32, w *waiter) {
	c.mu.Lock()
	c.pending[xid] = w
	c.mu.Unlock()
}

func (c *conn) unregister(xids ...uint32) {
	c.mu.Lock()
	for _, x := range xids {
		delete(c.pending, x)
	}
	c.mu.Unlock()
}

// deliver routes a reply to its waiter; false if nobody asked for it.
func (c *conn) deliver(xid uint32, m ofp13.Message) bool {
	c.mu.Lock()
	w := c.pending[xid]
	c.mu.Unlock()
	if w == nil {
		return false
	}
	w.push(reply{xid: xid, msg: m})
	return true
}

// call sends a request and waits for its single reply (or an error).
func (c *conn) call(ctx context.Context, m ofp13.Message) (ofp13.Message, error) {
	xid := c.nextXID()
	w := newWaiter()
	c.register(xid, w)
	defer c.unregister(xid)
	if err := c.send(xid, m); err != nil {
		return nil, err
	}
	r, err := w.next(ctx, c.done)
	if err != nil {
		return nil, err
	}
	if e, ok := r.msg.(*ofp13.Error); ok {
		return nil, fmt.Errorf("switch rejected message type %d: %w", m.MsgType(), e)
	}
	return r.msg, nil
}

// multipart sends a multipart request and gathers every reply part until
// one arrives without the MORE flag.
func (c *conn) multipart(ctx context.Context, m ofp13.Message) ([]ofp13.Message, error) {
	xid := c.nextXID()
	w := newWaiter()
	c.register(xid, w)
	defer c.unregister(xid)
	if err := c.send(xid, m); err != nil {
		return nil, err
	}
	var parts []ofp13.Message
	for {
		r, err := w.next(ctx, c.done)
		if err != nil {
			return nil, err
		}
		if e, ok := r.msg.(*ofp13.Error); ok {
			return nil, fmt.Errorf("multipart request: %w", e)
		}
		parts = append(parts, r.msg)
		more, ok := r.msg.(interface{ More() bool })
		if !ok || !more.More() {
			return parts, nil
		}
	}
}

// readLoop reads until the connection fails, answering echoes and handing
// everything else to handle.
func (c *conn) readLoop(handle func(ofp13.Header, ofp13.Message)) {
	for {
		b, err := ofp13.ReadMessage(c.nc)
		if err != nil {
			c.close(fmt.Errorf("read: %w", err))
			return
		}
		c.lastRecv.Store(time.Now().UnixNano())
		h, m, err := ofp13.Unmarshal(b)
		if err != nil {
			// One undecodable message does not make the stream unusable.
			c.log.Warn("undecodable openflow message", "type", h.Type, "xid", h.XID, "err", err)
			continue
		}
		switch m := m.(type) {
		case *ofp13.EchoRequest:
			go func() { _ = c.send(h.XID, &ofp13.EchoReply{Data: m.Data}) }()
		case *ofp13.EchoReply:
		default:
			handle(h, m)
		}
	}
}

// keepalive sends echo requests every interval and drops the connection
// when nothing has been heard for timeout.
func (c *conn) keepalive(interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if idle := time.Since(time.Unix(0, c.lastRecv.Load())); idle > timeout {
			c.close(fmt.Errorf("no message for %v", idle.Round(time.Millisecond)))
			return
		}
		_ = c.send(c.nextXID(), &ofp13.EchoRequest{})
	}
}

// probe sends an echo request and drops the connection unless some
// message arrives within timeout: the check made when another connection
// claims this one's datapath-id, so a switch that restarted without
// closing its old connection is not locked out until the keepalive notices.
func (c *conn) probe(timeout time.Duration) {
	if !c.probing.CompareAndSwap(false, true) {
		return // one probe at a time, however many connections knock
	}
	defer c.probing.Store(false)
	sent := time.Now().UnixNano()
	if err := c.send(c.nextXID(), &ofp13.EchoRequest{}); err != nil {
		return // the failed write closed the connection
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
		return
	case <-t.C:
	}
	if c.lastRecv.Load() < sent {
		c.close(fmt.Errorf("no answer within %v to the echo sent when another connection claimed the datapath-id", timeout))
	}
}

// batch sends several requests and then a barrier; once the barrier reply
// is in, every error the switch had for the batch has arrived too.
type batch struct {
	c    *conn
	w    *waiter
	xids []uint32
}

func (c *conn) newBatch() *batch { return &batch{c: c, w: newWaiter()} }

func (b *batch) send(m ofp13.Message) (uint32, error) {
	xid := b.c.nextXID()
	b.c.register(xid, b.w)
	b.xids = append(b.xids, xid)
	return xid, b.c.send(xid, m)
}

// barrier ends the batch and returns the switch's errors by xid.
func (b *batch) barrier(ctx context.Context) (map[uint32]*ofp13.Error, error) {
	defer b.c.unregister(b.xids...)
	bx, err := b.send(&ofp13.BarrierRequest{})
	if err != nil {
		return nil, err
	}
	errs := map[uint32]*ofp13.Error{}
	for {
		r, err := b.w.next(ctx, b.c.done)
		if err != nil {
			return errs, fmt.Errorf("wait for barrier: %w", err)
		}
		switch m := r.msg.(type) {
		case *ofp13.Error:
			errs[r.xid] = m
		case *ofp13.BarrierReply:
			if r.xid == bx {
				return errs, nil
			}
		}
	}
}

// sendChecked sends one request followed by a barrier and returns the
// switch's error for it, if any.
func (c *conn) sendChecked(ctx context.Context, m ofp13.Message) error {
	b := c.newBatch()
	xid, err := b.send(m)
	if err != nil {
		return err
	}
	errs, err := b.barrier(ctx)
	if err != nil {
		return err
	}
	if e := errs[xid]; e != nil {
		return e
	}
	return nil
}
