package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	lispclient "github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/udpio"

	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// benchConfig is the load to generate.
type benchConfig struct {
	kind        string // map-request or map-register
	target      string
	iid         uint
	eids        int
	base        string
	duration    time.Duration
	concurrency int
	itrs        bool // each socket on its own loopback address
	window      int
	key         string
	alg         string
	rloc        string
	sequential  bool
}

// cmdBench drives a Map-Resolver or Map-Server with a closed-loop load:
// each of --concurrency sockets keeps --window requests in flight.
func cmdBench(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "scale" {
		return cmdBenchScale(ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "map-request" && args[0] != "map-register" {
		return fmt.Errorf("usage: l2lisp bench map-request|map-register|scale [flags]")
	}
	c := benchConfig{kind: args[0]}
	fs := flag.NewFlagSet("bench "+c.kind, flag.ContinueOnError)
	fs.StringVar(&c.target, "target", "127.0.0.1:4342", "Map-Resolver / Map-Server host:port")
	fs.UintVar(&c.iid, "iid", 0, "instance-id of the EIDs")
	fs.IntVar(&c.eids, "eids", 1000000, "number of EIDs: host addresses from --base up")
	fs.StringVar(&c.base, "base", "10.0.0.0", "first EID")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to run")
	fs.IntVar(&c.concurrency, "concurrency", 8, "sockets (and goroutines) sending")
	fs.BoolVar(&c.itrs, "itrs", false, "bind each socket to its own loopback address (127.0.1.1, 127.0.1.2, ...), as that many ITRs: the Map-Resolver limits replies per ITR address (--lisp-reply-rate)")
	fs.IntVar(&c.window, "window", 64, "requests in flight per socket")
	fs.StringVar(&c.key, "key", "", "site key (map-register)")
	fs.StringVar(&c.alg, "alg", "sha256", "sha1 or sha256 (map-register)")
	fs.StringVar(&c.rloc, "rloc", "192.0.2.1", "RLOC to register (map-register)")
	fs.BoolVar(&c.sequential, "sequential", false, "walk the EIDs in order instead of at random (map-register: the first pass creates them)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if c.kind == "map-register" && c.key == "" {
		return fmt.Errorf("--key is required for map-register")
	}
	res, err := runBench(ctx, c)
	if err != nil {
		return err
	}
	res.print(os.Stdout, c)
	return nil
}

// benchResult is what the workers measured.
type benchResult struct {
	sent, recv, good, timeouts uint64
	elapsed                    time.Duration
	lat                        []uint32 // microseconds
}

func (r *benchResult) print(w io.Writer, c benchConfig) {
	slices.Sort(r.lat)
	q := func(p float64) float64 {
		if len(r.lat) == 0 {
			return 0
		}
		return float64(r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]) / 1000
	}
	from := "one address"
	if c.itrs {
		from = "one loopback address each"
	}
	fmt.Fprintf(w, "%s against %s: %d sockets (%s) x %d in flight, %s\n", c.kind, c.target, c.concurrency, from, c.window, r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  sent %d, answered %d, correct %d, unanswered windows %d\n", r.sent, r.recv, r.good, r.timeouts)
	fmt.Fprintf(w, "  rate %.0f correct answers/s   latency median %.3f ms   p99 %.3f ms\n",
		float64(r.good)/r.elapsed.Seconds(), q(0.5), q(0.99))
}

func runBench(ctx context.Context, c benchConfig) (*benchResult, error) {
	base, err := netip.ParseAddr(c.base)
	if err != nil || !base.Is4() {
		return nil, fmt.Errorf("--base %q: want an IPv4 address", c.base)
	}
	alg, err := lispclient.ParseAlg(c.alg)
	if err != nil {
		return nil, err
	}
	rloc, err := netip.ParseAddr(c.rloc)
	if err != nil {
		return nil, fmt.Errorf("--rloc: %w", err)
	}
	ws := make([]*benchWorker, c.concurrency)
	for i := range ws {
		if ws[i], err = newBenchWorker(ctx, c, i, base, alg, rloc); err != nil {
			return nil, err
		}
		defer ws[i].conn.Close()
	}
	start := time.Now()
	deadline := start.Add(c.duration)
	var wg sync.WaitGroup
	errs := make([]error, len(ws))
	for i, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = w.run(ctx, deadline) }()
	}
	wg.Wait()
	res := &benchResult{elapsed: time.Since(start)}
	for _, w := range ws {
		res.sent += w.sent
		res.recv += w.recv
		res.good += w.good
		res.timeouts += w.timeouts
		res.lat = append(res.lat, w.lat...)
	}
	return res, errors.Join(errs...)
}

const benchRing = 1 << 16 // send times kept per socket, by sequence number

// benchWorker is one socket of the load generator.
type benchWorker struct {
	c        benchConfig
	id       int
	conn     *net.UDPConn
	bc       *udpio.BatchConn
	out, in  []udpio.Datagram
	sentAt   []int64
	start    time.Time
	rnd      *rand.Rand
	base     uint32
	next     uint64 // sequential EID cursor
	req      packet.MapRequest
	reg      packet.MapRegister
	auth     *packet.Authenticator
	alg      packet.AuthAlg
	eidAt    []uint32 // EID index sent with each sequence number
	reply    packet.MapReply
	notify   packet.MapNotify
	sent     uint64
	recv     uint64 // answers of any kind
	good     uint64 // correct answers: see correct
	timeouts uint64
	lat      []uint32 // of correct answers
}

