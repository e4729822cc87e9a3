package openflow

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// Role is the controller role this replica asks for on each switch.
type Role uint32

// Controller roles (OpenFlow 1.3 §6.3.6). Several replicas can all be
// RoleEqual, or one RoleMaster with the others RoleSlave.
const (
	RoleEqual  Role = Role(ofp13.RoleEqual)
	RoleMaster Role = Role(ofp13.RoleMaster)
	RoleSlave  Role = Role(ofp13.RoleSlave)
)

// Server accepts switch connections and keeps one Switch per datapath id.
// Set the exported fields before calling Serve. Given a TLS listener, it
// runs each handshake itself, with the handshake timeout.
//
// A connection is admitted after the features reply: Admit (when set)
// must accept the peer, and no other connection may hold or be claiming
// the same datapath-id. A second connection never displaces the first;
// instead the first is probed with an echo request and dropped if it does
// not answer within DuplicateProbe, so a switch that restarted without
// closing its old connection gets in on its next attempt. A refused peer
// gets nothing but the hello and the features request.
type Server struct {
	OnConnect     func(*Switch)
	OnDisconnect  func(*Switch)
	OnPacketIn    func(*Switch, PacketIn)
	OnFlowRemoved func(*Switch, FlowRemoved)
	Admit         func(Peer) error // nil admits every peer; return a RefusedError to give the reason
	OnRefused     func(Refusal)    // called for every refused connection; must not block

	Role         Role   // requested at handshake until SetRole; 0 means RoleEqual
	GenerationID uint64 // for RoleMaster/RoleSlave, until SetRole
	// OnRole is told the role a switch granted whenever this server asked
	// for one after the handshake (SetRole, or a role that changed while
	// the switch was connecting).
	OnRole           func(*Switch, Role)
	MissSendLen      uint16        // set-config miss_send_len; 0 means the whole packet
	EchoInterval     time.Duration // keepalive period; 0 means 5s
	EchoTimeout      time.Duration // silence that drops a switch; 0 means 3 intervals
	HandshakeTimeout time.Duration // 0 means 10s
	MaxQueuedEvents  int           // packet-ins queued per switch before dropping; 0 means 4096
	DuplicateProbe   time.Duration // answer time asked of a connection whose datapath-id another claims; 0 means 3s

	log      *slog.Logger
	mu       sync.Mutex
	switches map[uint64]*Switch
	conns    map[*conn]struct{}
	roles    roleState // what SetRole asked for, once it has been called
}

// NewServer returns a server that logs to log (slog.Default when nil).
func NewServer(log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{log: log.With("component", "openflow"), switches: map[uint64]*Switch{}, conns: map[*conn]struct{}{}}
}

// Serve accepts connections on ln until ctx is done, then closes the
// listener and every switch connection and returns once they are gone.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var err error
	for {
		nc, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("openflow accept: %w", aerr)
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, nc)
		}()
	}
	cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.close(errors.New("server stopped"))
	}
	s.mu.Unlock()
	wg.Wait()
	return err
}

// Switch returns the switch with datapath id dpid, connected or not.
func (s *Server) Switch(dpid uint64) (*Switch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sw, ok := s.switches[dpid]
	return sw, ok
}

// Switches returns every switch seen, ordered by datapath id.
func (s *Server) Switches() []*Switch {
	s.mu.Lock()
	out := make([]*Switch, 0, len(s.switches))
	for _, sw := range s.switches {
		out = append(out, sw)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].dpid < out[j].dpid })
	return out
}

func (s *Server) probeTimeout() time.Duration {
	if s.DuplicateProbe <= 0 {
		return 3 * time.Second
	}
	return s.DuplicateProbe
}

func (s *Server) durations() (interval, timeout, handshake time.Duration) {
	interval, timeout, handshake = s.EchoInterval, s.EchoTimeout, s.HandshakeTimeout
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if timeout <= 0 {
		timeout = 3 * interval
	}
	if handshake <= 0 {
		handshake = 10 * time.Second
	}
	return interval, timeout, handshake
}

// handle runs one connection from hello to close.
func (s *Server) handle(ctx context.Context, nc net.Conn) {
	log := s.log.With("remote", nc.RemoteAddr().String())
	c := newConn(nc, log)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	if ctx.Err() != nil {
		c.close(ctx.Err())
		return
	}
	interval, timeout, hsTimeout := s.durations()
	peer := Peer{Remote: nc.RemoteAddr()}
	if tc, ok := nc.(*tls.Conn); ok {
		name, err := tlsHandshake(ctx, tc, hsTimeout)
		if err != nil {
			s.refuse(c, tlsRefusal(peer, err))
			return
		}
		peer.TLS, peer.Name = true, name
	}
	if err := helloExchange(c, hsTimeout); err != nil {
		log.Warn("openflow hello failed", "err", err)
		c.close(err)
		return
	}
	events := newEventQueue(s.MaxQueuedEvents)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.readLoop(func(h ofp13.Header, m ofp13.Message) { s.dispatch(c, events, h, m) })
	}()
	defer func() { <-readDone }()
	hctx, cancel := context.WithTimeout(ctx, hsTimeout)
	sw, err := s.admit(hctx, c, &peer)
	cancel()
	if err != nil {
		return
	}
	s.attach(sw, c)
	log.Info("switch connected", "dpid", fmt.Sprintf("%016x", peer.DPID), "name", peer.Name, "role", roleName(c.grantedRole()))
	s.recheckRole(ctx, sw, c, hsTimeout)
	if s.OnConnect != nil {
		s.OnConnect(sw)
	}
	go events.run(c.done)
	c.keepalive(interval, timeout)
	<-readDone
	events.stop()
	sw.detach(c)
	log.Info("switch disconnected", "dpid", fmt.Sprintf("%016x", peer.DPID), "err", c.err)
	if s.OnDisconnect != nil {
		s.OnDisconnect(sw)
	}
	close(c.finished())
}

