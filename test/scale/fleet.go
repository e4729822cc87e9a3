package scale

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/southbound/openflow"
	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
	"github.com/l2lisp/l2lisp/test/sim"
)

// fleet is the simulated switches, one per site, each redialling the
// controller whenever its connection ends and keeping its flows across
// connections, as OVS with fail_mode=secure does.
type fleet struct {
	addr  string
	slots []*slot
	arr   arrivals
	wg    sync.WaitGroup
}

type slot struct {
	i    int
	name string
	dpid uint64
	tls  *tls.Config
	cur  atomic.Pointer[sim.Switch]
}

func (f *fleet) run(ctx context.Context) {
	for _, s := range f.slots {
		f.wg.Add(1)
		go func() { defer f.wg.Done(); f.keep(ctx, s) }()
	}
}

// keep holds one switch connected until ctx ends.
func (f *fleet) keep(ctx context.Context, s *slot) {
	var prev *sim.Switch
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		sw, err := sim.Dial(ctx, f.addr, sim.Options{DPID: s.dpid, TLS: s.tls, BufSize: 16 << 10, Resume: prev,
			OnFlowMod: func(fm *ofp13.FlowMod, at time.Time) { f.arr.note(s.i, fm, at) }})
		if err != nil {
			// Like OVS, wait longer after each failure (up to a second),
			// so a thousand switches do not hammer a starting controller.
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff/2 + rand.N(backoff/2)):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		prev, backoff = sw, 100*time.Millisecond
		s.cur.Store(sw)
		select {
		case <-sw.Done():
		case <-ctx.Done():
			_ = sw.Close()
			return
		}
	}
}

// flowCounts is how many flows each switch holds.
func (f *fleet) flowCounts() []int {
	out := make([]int, 0, len(f.slots))
	for _, s := range f.slots {
		if sw := s.cur.Load(); sw != nil {
			out = append(out, sw.FlowCount())
		}
	}
	sort.Ints(out)
	return out
}

// holds reports whether switch i has a flow for MAC m.
func (f *fleet) holds(i int, m [6]byte) bool {
	sw := f.slots[i].cur.Load()
	return sw != nil && sw.HasEthDst(m) > 0
}

// miss makes switch i send the controller what its pipeline sends for a
// frame from its access port to an unknown MAC: a packet-in of table 40.
func (f *fleet) miss(i int, dst [6]byte) {
	sw := f.slots[i].cur.Load()
	if sw == nil {
		return
	}
	frame := make([]byte, 60)
	copy(frame, dst[:])
	copy(frame[6:], []byte{0x02, 0xfe, 0, 0, byte(i >> 8), byte(i)})
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	port := ofp13.OXM{Class: ofp13.ClassBasic, Field: 0, Value: binary.BigEndian.AppendUint32(nil, pipeline.FirstAccessOFPort)}
	sw.PacketIn(&ofp13.PacketIn{BufferID: ofp13.NoBuffer, TotalLen: uint16(len(frame)), Reason: openflow.ReasonAction,
		Table: pipeline.TablePunt, Cookie: openflow.StageCookie(pipeline.StageMiss), Match: []ofp13.OXM{port}, Data: frame})
}

// arrivals times the flow-mods of watched MACs at the switches that must
// get one: how long a change takes to reach every interested switch.
type arrivals struct {
	on atomic.Bool // anything watched: the fast path of note is one load
	mu sync.Mutex
	w  map[[6]byte]*watch
}

type watch struct {
	since time.Time
	want  map[int]bool
	got   map[int]time.Time
	done  chan struct{}
}

// expect starts watching mac on switches want from now on.
func (a *arrivals) expect(mac [6]byte, want []int) *watch {
	w := &watch{since: time.Now(), want: map[int]bool{}, got: map[int]time.Time{}, done: make(chan struct{})}
	for _, i := range want {
		w.want[i] = true
	}
	a.mu.Lock()
	if a.w == nil {
		a.w = map[[6]byte]*watch{}
	}
	a.w[mac] = w
	a.on.Store(true)
	a.mu.Unlock()
	return w
}

func (a *arrivals) forget(mac [6]byte) {
	a.mu.Lock()
	delete(a.w, mac)
	a.on.Store(len(a.w) > 0)
	a.mu.Unlock()
}

// note is called by switch i's read loop for every flow-mod.
func (a *arrivals) note(i int, fm *ofp13.FlowMod, at time.Time) {
	if !a.on.Load() {
		return
	}
	mac := sim.EthDst(fm.Match)
	if mac == ([6]byte{}) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.w[mac]
	if w == nil || !w.want[i] || at.Before(w.since) {
		return
	}
	if _, seen := w.got[i]; seen {
		return
	}
	w.got[i] = at
	if len(w.got) == len(w.want) {
		close(w.done)
	}
}

// last is when the last switch got its flow-mod.
func (w *watch) last() time.Time {
	var t time.Time
	for _, at := range w.got {
		if at.After(t) {
			t = at
		}
	}
	return t
}