func newBenchWorker(ctx context.Context, c benchConfig, id int, base netip.Addr, alg packet.AuthAlg, rloc netip.Addr) (*benchWorker, error) {
	var d net.Dialer
	if c.itrs {
		d.LocalAddr = &net.UDPAddr{IP: net.IPv4(127, 0, byte(1+id/250), byte(1+id%250))}
	}
	nc, err := d.DialContext(ctx, "udp", c.target)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", c.target, err)
	}
	conn := nc.(*net.UDPConn)
	_ = conn.SetReadBuffer(4 << 20)
	bc, err := udpio.NewBatchConn(conn, 64)
	if err != nil {
		return nil, err
	}
	// A window goes out as one message per run of equal-sized datagrams
	// (GSO): the load generator shares the cores with the controller.
	bc.EnableGSO()
	b4 := base.As4()
	w := &benchWorker{c: c, id: id, conn: conn, bc: bc, out: udpio.NewDatagrams(64, 1500), in: udpio.NewDatagrams(64, 1500),
		sentAt: make([]int64, benchRing), eidAt: make([]uint32, benchRing), start: time.Now(), rnd: rand.New(rand.NewPCG(uint64(id), 42)),
		base: binary.BigEndian.Uint32(b4[:]), next: uint64(id), auth: packet.NewAuthenticator([]byte(c.key)), alg: alg,
		lat: make([]uint32, 0, 1<<20)}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	var eid packet.EID
	w.req = packet.MapRequest{ITRRLOCs: []packet.Address{packet.AddrFromIP(local)}, EIDs: []packet.EID{eid}}
	w.reg = packet.MapRegister{ProxyReply: true, WantMapNotify: true, AlgID: alg,
		Records: []packet.Record{{TTL: 1440, Locators: []packet.Locator{{Priority: 1, Weight: 100, MPriority: 255,
			Reachable: true, Addr: packet.AddrFromIP(rloc)}}}}}
	return w, nil
}

// pick chooses the index of the next EID to ask for or register.
func (w *benchWorker) pick() uint32 {
	if w.c.sequential {
		i := w.next % uint64(w.c.eids)
		w.next += uint64(w.c.concurrency)
		return uint32(i)
	}
	if n := uint64(w.c.eids); w.c.kind == "map-register" && n > uint64(w.id) {
		// A refresh comes from the socket (the ITR address, --itrs) that
		// registered the EID in the sequential pass, as an xTR's would:
		// from another address it is an xTR change, not a refresh.
		stride := uint64(w.c.concurrency)
		k := w.rnd.Uint64N((n - uint64(w.id) + stride - 1) / stride)
		return uint32(uint64(w.id) + k*stride)
	}
	return uint32(w.rnd.Uint64N(uint64(w.c.eids)))
}

// eid is the EID with index i: the host address base+i.
func (w *benchWorker) eid(i uint32) packet.EID {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], w.base+i)
	e := packet.NewPrefixEID(netip.PrefixFrom(netip.AddrFrom4(a), 32))
	if w.c.iid != 0 {
		e = e.WithIID(uint32(w.c.iid))
	}
	return e
}

// correct says whether an answer is the right one for the EID it was sent
// for: a positive Map-Reply whose record covers that EID and has a
// locator, or a Map-Notify echoing the registered EID (sent only once the
// registration is committed). Negative replies, errors and anything else
// do not count.
func (w *benchWorker) correct(b []byte, i uint32) bool {
	want := w.eid(i)
	if w.c.kind == "map-request" {
		if w.reply.Decode(b) != nil || len(w.reply.Records) == 0 {
			return false
		}
		r := &w.reply.Records[0]
		p, ok := r.EID.Prefix()
		wp, _ := want.Prefix()
		return ok && len(r.Locators) > 0 && p.Contains(wp.Addr()) && r.EID.Addr.IID == want.Addr.IID
	}
	if w.notify.Decode(b) != nil || len(w.notify.Records) == 0 {
		return false
	}
	return w.notify.Records[0].EID.Equal(want)
}

// encode writes message seq into d.
func (w *benchWorker) encode(d *udpio.Datagram, seq uint64) error {
	nonce := uint64(w.id)<<48 | seq
	var b []byte
	var err error
	i := w.pick()
	w.eidAt[seq%benchRing] = i
	if w.c.kind == "map-request" {
		w.req.Nonce, w.req.EIDs[0] = nonce, w.eid(i)
		b, err = w.req.Append(d.Buf[:0])
	} else {
		w.reg.Nonce, w.reg.Records[0].EID = nonce, w.eid(i)
		if b, err = w.reg.Append(d.Buf[:0]); err == nil {
			err = w.auth.Sign(b, w.alg)
		}
	}
	d.N = len(b)
	return err
}

func (w *benchWorker) run(ctx context.Context, deadline time.Time) error {
	var seq uint64
	inflight := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		k := min(w.c.window-inflight, len(w.out))
		for i := 0; i < k; i++ {
			if err := w.encode(&w.out[i], seq+uint64(i)); err != nil {
				return err
			}
			w.sentAt[(seq+uint64(i))%benchRing] = int64(time.Since(w.start))
		}
		if k > 0 {
			n, err := w.bc.WriteBatch(w.out[:k])
			if err != nil {
				return err
			}
			seq += uint64(k)
			w.sent += uint64(n)
			inflight += n
		}
		_ = w.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := w.bc.ReadBatch(w.in)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.timeouts++
				inflight = 0 // the rest of the window is lost
				continue
			}
			return err
		}
		now := int64(time.Since(w.start))
		for i := 0; i < n; i++ {
			b := w.in[i].Buf[:w.in[i].N]
			if len(b) < 12 {
				continue
			}
			s := binary.BigEndian.Uint64(b[4:12]) & (1<<48 - 1)
			w.recv++
			inflight = max(0, inflight-1)
			if w.correct(b, w.eidAt[s%benchRing]) {
				w.good++
				w.lat = append(w.lat, uint32((now-w.sentAt[s%benchRing])/1000))
			}
		}
	}
	return nil
}
