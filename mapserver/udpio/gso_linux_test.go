//go:build linux && (amd64 || arm64)

package udpio

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// listen opens a loopback UDP socket wrapped for batches; gro turns GRO on
// (and gives MaxGRO buffers).
func listen(t *testing.T, gro bool) (*BatchConn, []Datagram) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	bc, err := NewBatchConn(c, 64)
	if err != nil {
		t.Fatal(err)
	}
	size := 2048
	if gro {
		if err := bc.EnableGRO(); err != nil {
			t.Fatalf("this kernel has UDP GRO (5.0 and later): %v", err)
		}
		size = MaxGRO
	}
	return bc, NewDatagrams(64, size)
}

func addrOf(bc *BatchConn) netip.AddrPort { return bc.Conn().LocalAddr().(*net.UDPAddr).AddrPort() }

// payload is datagram i of a test: n bytes naming i.
func payload(i, n int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, n)
	copy(b, fmt.Sprintf("%03d", i))
	return b
}

// receive reads until want datagrams arrived (or a second passed) and
// returns them, and how many reads carried a coalesced run.
func receive(t *testing.T, bc *BatchConn, in []Datagram, want int) ([][]byte, int) {
	t.Helper()
	var got [][]byte
	runs := 0
	_ = bc.Conn().SetReadDeadline(time.Now().Add(time.Second))
	for len(got) < want {
		n, err := bc.ReadBatch(in)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), want, err)
		}
		for i := range n {
			if in[i].Trunc {
				t.Fatal("truncated read")
			}
			if in[i].Seg > 0 {
				runs++
			}
			for b := range in[i].Datagrams() {
				got = append(got, bytes.Clone(b))
			}
		}
	}
	return got, runs
}

// TestGSOToGRO sends datagrams to two receivers with GSO on: runs of one
// destination and size (a shorter one closing a run) reach a GRO socket
// as coalesced messages and a plain socket as single datagrams, each
// datagram whole and in order.
func TestGSOToGRO(t *testing.T) {
	gro, groIn := listen(t, true)
	plain, plainIn := listen(t, false)
	send, _ := listen(t, false)
	send.EnableGSO()
	type msg struct {
		to   *BatchConn
		size int
	}
	plan := []msg{{gro, 100}, {gro, 100}, {gro, 100}, {gro, 40}, {gro, 100}, {plain, 100}, {plain, 100},
		{plain, 60}, {gro, 100}, {gro, 200}, {gro, 200}}
	for range 70 { // a run longer than one message may carry
		plan = append(plan, msg{gro, 80})
	}
	out := NewDatagrams(len(plan), 256)
	var wantGRO, wantPlain [][]byte
	for i, m := range plan {
		p := payload(i, m.size)
		out[i].N, out[i].Addr = copy(out[i].Buf, p), addrOf(m.to)
		if m.to == gro {
			wantGRO = append(wantGRO, p)
		} else {
			wantPlain = append(wantPlain, p)
		}
	}
	sent, err := send.WriteBatch(out)
	if err != nil || sent != len(plan) {
		t.Fatalf("sent %d of %d: %v", sent, len(plan), err)
	}
	if !send.gso {
		t.Fatal("the kernel refused GSO on loopback")
	}
	got, runs := receive(t, gro, groIn, len(wantGRO))
	if !equal(got, wantGRO) {
		t.Fatalf("GRO socket got %d datagrams, want %d in order", len(got), len(wantGRO))
	}
	if runs == 0 {
		t.Fatal("no run reached the GRO socket coalesced")
	}
	got, runs = receive(t, plain, plainIn, len(wantPlain))
	if !equal(got, wantPlain) || runs != 0 {
		t.Fatalf("plain socket got %d datagrams (%d runs), want %d single ones", len(got), runs, len(wantPlain))
	}
}

func equal(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestGSOConnected sends a run on a connected socket (no address given),
// as the load generator does.
func TestGSOConnected(t *testing.T) {
	gro, groIn := listen(t, true)
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addrOf(gro)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send, err := NewBatchConn(c, 16)
	if err != nil {
		t.Fatal(err)
	}
	send.EnableGSO()
	out := NewDatagrams(16, 128)
	var want [][]byte
	for i := range out {
		p := payload(i, 90)
		out[i].N = copy(out[i].Buf, p)
		want = append(want, p)
	}
	if sent, err := send.WriteBatch(out); err != nil || sent != len(out) {
		t.Fatalf("sent %d of %d: %v", sent, len(out), err)
	}
	got, runs := receive(t, gro, groIn, len(want))
	if !equal(got, want) || runs != 1 {
		t.Fatalf("got %d datagrams in %d runs, want %d in one", len(got), runs, len(want))
	}
}

func TestGSORun(t *testing.T) {
	a := netip.MustParseAddrPort("192.0.2.1:4342")
	b := netip.MustParseAddrPort("192.0.2.2:4342")
	d := func(to netip.AddrPort, n int) Datagram { return Datagram{N: n, Addr: to} }
	many := make([]Datagram, 100)
	for i := range many {
		many[i] = d(a, 1000)
	}
	for _, c := range []struct {
		name string
		msgs []Datagram
		want int
	}{
		{"one", []Datagram{d(a, 10)}, 1},
		{"same", []Datagram{d(a, 10), d(a, 10), d(a, 10)}, 3},
		{"shorter closes", []Datagram{d(a, 10), d(a, 5), d(a, 10)}, 2},
		{"longer breaks", []Datagram{d(a, 10), d(a, 11)}, 1},
		{"other destination", []Datagram{d(a, 10), d(b, 10)}, 1},
		{"empty breaks", []Datagram{d(a, 10), d(a, 0)}, 1},
		{"segment limit", many[: maxSegments+5 : maxSegments+5], min(maxSegments, maxGSOBytes/1000)},
	} {
		if got := gsoRun(c.msgs); got != c.want {
			t.Errorf("%s: run %d, want %d", c.name, got, c.want)
		}
	}
}

// TestGROSize reads the segment size from control messages, and nothing
// from a truncated or foreign one.
func TestGROSize(t *testing.T) {
	c := make([]byte, ctrlSpace)
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&c[0]))
	h.Level, h.Type = solUDP, udpGRO
	h.SetLen(syscall.CmsgLen(4))
	*(*int32)(unsafe.Pointer(&c[syscall.CmsgLen(0)])) = 1400
	if got := groSize(c); got != 1400 {
		t.Fatalf("size %d, want 1400", got)
	}
	if got := groSize(c[:syscall.CmsgLen(2)]); got != 0 {
		t.Fatalf("truncated: size %d, want 0", got)
	}
	h.Type = udpSegment
	if got := groSize(c); got != 0 {
		t.Fatalf("another type: size %d, want 0", got)
	}
	h.SetLen(1)
	if got := groSize(c); got != 0 {
		t.Fatalf("bad length: size %d, want 0", got)
	}
}
