// Package sim is a simulated OpenFlow 1.3 switch for load tests. It dials
// the controller, answers the handshake, echo, barrier, role and multipart
// flow-stats / group-desc requests, applies flow-mods and group-mods to an
// in-memory table and reports when each flow-mod arrived, so a benchmark can
// see how long a change took to reach many switches without running OVS.
package sim

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// Options configure one simulated switch.
type Options struct {
	DPID uint64
	// OnFlowMod is called from the read loop after each flow-mod has been
	// applied, with the time its message was read off the socket. It must
	// not block for long: the switch reads nothing meanwhile.
	OnFlowMod func(fm *ofp13.FlowMod, at time.Time)
	// OnGroupMod is the same for group-mods.
	OnGroupMod func(gm *ofp13.GroupMod, at time.Time)
	// TLS, when set, makes Dial connect with TLS (with the switch's client
	// certificate in TLS.Certificates), as OVS does for ssl: targets.
	TLS *tls.Config
	// Punt, when set, is sent as a packet-in right after the features reply
	// and again after the role reply: what a hostile switch would feed host
	// learning, admitted or not.
	Punt *ofp13.PacketIn
	// BufSize is the size of the read and write buffers (default 64 KiB);
	// a thousand switches in one process take less with 16 KiB.
	BufSize int
	// Resume, when set, is an earlier connection of the same switch whose
	// flow and group tables this one takes over, as a real switch keeps
	// its flows while its controller restarts (fail_mode=secure).
	Resume *Switch
}

// Switch is one simulated datapath on one connection.
type Switch struct {
	opt Options
	nc  net.Conn
	wmu sync.Mutex
	bw  *bufio.Writer

	tab *table

	flowMods  atomic.Uint64
	groupMods atomic.Uint64
	barriers  atomic.Uint64
	errsSent  atomic.Uint64
	received  [256]atomic.Uint64 // messages by type

	stall sync.RWMutex // write-held while the switch plays dead

	handshake chan struct{} // closed once the role request was answered
	hsOnce    sync.Once
	done      chan struct{}
	closeOnce sync.Once
	err       error
}

// Dial connects to the controller at addr (host:port) and starts the
// switch. It returns once the controller finished its handshake (features,
// role), or with an error when ctx ends first.
func Dial(ctx context.Context, addr string, opt Options) (*Switch, error) {
	var nc net.Conn
	var err error
	if opt.TLS != nil {
		d := tls.Dialer{Config: opt.TLS}
		nc, err = d.DialContext(ctx, "tcp", addr)
	} else {
		var d net.Dialer
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("sim dial %s: %w", addr, err)
	}
	s := New(nc, opt)
	select {
	case <-s.handshake:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("sim %016x handshake: %w", opt.DPID, s.err)
	case <-ctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("sim %016x handshake: %w", opt.DPID, ctx.Err())
	}
}

