package openflow

import (
	"sync"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// PacketIn is a packet the switch sent to the controller.
type PacketIn struct {
	Table    uint8
	Reason   uint8 // ReasonNoMatch, ReasonAction, or a Controller action's reason
	Cookie   uint64
	InPort   uint32
	Match    Match // pipeline fields the switch reports (in_port, tun_src, metadata, ...)
	BufferID uint32
	TotalLen uint16
	Data     []byte
}

// FlowRemoved reports a flow that left the switch (timeout or delete) and
// had NotifyRemoval set. Flow has table, priority, cookie, match and timeouts.
type FlowRemoved struct {
	Flow         Flow
	Reason       uint8 // 0 idle timeout, 1 hard timeout, 2 delete, 3 group delete, 4 meter delete
	DurationSec  uint32
	DurationNsec uint32
	PacketCount  uint64
	ByteCount    uint64
}

// Flow-removed reasons.
const (
	RemovedIdleTimeout uint8 = 0
	RemovedHardTimeout uint8 = 1
	RemovedDelete      uint8 = 2
)

// eventQueue runs callbacks in order on their own goroutine so a callback
// may call Sync (whose replies the reader must keep reading). Packet-ins are
// dropped beyond max queued; flow-removed events are never dropped.
type eventQueue struct {
	mu      sync.Mutex
	items   []func()
	packets int
	max     int
	wake    chan struct{}
	stopped bool
}

func newEventQueue(max int) *eventQueue {
	if max <= 0 {
		max = 4096
	}
	return &eventQueue{max: max, wake: make(chan struct{}, 1)}
}

// push queues fn; droppable marks a packet-in. It reports false if dropped.
func (q *eventQueue) push(fn func(), droppable bool) bool {
	q.mu.Lock()
	if q.stopped || (droppable && q.packets >= q.max) {
		q.mu.Unlock()
		return false
	}
	if droppable {
		q.packets++
		inner := fn
		fn = func() {
			q.mu.Lock()
			q.packets--
			q.mu.Unlock()
			inner()
		}
	}
	q.items = append(q.items, fn)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

func (q *eventQueue) run(done <-chan struct{}) {
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		for _, fn := range items {
			fn()
		}
		select {
		case <-q.wake:
		case <-done:
			return
		}
	}
}

func (q *eventQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.items = nil
	q.mu.Unlock()
}

// dispatch handles every message the reader does not answer itself.
func (s *Server) dispatch(c *conn, q *eventQueue, h ofp13.Header, m ofp13.Message) {
	switch m := m.(type) {
	case *ofp13.PacketIn:
		if s.OnPacketIn == nil {
			return
		}
		pi := PacketIn{Table: m.Table, Reason: m.Reason, Cookie: m.Cookie, InPort: m.InPort(),
			Match: modelMatch(m.Match), BufferID: m.BufferID, TotalLen: m.TotalLen, Data: m.Data}
		if !q.push(func() {
			if sw := c.sw.Load(); sw != nil {
				s.OnPacketIn(sw, pi)
			}
		}, true) {
			c.log.Debug("packet-in dropped: queue full")
		}
	case *ofp13.FlowRemoved:
		fr := FlowRemoved{Flow: Flow{Table: m.Table, Priority: m.Priority, Cookie: m.Cookie,
			Match: modelMatch(m.Match), IdleTimeout: m.IdleTimeout, HardTimeout: m.HardTimeout},
			Reason: m.Reason, DurationSec: m.DurationSec, DurationNsec: m.DurationNs,
			PacketCount: m.PacketCount, ByteCount: m.ByteCount}
		if sw := c.sw.Load(); sw != nil {
			sw.flowRemoved(c, fr)
		}
		if s.OnFlowRemoved != nil {
			q.push(func() {
				if sw := c.sw.Load(); sw != nil {
					s.OnFlowRemoved(sw, fr)
				}
			}, false)
		}
	case *ofp13.PortStatus:
		c.log.Debug("port status", "port", m.Port.Name, "no", m.Port.PortNo, "reason", m.Reason)
	default:
		if c.deliver(h.XID, m) {
			return
		}
		if e, ok := m.(*ofp13.Error); ok {
			c.log.Warn("openflow error for untracked request", "xid", h.XID, "type", e.Type, "code", e.Code)
			return
		}
		c.log.Debug("unsolicited openflow message", "type", h.Type, "xid", h.XID)
	}
}
