//go:build linux && (amd64 || arm64)

package mapserver

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapserver/client"
	"github.com/l2lisp/l2lisp/mapserver/packet"
	"github.com/l2lisp/l2lisp/mapserver/udpio"
)

// TestRegisterRunCoalesced sends a window of Map-Registers from one socket
// as one GSO message: the readers' sockets take it coalesced (GRO), and
// every Map-Register in it is handled as if it came alone, one of them
// forged. Each good one is stored and answered by its Map-Notify.
func TestRegisterRunCoalesced(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{})
	for _, c := range s.conns {
		rc, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var on int
		_ = rc.Control(func(fd uintptr) { on, err = syscall.GetsockoptInt(int(fd), 17, 104) }) // SOL_UDP, UDP_GRO
		if err != nil || on != 1 {
			t.Fatalf("reader socket without GRO: %d, %v", on, err)
		}
	}
	c, bc := gsoSender(t, s)
	const n, forged = 24, 7
	out := udpio.NewDatagrams(n, 512)
	for i := range out {
		key := keyDC1
		if i == forged {
			key = "not-the-key-of-dc1"
		}
		opt := regOpt(s, key, fmt.Sprintf("10.1.7.%d/32", i), rloc1)
		opt.Nonce = uint64(1000 + i)
		_, b, err := client.BuildRegister(opt)
		if err != nil {
			t.Fatal(err)
		}
		out[i].N = copy(out[i].Buf, b)
	}
	if sent, err := bc.WriteBatch(out); err != nil || sent != n {
		t.Fatalf("sent %d of %d: %v", sent, n, err)
	}
	notified := map[uint64]bool{}
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var nt packet.MapNotify
	for len(notified) < n-1 {
		k, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%d Map-Notifies of %d: %v", len(notified), n-1, err)
		}
		if err := nt.Decode(buf[:k]); err != nil {
			t.Fatal(err)
		}
		notified[nt.Nonce] = true
	}
	if notified[1000+forged] {
		t.Fatal("the forged Map-Register was answered")
	}
	iid := uint32(iidA)
	recs, _, err := ctl.ListMappings(testCtx(t), controller.MappingFilter{InstanceID: &iid, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	held := map[netip.Prefix]bool{}
	for _, r := range recs {
		held[r.EID.Prefix] = true
	}
	for i := range n {
		p := netip.MustParsePrefix(fmt.Sprintf("10.1.7.%d/32", i))
		if held[p] != (i != forged) {
			t.Errorf("%s stored: %v", p, held[p])
		}
	}
}

// TestTooBigDropped: the readers' larger GRO buffers take datagrams of
// any size, but one longer than maxDatagram, alone or as the segment size
// of a run, is still dropped as too big.
func TestTooBigDropped(t *testing.T) {
	ctl := newController(t)
	s := startServer(t, ctl, Config{})
	_, bc := gsoSender(t, s)
	before := counterValue(t, dropped[dropTooBig])
	out := udpio.NewDatagrams(3, maxDatagram+100)
	for i := range out {
		out[i].N = maxDatagram + 1 // a run of two, then one alone (a longer one)
	}
	out[2].N = maxDatagram + 100
	if sent, err := bc.WriteBatch(out); err != nil || sent != len(out) {
		t.Fatalf("sent %d: %v", sent, err)
	}
	waitFor(t, "too-big drops", 5*time.Second, func() bool { return counterValue(t, dropped[dropTooBig])-before >= 2 })
}

// gsoSender is a socket connected to s that sends runs with GSO.
func gsoSender(t *testing.T, s *Server) (*net.UDPConn, *udpio.BatchConn) {
	t.Helper()
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, net.UDPAddrFromAddrPort(s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	bc, err := udpio.NewBatchConn(c, 32)
	if err != nil {
		t.Fatal(err)
	}
	bc.EnableGSO()
	return c, bc
}