// New runs a switch over an established connection (for tests with
// net.Pipe). It sends the hello at once.
func New(nc net.Conn, opt Options) *Switch {
	if opt.BufSize <= 0 {
		opt.BufSize = 64 << 10
	}
	tab := newTable()
	if opt.Resume != nil {
		tab, opt.Resume = opt.Resume.tab, nil // no chain of old connections
	}
	s := &Switch{opt: opt, nc: nc, bw: bufio.NewWriterSize(nc, opt.BufSize), tab: tab,
		handshake: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// Close drops the connection and waits for the read loop to end.
func (s *Switch) Close() error {
	s.shut(errors.New("closed"))
	<-s.done
	return nil
}

// Stall makes the switch hang, as a wedged ovs-vswitchd would: it keeps
// the connection open but handles and answers nothing (not even echo)
// until the returned resume is called.
func (s *Switch) Stall() (resume func()) {
	s.stall.Lock()
	var once sync.Once
	return func() { once.Do(s.stall.Unlock) }
}

// waitUnstalled blocks while the switch is stalled.
func (s *Switch) waitUnstalled() {
	s.stall.RLock()
	defer s.stall.RUnlock()
}

// Done is closed when the connection has ended.
func (s *Switch) Done() <-chan struct{} { return s.done }

// Err is why the connection ended (valid once Done is closed).
func (s *Switch) Err() error {
	<-s.done
	return s.err
}

// DPID is the datapath id the switch announces.
func (s *Switch) DPID() uint64 { return s.opt.DPID }

// FlowMods, GroupMods and Barriers count the requests received.
func (s *Switch) FlowMods() uint64  { return s.flowMods.Load() }
func (s *Switch) GroupMods() uint64 { return s.groupMods.Load() }
func (s *Switch) Barriers() uint64  { return s.barriers.Load() }

// Received counts the messages of OpenFlow type typ the switch got.
func (s *Switch) Received(typ uint8) uint64 { return s.received[typ].Load() }

// ErrorsSent counts the OpenFlow errors the switch answered with.
func (s *Switch) ErrorsSent() uint64 { return s.errsSent.Load() }

// Flows is a copy of the flow table.
func (s *Switch) Flows() []ofp13.FlowStats { return s.tab.flowList(allFlows) }

// FlowCount is the number of flows held.
func (s *Switch) FlowCount() int { return s.tab.flowCount() }

// Groups is a copy of the group table, ordered by id.
func (s *Switch) Groups() []ofp13.GroupDesc { return s.tab.groupList() }

// HasEthDst counts the flows whose match has eth_dst = mac.
func (s *Switch) HasEthDst(mac [6]byte) int { return s.tab.countEthDst(mac) }

func (s *Switch) shut(err error) {
	s.closeOnce.Do(func() {
		s.err = err
		_ = s.nc.Close()
	})
}

// send queues one message; flush writes the queue out. Replies of one
// batch of requests go out together, as a real switch would coalesce them.
func (s *Switch) send(xid uint32, m ofp13.Message) {
	b, err := ofp13.Marshal(xid, m)
	if err != nil {
		s.shut(fmt.Errorf("encode reply: %w", err))
		return
	}
	s.writeRaw(b)
}

func (s *Switch) flush() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.bw.Buffered() == 0 {
		return
	}
	if err := s.bw.Flush(); err != nil {
		s.shut(fmt.Errorf("write: %w", err))
	}
}

func (s *Switch) run() {
	defer close(s.done)
	s.send(1, &ofp13.Hello{Bitmap: 1 << ofp13.Version})
	s.flush()
	br := bufio.NewReaderSize(s.nc, s.opt.BufSize)
	for {
		b, err := ofp13.ReadMessage(br)
		if err != nil {
			s.shut(fmt.Errorf("read: %w", err))
			return
		}
		s.waitUnstalled()
		at := time.Now()
		h, m, err := ofp13.Unmarshal(b)
		if err != nil {
			s.sendError(h.XID, ofp13.ErrBadRequest, 0, b)
		} else {
			s.handle(h, m, b, at)
		}
		// Flush only when no further request is already buffered, so a
		// burst of flow-mods with a barrier costs one write.
		if br.Buffered() < ofp13.HeaderLen {
			s.flush()
		}
	}
}

// PacketIn sends pi to the controller, as the switch's pipeline would
// when a flow's actions say so.
func (s *Switch) PacketIn(pi *ofp13.PacketIn) {
	s.send(0, pi)
	s.flush()
}

func (s *Switch) punt() {
	if s.opt.Punt != nil {
		s.send(0, s.opt.Punt)
	}
}

func (s *Switch) sendError(xid uint32, typ, code uint16, req []byte) {
	s.errsSent.Add(1)
	s.send(xid, &ofp13.Error{Type: typ, Code: code, Data: req[:min(64, len(req))]})
}

func (s *Switch) handle(h ofp13.Header, m ofp13.Message, raw []byte, at time.Time) {
	s.received[h.Type].Add(1)
	switch m := m.(type) {
	case *ofp13.Hello, *ofp13.EchoReply, *ofp13.SetConfig, *ofp13.Error:
	case *ofp13.EchoRequest:
		s.send(h.XID, &ofp13.EchoReply{Data: m.Data})
	case *ofp13.FeaturesRequest:
		s.send(h.XID, &ofp13.FeaturesReply{DatapathID: s.opt.DPID, NBuffers: 0, NTables: 254,
			Capabilities: 0x4f})
		s.punt()
	case *ofp13.RoleRequest:
		s.send(h.XID, &ofp13.RoleReply{Role: m.Role, GenerationID: m.GenerationID})
		s.punt()
		s.hsOnce.Do(func() { close(s.handshake) })
	case *ofp13.BarrierRequest:
		s.barriers.Add(1)
		s.send(h.XID, &ofp13.BarrierReply{})
	case *ofp13.FlowMod:
		s.flowMods.Add(1)
		if typ, code, bad := s.tab.applyFlow(m); bad {
			s.sendError(h.XID, typ, code, raw)
		}
		if s.opt.OnFlowMod != nil {
			s.opt.OnFlowMod(m, at)
		}
	case *ofp13.GroupMod:
		s.groupMods.Add(1)
		if typ, code, bad := s.tab.applyGroup(m); bad {
			s.sendError(h.XID, typ, code, raw)
		}
		if s.opt.OnGroupMod != nil {
			s.opt.OnGroupMod(m, at)
		}
	case *ofp13.MeterMod:
		// Accepted and forgotten: no benchmark looks at meters.
	case *ofp13.FlowStatsRequest:
		s.flowStats(h.XID, m)
	case *ofp13.GroupDescRequest:
		s.groupDesc(h.XID)
	case *ofp13.PortDescRequest:
		s.send(h.XID, &ofp13.PortDescReply{})
	default:
		s.sendError(h.XID, ofp13.ErrBadRequest, 1, raw) // OFPBRC_BAD_TYPE
	}
}

// partSize keeps each multipart part well under the 64 KiB message limit
// for the flows a controller installs; sendParts halves it when not.
const partSize = 128

func (s *Switch) flowStats(xid uint32, req *ofp13.FlowStatsRequest) {
	stats := s.tab.flowList(req)
	s.sendParts(xid, len(stats), func(lo, hi int, flags uint16) ofp13.Message {
		return &ofp13.FlowStatsReply{Flags: flags, Stats: stats[lo:hi]}
	})
}

func (s *Switch) groupDesc(xid uint32) {
	groups := s.tab.groupList()
	s.sendParts(xid, len(groups), func(lo, hi int, flags uint16) ofp13.Message {
		return &ofp13.GroupDescReply{Flags: flags, Groups: groups[lo:hi]}
	})
}

// sendParts sends n entries as a multipart reply, all parts but the last
// with the MORE flag. A part that does not encode (too long) is split.
func (s *Switch) sendParts(xid uint32, n int, part func(lo, hi int, flags uint16) ofp13.Message) {
	if n == 0 {
		s.send(xid, part(0, 0, 0))
		return
	}
	for lo := 0; lo < n; {
		size := partSize
		for {
			hi := min(lo+size, n)
			var flags uint16
			if hi < n {
				flags = ofp13.MultipartMore
			}
			b, err := ofp13.Marshal(xid, part(lo, hi, flags))
			if err != nil && size > 1 {
				size /= 2
				continue
			}
			if err != nil {
				s.shut(fmt.Errorf("encode multipart reply: %w", err))
				return
			}
			s.writeRaw(b)
			lo = hi
			break
		}
	}
}

func (s *Switch) writeRaw(b []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.bw.Write(b); err != nil {
		s.shut(fmt.Errorf("write: %w", err))
	}
}
