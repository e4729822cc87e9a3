package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// Client defaults.
const (
	maxReply             = 9216 // largest Map-Reply or Map-Notify read
	DefaultClientTimeout = 2 * time.Second
	DefaultClientRetries = 2
)

// ErrNoAnswer means every try timed out.
var ErrNoAnswer = errors.New("lisp: no answer")

// LigOptions describe one Map-Request, as the LISP Internet Groper sends it.
type LigOptions struct {
	MR      string // Map-Resolver host:port
	IID     uint32 // instance-id; 0 sends the EID without an Instance-ID LCAF
	EID     string // IP address, IP prefix or MAC address
	ECM     bool   // send it inside an Encapsulated Control Message
	Timeout time.Duration
	Retries int
	Local   string // local host:port to send from; default an ephemeral port
}

// LigResult is the Map-Reply that answered.
type LigResult struct {
	Nonce   uint64
	From    netip.AddrPort
	ITRRLOC netip.Addr
	RTT     time.Duration
	Records []packet.Record // copied out of the receive buffer
}

// ParseEID turns an EID as the CLI takes it into its packet form.
func ParseEID(iid uint32, s string) (packet.EID, error) {
	e, err := mapping.ParseEID(iid, s)
	if err != nil {
		return packet.EID{}, fmt.Errorf("eid %q: %w", s, err)
	}
	var pe packet.EID
	if e.Family() == mapping.FamilyMAC {
		pe = packet.NewMACEID(e.MAC)
	} else {
		pe = packet.NewPrefixEID(e.Prefix)
	}
	if iid != 0 {
		pe = pe.WithIID(iid)
	}
	return pe, nil
}

func dialUDP(ctx context.Context, local, remote string) (*net.UDPConn, error) {
	d := net.Dialer{}
	if local != "" {
		la, err := net.ResolveUDPAddr("udp", local)
		if err != nil {
			return nil, fmt.Errorf("local address %q: %w", local, err)
		}
		d.LocalAddr = la
	}
	c, err := d.DialContext(ctx, "udp", remote)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", remote, err)
	}
	return c.(*net.UDPConn), nil
}

// Lig sends a Map-Request for opt.EID from an ephemeral port, with the
// local address as ITR-RLOC, and waits for the Map-Reply with its nonce,
// retrying on timeout.
func Lig(ctx context.Context, opt LigOptions) (*LigResult, error) {
	eid, err := ParseEID(opt.IID, opt.EID)
	if err != nil {
		return nil, err
	}
	c, err := dialUDP(ctx, opt.Local, opt.MR)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	remote := c.RemoteAddr().(*net.UDPAddr).AddrPort()
	req := &packet.MapRequest{Nonce: packet.NewNonce(), ITRRLOCs: []packet.Address{packet.AddrFromIP(local.Addr().Unmap())},
		EIDs: []packet.EID{eid}}
	var msg packet.Message = req
	if opt.ECM {
		msg = &packet.ECM{Src: netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
			Dst: netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port()), TTL: 64, Inner: req}
	}
	b, err := msg.Append(nil)
	if err != nil {
		return nil, fmt.Errorf("encode map-request: %w", err)
	}
	res := &LigResult{Nonce: req.Nonce, ITRRLOC: local.Addr().Unmap()}
	var reply packet.MapReply
	err = exchange(ctx, c, b, opt.Timeout, opt.Retries, func(in []byte, from netip.AddrPort) bool {
		if t, _ := packet.PeekType(in); t != packet.TypeMapReply || reply.Decode(in) != nil || reply.Nonce != req.Nonce {
			return false
		}
		res.From, res.Records = from, packet.CloneRecords(reply.Records)
		return true
	}, &res.RTT)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// exchange sends b and reads until match accepts a datagram, resending
// after each timeout.
func exchange(ctx context.Context, c *net.UDPConn, b []byte, timeout time.Duration, retries int,
	match func([]byte, netip.AddrPort) bool, rtt *time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultClientTimeout
	}
	if retries < 0 {
		retries = 0
	} else if retries == 0 {
		retries = DefaultClientRetries
	}
	buf := make([]byte, maxReply)
	for try := 0; try <= retries; try++ {
		sent := time.Now()
		if _, err := c.Write(b); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		deadline := sent.Add(timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = c.SetReadDeadline(deadline)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return fmt.Errorf("receive: %w", err)
			}
			if match(buf[:n], from) {
				*rtt = time.Since(sent)
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrNoAnswer, ctx.Err())
		}
	}
	return fmt.Errorf("%w after %d tries", ErrNoAnswer, retries+1)
}

