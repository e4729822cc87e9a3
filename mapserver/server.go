package mapserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
)

// Defaults for Config.
const (
	DefaultRegistrationTTL = 3 * time.Minute // RFC 9301 §8.2: 3 x the 60 s interval
	DefaultReplyRate       = 1000            // replies per second per destination
	DefaultMaxSources      = 1024
	DefaultBatch           = 64
	DefaultWorkers         = 64
	DefaultETRPort         = 4342
	DefaultAuthFailRate    = 1    // failed authentications per second per source, after the burst
	DefaultAuthFailBurst   = 16   // failed authentications a source may make at once
	DefaultAuthFailSources = 4096 // sources the failure budget tracks at once
	maxDatagram            = 9216
)

// Config tunes a Server; zero values take the defaults.
type Config struct {
	Listen  string // UDP address, e.g. ":4342"
	Readers int    // reader goroutines (and sockets where SO_REUSEPORT exists); 0: GOMAXPROCS
	Batch   int    // datagrams per system call
	// ReplyRate limits Map-Replies and forwarded Map-Requests per second
	// to each reply destination (the ITR-RLOC); negative disables it.
	ReplyRate  float64
	ReplyBurst int // 0: ReplyRate (at least 1)
	MaxSources int // destinations the rate limiter tracks at once
	// RegistrationTTL is how long a registration lives unless refreshed.
	RegistrationTTL time.Duration
	// FlushInterval is how often refreshed expiries are written and
	// expired registrations removed; 0: RegistrationTTL/6 within 100ms..10s.
	FlushInterval time.Duration
	Workers       int // goroutines writing registrations that change a record
	// RefusedEvents bounds the registration.refused events per second
	// written to the change feed (a flood of bad registers must not fill
	// the database); the metrics count every refusal.
	RefusedEvents float64
	// ETRPort is where forwarded Map-Requests and move notifications go.
	ETRPort uint16
	// AuthFailRate and AuthFailBurst are each source address's budget of
	// failed authentications (a token bucket); a source over it has its
	// Map-Registers dropped before any HMAC. Negative rate: no budget.
	// AuthFailSources bounds the sources tracked (least recently charged
	// is forgotten first).
	AuthFailRate    float64
	AuthFailBurst   int
	AuthFailSources int
	// Notify tunes acknowledged Map-Notify and publish/subscribe (pubsub.go).
	Notify NotifyConfig
	// Leader, when set, says whether this replica is the one that expires
	// lapsed registrations for all (nil: always, a single controller).
	// Every replica answers and takes registrations all the same.
	Leader func() bool
	Log    *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Readers <= 0 {
		c.Readers = runtime.GOMAXPROCS(0)
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.ReplyRate == 0 {
		c.ReplyRate = DefaultReplyRate
	}
	if c.ReplyBurst <= 0 {
		c.ReplyBurst = max(1, int(c.ReplyRate))
	}
	if c.MaxSources <= 0 {
		c.MaxSources = DefaultMaxSources
	}
	if c.RegistrationTTL <= 0 {
		c.RegistrationTTL = DefaultRegistrationTTL
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = min(max(c.RegistrationTTL/6, 100*time.Millisecond), 10*time.Second)
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.RefusedEvents <= 0 {
		c.RefusedEvents = 1
	}
	if c.ETRPort == 0 {
		c.ETRPort = DefaultETRPort
	}
	if c.AuthFailRate == 0 {
		c.AuthFailRate = DefaultAuthFailRate
	}
	if c.AuthFailBurst <= 0 {
		c.AuthFailBurst = DefaultAuthFailBurst
	}
	if c.AuthFailSources <= 0 {
		c.AuthFailSources = DefaultAuthFailSources
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.Notify.setDefaults()
}

// Server is the Map-Server and Map-Resolver.
type Server struct {
	ctl     *controller.Controller
	cfg     Config
	log     *slog.Logger
	conns   []*net.UDPConn
	addr    netip.AddrPort
	start   time.Time
	limiter *rateLimiter
	budget  *rateLimiter // failed authentications per source
	sites   siteCache
	touches []*touchSet // one per reader, the last for the workers
	jobs    []chan regJob
	refused chan refusal
	refLim  *rateLimiter
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	readers []*reader
	ps      *pubsub
}

// Listen binds the sockets and starts serving; Close stops.
func Listen(ctx context.Context, ctl *controller.Controller, cfg Config) (*Server, error) {
	cfg.setDefaults()
	s := &Server{ctl: ctl, cfg: cfg, log: cfg.Log, start: time.Now(),
		limiter: newRateLimiter(cfg.ReplyRate, cfg.ReplyBurst, cfg.MaxSources),
		budget:  newRateLimiter(cfg.AuthFailRate, cfg.AuthFailBurst, cfg.AuthFailSources),
		refused: make(chan refusal, 16),
		refLim:  newRateLimiter(cfg.RefusedEvents, max(1, int(cfg.RefusedEvents)*10), 1)}
	s.sites.ctl = ctl
	if err := s.bind(ctx); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for range cfg.Readers + 1 {
		s.touches = append(s.touches, newTouchSet())
	}
	ps, err := newPubSub(s)
	if err != nil {
		s.cancel()
		s.closeConns()
		return nil, err
	}
	s.ps = ps
	s.ps.start()
	s.startWorkers()
	for i := range cfg.Readers {
		r, err := s.newReader(i)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.readers = append(s.readers, r)
	}
	// Subscribed before the server answers anything: a change right
	// after the start must not slip past the SMRs.
	events, cancel := s.ctl.Subscribe(feedBuffer)
	for _, r := range s.readers {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); r.run() }()
	}
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.solicit(s.ctx, events, cancel) }()
	go func() { defer s.wg.Done(); s.maintain() }()
	go func() { defer s.wg.Done(); s.emitRefusals() }()
	return s, nil
}

