package mapserver

import (
	"container/heap"
	"net/netip"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/metrics"
)

// Every unsolicited Map-Notify (a subscription's confirmation, a
// publication, the notice to an xTR that lost an EID to another) is
// retransmitted until a Map-Notify-Ack with the same nonce and a valid
// signature comes back, or given up after the last retry (RFC 9301 §5.7,
// RFC 9437 §5-6). The table of those waiting is bounded: past its size a
// Map-Notify is still sent, once, without waiting for its Ack.

// Defaults of the acknowledgement timers.
const (
	DefaultNotifyInterval = time.Second
	DefaultNotifyRetries  = 3
	DefaultMaxPending     = 1 << 16
)

// notifyKind says why an unsolicited Map-Notify was sent.
type notifyKind uint8

const (
	kindSubscribe notifyKind = iota
	kindUnsubscribe
	kindPublish
	kindMoved
	nKinds
)

var kindNames = [nKinds]string{"subscribe", "unsubscribe", "publish", "moved"}

// pending is one Map-Notify waiting for its Ack.
type pending struct {
	nonce uint64
	kind  notifyKind
	msg   []byte           // the signed datagram, resent as is
	dsts  []netip.AddrPort // tried in turn (RFC 9437 §6: another ITR-RLOC)
	key   string           // the site key the Ack must be signed with
	sent  int              // copies sent so far
	next  time.Time
	index int // in the heap; -1 when out
	// What the give-up event says.
	eid, site, xtrID string
	iid              *uint32
	// sub is the subscription an Ack of a confirmation commits.
	sub *subRequest
}

// pendingHeap orders entries by their next retransmission.
type pendingHeap []*pending

func (h pendingHeap) Len() int           { return len(h) }
func (h pendingHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h pendingHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *pendingHeap) Push(x any) {
	p := x.(*pending)
	p.index = len(*h)
	*h = append(*h, p)
}
func (h *pendingHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	p.index = -1
	return p
}

// Positions of an entry outside the heap.
const (
	gone     = -1 // acknowledged or given up
	inFlight = -2 // taken by the retransmitter, about to be resent or given up
)

// pendingTable holds the Map-Notifies waiting for an Ack, by nonce and by
// the time of their next retransmission.
type pendingTable struct {
	mu      sync.Mutex
	byNonce map[uint64][]*pending
	h       pendingHeap
	n       int // entries waiting, in the heap or in flight
	max     int
	wake    chan struct{}
}

func newPendingTable(max int) *pendingTable {
	return &pendingTable{byNonce: map[uint64][]*pending{}, max: max, wake: make(chan struct{}, 1)}
}

// add starts waiting for p's Ack; it reports false when the table is full.
func (t *pendingTable) add(p *pending) bool {
	t.mu.Lock()
	if t.n >= t.max {
		t.mu.Unlock()
		return false
	}
	t.byNonce[p.nonce] = append(t.byNonce[p.nonce], p)
	heap.Push(&t.h, p)
	t.n++
	n := t.n
	t.mu.Unlock()
	metrics.NotifyPending.Set(float64(n))
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return true
}

// match finds the entry an Ack from src with this nonce answers: the one
// sent to src's address if several share the nonce, else the first.
func (t *pendingTable) match(nonce uint64, src netip.AddrPort) *pending {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.byNonce[nonce]
	for _, p := range ps {
		for _, d := range p.dsts {
			if d.Addr() == src.Addr().Unmap() {
				return p
			}
		}
	}
	if len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// remove stops waiting for p; it reports false if p was gone already
// (acknowledged or given up meanwhile), so only one caller acts on it.
func (t *pendingTable) remove(p *pending) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.forgetLocked(p)
}

func (t *pendingTable) forgetLocked(p *pending) bool {
	switch {
	case p.index == gone:
		return false
	case p.index >= 0:
		heap.Remove(&t.h, p.index)
	}
	p.index = gone
	ps := t.byNonce[p.nonce]
	for i, q := range ps {
		if q == p {
			ps = append(ps[:i], ps[i+1:]...)
			break
		}
	}
	if len(ps) == 0 {
		delete(t.byNonce, p.nonce)
	} else {
		t.byNonce[p.nonce] = ps
	}
	t.n--
	metrics.NotifyPending.Set(float64(t.n))
	return true
}

// maxDue bounds the entries one pass of the retransmitter takes.
const maxDue = 1024

// due takes the entries whose retransmission time has come and says how
// long until the next one.
func (t *pendingTable) due(now time.Time, out []*pending) ([]*pending, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.h) > 0 && !t.h[0].next.After(now) && len(out) < maxDue {
		p := heap.Pop(&t.h).(*pending)
		p.index = inFlight
		out = append(out, p)
	}
	if len(t.h) == 0 {
		return out, time.Hour
	}
	return out, max(t.h[0].next.Sub(now), 0)
}

// reschedule puts an entry taken by due back in the heap, unless it was
// acknowledged meanwhile.
func (t *pendingTable) reschedule(p *pending, next time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.index != inFlight {
		return
	}
	p.next = next
	heap.Push(&t.h, p)
}

// size is how many Map-Notifies wait for their Ack.
func (t *pendingTable) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}