// admit learns the datapath-id, applies Admit, claims the datapath-id and
// only then configures the switch. On error the connection is closed.
func (s *Server) admit(ctx context.Context, c *conn, peer *Peer) (*Switch, error) {
	dpid, err := features(ctx, c)
	if err != nil {
		c.log.Warn("openflow handshake failed", "err", err)
		c.close(err)
		return nil, err
	}
	peer.DPID = dpid
	if s.Admit != nil {
		if err := s.Admit(*peer); err != nil {
			r := Refusal{Peer: *peer, Reason: RefusedUnknownXTR, Err: err}
			var re *RefusedError
			if errors.As(err, &re) {
				r.Reason = re.Reason
			}
			s.refuse(c, r)
			return nil, err
		}
	}
	sw, holder := s.reserve(dpid, c)
	if sw == nil {
		err := fmt.Errorf("datapath-id %016x is held by the connection from %s", dpid, holder.nc.RemoteAddr())
		s.refuse(c, Refusal{Peer: *peer, Reason: RefusedDuplicate, Err: err})
		go holder.probe(s.probeTimeout())
		return nil, err
	}
	if err := s.configure(ctx, c); err != nil {
		sw.release(c)
		c.log.Warn("openflow handshake failed", "err", err)
		c.close(err)
		return nil, err
	}
	return sw, nil
}

// refuse closes a connection and reports why.
func (s *Server) refuse(c *conn, r Refusal) {
	c.close(fmt.Errorf("refused: %s", r.Reason))
	if s.OnRefused != nil {
		s.OnRefused(r)
	}
}

// helloExchange sends our hello and requires the switch's hello to admit 1.3.
func helloExchange(c *conn, timeout time.Duration) error {
	if err := c.send(1, &ofp13.Hello{Bitmap: 1 << ofp13.Version}); err != nil {
		return err
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.nc.SetReadDeadline(time.Time{}) }()
	b, err := ofp13.ReadMessage(c.nc)
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	h, m, err := ofp13.Unmarshal(b)
	if err != nil {
		return fmt.Errorf("decode hello: %w", err)
	}
	hello, ok := m.(*ofp13.Hello)
	if !ok {
		return fmt.Errorf("expected hello, got message type %d", h.Type)
	}
	if !hello.Supports(h.Version) {
		_ = c.send(h.XID, &ofp13.Error{Type: ofp13.ErrHelloFailed, Code: 0, Data: []byte("OpenFlow 1.3 required")})
		return fmt.Errorf("switch does not speak OpenFlow 1.3 (version %d, bitmap %#x)", h.Version, hello.Bitmap)
	}
	return nil
}

// features asks the switch for its datapath-id.
func features(ctx context.Context, c *conn) (uint64, error) {
	m, err := c.call(ctx, &ofp13.FeaturesRequest{})
	if err != nil {
		return 0, fmt.Errorf("features: %w", err)
	}
	fr, ok := m.(*ofp13.FeaturesReply)
	if !ok {
		return 0, fmt.Errorf("features: unexpected reply type %d", m.MsgType())
	}
	return fr.DatapathID, nil
}

// configure sets the miss length and claims our role.
func (s *Server) configure(ctx context.Context, c *conn) error {
	miss := s.MissSendLen
	if miss == 0 {
		miss = ofp13.ControllerMax
	}
	if err := c.send(c.nextXID(), &ofp13.SetConfig{MissSendLen: miss}); err != nil {
		return fmt.Errorf("set-config: %w", err)
	}
	role, gen := s.roleNow()
	if _, err := claimRole(ctx, c, role, gen); err != nil && !errors.Is(err, ErrStaleRole) {
		return err
	}
	return nil
}

// reserve claims switch dpid for c. It fails, returning the connection in
// the way, while another connection holds or is claiming the switch.
func (s *Server) reserve(dpid uint64, c *conn) (*Switch, *conn) {
	s.mu.Lock()
	sw, ok := s.switches[dpid]
	if !ok {
		sw = &Switch{srv: s, dpid: dpid, log: s.log.With("dpid", fmt.Sprintf("%016x", dpid))}
		s.switches[dpid] = sw
	}
	s.mu.Unlock()
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.c != nil {
		return nil, sw.c
	}
	if sw.pending != nil {
		return nil, sw.pending
	}
	sw.pending = c
	return sw, nil
}

// attach makes the reserved connection c the switch's. The teardown of the
// switch's previous connection (OnDisconnect included) finishes first, so
// the callbacks of one switch never overlap.
func (s *Server) attach(sw *Switch, c *conn) {
	sw.mu.Lock()
	prev := sw.last
	sw.mu.Unlock()
	if prev != nil {
		<-prev.finished()
	}
	sw.mu.Lock()
	sw.pending, sw.c, sw.last = nil, c, c
	sw.mu.Unlock()
	c.sw.Store(sw)
}