// bind opens one socket per reader where SO_REUSEPORT spreads the load,
// else one shared socket. The first socket fixes the port of the others.
func (s *Server) bind(ctx context.Context) error {
	n := 1
	if udpio.ReusePortSupported {
		n = s.cfg.Readers
	}
	c, err := udpio.ListenUDP(ctx, s.cfg.Listen)
	if err != nil {
		return err
	}
	s.conns = append(s.conns, c)
	s.addr = c.LocalAddr().(*net.UDPAddr).AddrPort()
	host, _, _ := net.SplitHostPort(s.cfg.Listen)
	same := net.JoinHostPort(host, fmt.Sprint(s.addr.Port()))
	for len(s.conns) < n {
		c, err := udpio.ListenUDP(ctx, same)
		if err != nil {
			s.closeConns()
			return err
		}
		s.conns = append(s.conns, c)
	}
	for _, c := range s.conns {
		_ = c.SetReadBuffer(4 << 20) // absorb bursts; the kernel caps it at rmem_max
		_ = c.SetWriteBuffer(4 << 20)
	}
	return nil
}

func (s *Server) closeConns() {
	for _, c := range s.conns {
		_ = c.Close()
	}
}

// Addr is the bound UDP address (useful with port 0).
func (s *Server) Addr() netip.AddrPort {
	return netip.AddrPortFrom(s.addr.Addr().Unmap(), s.addr.Port())
}

// Close stops the readers and workers, then writes the pending expiry
// refreshes.
func (s *Server) Close() {
	s.once.Do(func() {
		s.closeConns()
		s.cancel()
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.flushTouches(ctx); err != nil {
			s.log.Warn("lisp: final expiry flush", "err", err)
		}
	})
}

// mono is the server's monotonic clock in nanoseconds.
func (s *Server) mono(now time.Time) int64 { return int64(now.Sub(s.start)) }

// conn picks the socket for messages sent outside a reader (workers).
func (s *Server) conn(i int) *net.UDPConn { return s.conns[i%len(s.conns)] }

// sendTo writes one datagram from a worker goroutine.
func (s *Server) sendTo(i int, b []byte, to netip.AddrPort) {
	c := s.conn(i)
	if udpio.SocketIs4(c) {
		to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	} else if to.Addr().Is4() {
		to = netip.AddrPortFrom(netip.AddrFrom16(to.Addr().As16()), to.Port())
	}
	if _, err := c.WriteToUDPAddrPort(b, to); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Debug("lisp: send", "to", to, "err", err)
		dropped[dropSendFailed].Inc()
	}
}

// reader owns one socket's receive loop and all the scratch space the
// hot path needs, so that it never allocates.
type reader struct {
	s       *Server
	id      int
	bc      *udpio.BatchConn
	is4     bool
	in      []udpio.Datagram
	out     []udpio.Datagram
	nout    int
	now     time.Time
	mono    int64
	st      stats
	req     packet.MapRequest
	ecm     packet.ECM
	ecmReq  packet.MapRequest
	reg     packet.MapRegister
	reply   packet.MapReply
	locs    []packet.Locator
	notify  packet.MapNotify
	auth    authCache
	touch   *touchSet
	eids    []mapping.EID
	rlocs   []netip.Addr
	pick    pickScratch
	info    regInfo
	scratch []byte
	// replyTo is where the answer to the request being handled goes;
	// requesters remembers it per EID for SMRs.
	replyTo    netip.AddrPort
	requesters *requesterLog
}