// Format prints the answer the way lig does.
func (r *LigResult) Format(w io.Writer, eid string) {
	fmt.Fprintf(w, "Received map-reply from %s with rtt %.5f secs (nonce 0x%016x)\n", r.From, r.RTT.Seconds(), r.Nonce)
	for _, rec := range r.Records {
		kind := "negative"
		if len(rec.Locators) > 0 {
			kind = "positive"
		}
		if rec.Authoritative {
			kind += ", authoritative"
		}
		fmt.Fprintf(w, "\nMapping entry for EID '%s' (asked for %s), record ttl: %d mins, action: %s, %s\n",
			rec.EID, eid, rec.TTL, rec.Action, kind)
		if len(rec.Locators) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-39s %-6s %s\n", "Locator", "State", "Priority/Weight")
		for _, l := range rec.Locators {
			state := "down"
			if l.Reachable {
				state = "up"
			}
			fmt.Fprintf(w, "  %-39s %-6s %d/%d\n", l.Addr, state, l.Priority, l.Weight)
		}
	}
}

// RegisterOptions describe one Map-Register.
type RegisterOptions struct {
	MS       string // Map-Server host:port
	Key      string
	Alg      packet.AuthAlg // default HMAC-SHA-256
	KeyID    uint8
	IID      uint32
	EID      string
	RLOCs    []netip.Addr
	Priority uint8
	Weight   uint8
	TTL      uint32 // record TTL, minutes
	Notify   bool   // ask for a Map-Notify and wait for it
	NoProxy  bool   // clear the proxy-reply bit
	Nonce    uint64 // 0: random
	Timeout  time.Duration
	Retries  int
	Local    string // local host:port to send from
}

// ParseAlg reads "sha1" or "sha256".
func ParseAlg(s string) (packet.AuthAlg, error) {
	switch strings.ToLower(s) {
	case "sha1", "hmac-sha1", "hmac-sha-1-96":
		return packet.AuthHMACSHA1, nil
	case "sha256", "hmac-sha256", "hmac-sha-256-128", "":
		return packet.AuthHMACSHA256, nil
	}
	return 0, fmt.Errorf("unknown algorithm %q: want sha1 or sha256", s)
}

// BuildRegister encodes and signs the Map-Register opt describes.
func BuildRegister(opt RegisterOptions) (*packet.MapRegister, []byte, error) {
	eid, err := ParseEID(opt.IID, opt.EID)
	if err != nil {
		return nil, nil, err
	}
	if opt.Alg == packet.AuthNone {
		opt.Alg = packet.AuthHMACSHA256
	}
	if opt.Nonce == 0 {
		opt.Nonce = packet.NewNonce()
	}
	rec := packet.Record{TTL: opt.TTL, EID: eid}
	for _, a := range opt.RLOCs {
		rec.Locators = append(rec.Locators, packet.Locator{Priority: opt.Priority, Weight: opt.Weight,
			MPriority: 255, Reachable: true, Addr: packet.AddrFromIP(a)})
	}
	reg := &packet.MapRegister{ProxyReply: !opt.NoProxy, WantMapNotify: opt.Notify, Nonce: opt.Nonce,
		KeyID: opt.KeyID, AlgID: opt.Alg, Records: []packet.Record{rec}}
	b, err := reg.Append(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("encode map-register: %w", err)
	}
	if err := packet.Sign(b, opt.Alg, []byte(opt.Key)); err != nil {
		return nil, nil, fmt.Errorf("sign map-register: %w", err)
	}
	return reg, b, nil
}

// Register sends a signed Map-Register. With opt.Notify it waits for the
// Map-Notify echoing the nonce, verifies its signature with the key and
// returns it; otherwise it returns nil after sending once.
func Register(ctx context.Context, opt RegisterOptions) (*packet.MapNotify, error) {
	reg, b, err := BuildRegister(opt)
	if err != nil {
		return nil, err
	}
	c, err := dialUDP(ctx, opt.Local, opt.MS)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if !opt.Notify {
		if _, err := c.Write(b); err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		return nil, nil
	}
	var n packet.MapNotify
	var rtt time.Duration
	var bad error
	err = exchange(ctx, c, b, opt.Timeout, opt.Retries, func(in []byte, _ netip.AddrPort) bool {
		if t, _ := packet.PeekType(in); t != packet.TypeMapNotify || n.Decode(in) != nil || n.Nonce != reg.Nonce {
			return false
		}
		if err := packet.Verify(in, []byte(opt.Key)); err != nil {
			bad = fmt.Errorf("map-notify: %w", err)
			return false
		}
		n.Records = packet.CloneRecords(n.Records)
		n.AuthData = append([]byte(nil), n.AuthData...)
		return true
	}, &rtt)
	if err != nil {
		if bad != nil {
			return nil, fmt.Errorf("%w (%w)", err, bad)
		}
		return nil, err
	}
	return &n, nil
}
