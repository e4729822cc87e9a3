package mapserver

import (
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/store"
)

// subscriber is an RFC 9437 xTR built from the codec: it subscribes with
// Map-Requests over real UDP and checks and acknowledges the Map-Notifies
// the server sends it.
type subscriber struct {
	t      testing.TB
	conn   *net.UDPConn
	server netip.AddrPort
	key    string // its site's key: verifies Map-Notifies, signs Acks
	xtrID  [16]byte
	siteID [8]byte
	nonce  uint64
}

func newSubscriber(t testing.TB, server netip.AddrPort, addr, key string, id byte) *subscriber {
	t.Helper()
	c := &subscriber{t: t, conn: listenUDPTest(t, addr), server: server, key: key, nonce: packet.NewNonce() >> 1}
	c.xtrID[0], c.xtrID[15], c.siteID[7] = 0x20, id, 1
	return c
}

func (c *subscriber) addr() netip.AddrPort { return c.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// request builds a Map-Request subscribing (N bit on every record) to eids
// in iid; the nonce goes up by one each time (RFC 9437 §5).
func (c *subscriber) request(iid uint32, eids ...string) *packet.MapRequest {
	c.nonce++
	req := &packet.MapRequest{HasXTRID: true, XTRID: c.xtrID, SiteID: c.siteID, Nonce: c.nonce,
		ITRRLOCs: []packet.Address{packet.AddrFromIP(c.addr().Addr())}}
	for i, e := range eids {
		var pe packet.EID
		if p, err := netip.ParsePrefix(e); err == nil {
			pe = packet.NewPrefixEID(p)
		} else if m, err := net.ParseMAC(e); err == nil {
			pe = packet.NewMACEID([6]byte(m))
		} else {
			c.t.Fatalf("bad eid %q", e)
		}
		req.EIDs = append(req.EIDs, pe.WithIID(iid))
		req.Notify.Set(i, true)
	}
	return req
}

func (c *subscriber) send(m packet.Message) {
	c.t.Helper()
	b, err := m.Append(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.WriteToUDPAddrPort(b, c.server); err != nil {
		c.t.Fatal(err)
	}
}

// subscribe sends a subscription and returns its nonce.
func (c *subscriber) subscribe(iid uint32, eids ...string) uint64 {
	req := c.request(iid, eids...)
	c.send(req)
	return req.Nonce
}

// received is one datagram the subscriber got.
type received struct {
	at     time.Time
	from   netip.AddrPort
	raw    []byte
	typ    packet.Type
	notify packet.MapNotify
	reply  packet.MapReply
}

// recv waits for the next datagram; ok is false on timeout.
func (c *subscriber) recv(d time.Duration) (received, bool) {
	c.t.Helper()
	buf := make([]byte, 9216)
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	n, from, err := c.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return received{}, false
		}
		c.t.Fatal(err)
	}
	r := received{at: time.Now(), from: from, raw: buf[:n]}
	r.typ, _ = packet.PeekType(r.raw)
	switch r.typ {
	case packet.TypeMapNotify:
		if err := r.notify.Decode(r.raw); err != nil {
			c.t.Fatalf("map-notify: %v", err)
		}
	case packet.TypeMapReply:
		if err := r.reply.Decode(r.raw); err != nil {
			c.t.Fatalf("map-reply: %v", err)
		}
	}
	return r, true
}

// notify waits for a Map-Notify signed with the subscriber's key.
func (c *subscriber) notify(d time.Duration) received {
	c.t.Helper()
	r, ok := c.recv(d)
	if !ok {
		c.t.Fatalf("no Map-Notify within %v", d)
	}
	if r.typ != packet.TypeMapNotify {
		c.t.Fatalf("got a %v, want a Map-Notify", r.typ)
	}
	if err := packet.Verify(r.raw, []byte(c.key)); err != nil {
		c.t.Fatalf("Map-Notify does not verify with the site key: %v", err)
	}
	if !r.notify.HasXTRID || r.notify.XTRID != c.xtrID {
		c.t.Fatalf("Map-Notify xTR-ID %x, want %x", r.notify.XTRID, c.xtrID)
	}
	return r
}

// ack acknowledges a Map-Notify, signed with key, to where it came from.
func (c *subscriber) ack(r received, key string) {
	c.t.Helper()
	a := r.notify.Acknowledge()
	b, err := a.Append(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := packet.Sign(b, a.AlgID, []byte(key)); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.conn.WriteToUDPAddrPort(b, r.from); err != nil {
		c.t.Fatal(err)
	}
}

// subscribed subscribes, acknowledges the confirmation and waits until
// the controller holds the subscription.
func (c *subscriber) subscribed(ctl *controller.Controller, iid uint32, eids ...string) received {
	c.t.Helper()
	nonce := c.subscribe(iid, eids...)
	r := c.notify(5 * time.Second)
	if r.notify.Nonce != nonce {
		c.t.Fatalf("confirmation nonce %x, want the request's %x", r.notify.Nonce, nonce)
	}
	c.ack(r, c.key)
	waitFor(c.t, "subscription stored", 10*time.Second, func() bool {
		subs, _ := ctl.Subscriptions(controller.SubFilter{XTRID: xtrIDText(&c.xtrID)})
		return len(subs) >= len(eids)
	})
	c.nonce = r.notify.Nonce
	return r
}

// openController opens (or reopens) a real SQLite controller on file.
func openController(t testing.TB, file string) (*controller.Controller, func()) {
	t.Helper()
	ctx := testCtx(t)
	db, err := store.Open(ctx, file, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controller.New(ctx, db, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	var closed bool
	stop := func() {
		if closed {
			return
		}
		closed = true
		ctl.Close()
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	t.Cleanup(stop)
	return ctl, stop
}

// pubsubController is newController on a named file, with an xTR of dc1 at
// 127.0.0.1 (the subscribers' address) and a MAC mapping at dc1.
func pubsubController(t testing.TB, file string) (*controller.Controller, func()) {
	t.Helper()
	ctl, stop := openController(t, file)
	ctx := testCtx(t)
	for _, n := range []struct {
		iid  int64
		name string
	}{{iidA, "blue"}, {iidB, "red"}} {
		if _, err := ctl.CreateNetwork(ctx, n.iid, n.name); err != nil {
			t.Fatal(err)
		}
	}
	mkSite(t, ctl, "dc1", keyDC1, "10.1.0.0/16")
	mkSite(t, ctl, "dc2", keyDC2, "10.1.0.0/16", "10.2.0.0/16", "2001:db8:2::/48")
	for _, x := range []controller.XTRInput{{Site: "dc1", Name: "edge1", RLOC: "127.0.0.1"},
		{Site: "dc2", Name: "edge2", RLOC: "192.0.2.20"}} {
		if _, err := ctl.CreateXTR(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	return ctl, stop
}

const hostMAC = "02:00:00:00:00:42"

// place puts hostMAC at site with one RLOC (a move when it was elsewhere).
func place(t testing.TB, ctl *controller.Controller, site, rloc string) {
	t.Helper()
	if _, _, err := ctl.CreateMapping(testCtx(t), controller.MappingInput{InstanceID: iidA, EID: hostMAC,
		Site: site, RLOCs: []controller.LocatorInput{{Address: rloc}}}); err != nil {
		t.Fatal(err)
	}
}

func dbFile(t testing.TB) string { return filepath.Join(t.TempDir(), "l2lisp.db") }