func (s *Server) newReader(i int) (*reader, error) {
	c := s.conns[i%len(s.conns)]
	bc, err := udpio.NewBatchConn(c, s.cfg.Batch)
	if err != nil {
		return nil, err
	}
	// With GRO, one read takes a run of Map-Registers (or Map-Requests)
	// an xTR sent back to back. Its buffers hold 64 KiB each, of which
	// only the pages reads fill become resident.
	size := maxDatagram
	if bc.EnableGRO() == nil {
		size = udpio.MaxGRO
	}
	r := &reader{s: s, id: i, bc: bc, is4: udpio.SocketIs4(c), in: udpio.NewDatagrams(s.cfg.Batch, size),
		out: udpio.NewDatagrams(s.cfg.Batch, maxDatagram), locs: make([]packet.Locator, 0, 64),
		auth: newAuthCache(readerAuthKeys), touch: s.touches[i], scratch: make([]byte, 0, 64), requesters: newRequesterLog()}
	r.reply.Records = make([]packet.Record, 0, 8)
	r.ecm.Inner = &r.ecmReq
	r.info.registrant = r.registrant
	return r, nil
}

func (r *reader) run() {
	for {
		n, err := r.bc.ReadBatch(r.in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.s.log.Warn("lisp: read", "err", err)
			select {
			case <-r.s.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond): // do not spin on a persistent error
			}
			continue
		}
		r.now = time.Now()
		r.mono = r.s.mono(r.now)
		for i := 0; i < n; i++ {
			r.handle(&r.in[i])
		}
		r.flushOut()
		r.st.flush()
	}
}

// next returns the next free reply slot, sending the batch when full.
func (r *reader) next() *udpio.Datagram {
	if r.nout == len(r.out) {
		r.flushOut()
	}
	d := &r.out[r.nout]
	r.nout++
	return d
}

// unnext gives back the slot next returned (the reply failed to encode).
func (r *reader) unnext() { r.nout-- }

func (r *reader) flushOut() {
	if r.nout == 0 {
		return
	}
	sent, err := r.bc.WriteBatch(r.out[:r.nout])
	if err != nil && !errors.Is(err, net.ErrClosed) {
		r.s.log.Warn("lisp: write", "err", err)
	}
	r.st.drop[dropSendFailed] += r.nout - sent
	r.nout = 0
}

// handle dispatches what d holds: one datagram or, with GRO, a run of
// them from one sender (each handled as if it came alone).
func (r *reader) handle(d *udpio.Datagram) {
	seg := d.Seg
	if seg <= 0 {
		seg = d.N
	}
	if d.Trunc || seg > maxDatagram { // as without GRO's larger buffers
		r.st.drop[dropTooBig]++
		return
	}
	for b := range d.Datagrams() {
		r.dispatch(b, d.Addr)
	}
}

// dispatch handles one datagram on its message type.
func (r *reader) dispatch(b []byte, from netip.AddrPort) {
	t, err := packet.PeekType(b)
	if err != nil {
		r.st.drop[dropMalformed]++
		return
	}
	switch t {
	case packet.TypeMapRequest:
		if err := r.req.Decode(b); err != nil {
			r.st.drop[dropMalformed]++
			return
		}
		r.handleRequest(&r.req, from, b)
	case packet.TypeECM:
		r.handleECM(b, from)
	case packet.TypeMapRegister:
		r.handleRegister(b, from)
	case packet.TypeMapNotifyAck:
		r.handleAck(b, from)
	case packet.TypeMapReply, packet.TypeMapNotify:
		r.st.drop[dropUnexpected]++
	default:
		r.st.drop[dropUnknownType]++
	}
}

func (r *reader) handleECM(b []byte, from netip.AddrPort) {
	if r.ecm.Inner == nil {
		r.ecm.Inner = &r.ecmReq
	}
	if err := r.ecm.Decode(b); err != nil {
		r.st.drop[dropMalformed]++
		return
	}
	req, ok := r.ecm.Inner.(*packet.MapRequest)
	if !ok {
		// Only Map-Requests are expected encapsulated here; keep the
		// reusable inner message for next time.
		r.ecm.Inner = &r.ecmReq
		r.st.drop[dropUnexpected]++
		return
	}
	src := r.ecm.Src
	if !src.Addr().IsValid() || src.Port() == 0 {
		src = from
	}
	r.handleRequest(req, src, r.ecm.Payload)
}
