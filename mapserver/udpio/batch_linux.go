//go:build linux && (amd64 || arm64)

package udpio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// soReusePort is SO_REUSEPORT on Linux; the syscall package lacks it on
// amd64.
const soReusePort = 0xf

// ReusePortSupported says whether several sockets may share the port.
const ReusePortSupported = true

// ListenUDP binds addr with SO_REUSEPORT so that several sockets, each
// read by its own goroutine, share the load (the kernel spreads flows by
// hash).
func ListenUDP(ctx context.Context, addr string) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	return pc.(*net.UDPConn), nil
}

// mmsghdr is struct mmsghdr of recvmmsg(2)/sendmmsg(2) on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// mmsgState is the preallocated syscall argument space of one direction.
type mmsgState struct {
	hdrs  []mmsghdr
	iovs  []syscall.Iovec
	names []syscall.RawSockaddrInet6 // large enough for either family
	msgs  []Datagram                 // ReadBatch's buffers while recv runs
	ctrl  []byte                     // control message room per header (GRO, GSO); nil: none
	runs  []int                      // datagrams each write header carries (GSO)
	cnt   int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// BatchConn reads and writes batches of datagrams with one recvmmsg or
// sendmmsg system call each, without allocating. One goroutine may read
// while another writes; neither direction is safe for concurrent use.
type BatchConn struct {
	c    *net.UDPConn
	rc   syscall.RawConn
	is4  bool
	gso  bool // EnableGSO
	r, w mmsgState
}

// NewBatchConn wraps c for batches of up to n datagrams.
func NewBatchConn(c *net.UDPConn, n int) (*BatchConn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("batch conn: %w", err)
	}
	b := &BatchConn{c: c, rc: rc, is4: SocketIs4(c)}
	for _, st := range []*mmsgState{&b.r, &b.w} {
		st.hdrs = make([]mmsghdr, n)
		st.iovs = make([]syscall.Iovec, n)
		st.names = make([]syscall.RawSockaddrInet6, n)
	}
	b.w.runs = make([]int, n)
	b.r.fn = b.recv
	b.w.fn = b.send
	return b, nil
}

// Conn returns the wrapped socket.
func (b *BatchConn) Conn() *net.UDPConn { return b.c }

// ReadBatch blocks until at least one datagram arrives, then fills up to
// len(msgs) of them (N, Addr, Trunc) and returns how many.
func (b *BatchConn) ReadBatch(msgs []Datagram) (int, error) {
	st := &b.r
	if len(msgs) > len(st.hdrs) {
		msgs = msgs[:len(st.hdrs)]
	}
	for i := range msgs {
		h := &st.hdrs[i].hdr
		st.iovs[i].Base = unsafe.SliceData(msgs[i].Buf)
		st.iovs[i].SetLen(len(msgs[i].Buf))
		h.Iov, h.Iovlen = &st.iovs[i], 1
		h.Name = (*byte)(unsafe.Pointer(&st.names[i]))
		h.Namelen = syscall.SizeofSockaddrInet6
		h.Control, h.Controllen, h.Flags = nil, 0, 0
		if st.ctrl != nil {
			h.Control = &st.ctrl[i*ctrlSpace]
			h.SetControllen(ctrlSpace)
		}
	}
	st.msgs = msgs
	err := b.rc.Read(st.fn)
	st.msgs = nil
	if err != nil {
		return 0, fmt.Errorf("recvmmsg: %w", err)
	}
	if st.errno != 0 {
		return 0, fmt.Errorf("recvmmsg: %w", st.errno)
	}
	for i := 0; i < st.cnt; i++ {
		m := &msgs[i]
		m.N = int(st.hdrs[i].n)
		m.Trunc = st.hdrs[i].hdr.Flags&syscall.MSG_TRUNC != 0
		m.Addr = sockaddrToAddrPort(&st.names[i])
		m.Seg = 0
		if c := st.hdrs[i].hdr.Controllen; st.ctrl != nil && c > 0 {
			m.Seg = groSize(st.ctrl[i*ctrlSpace : i*ctrlSpace+min(int(c), ctrlSpace)])
		}
	}
	return st.cnt, nil
}

func (b *BatchConn) recv(fd uintptr) bool {
	st := &b.r
	n, _, e := syscall.Syscall6(sysRecvmmsg, fd, uintptr(unsafe.Pointer(&st.hdrs[0])),
		uintptr(len(st.msgs)), 0, 0, 0)
	if e == syscall.EAGAIN || e == syscall.EINTR {
		return false
	}
	st.cnt, st.errno = int(n), e
	return true
}

// WriteBatch sends msgs[i].Buf[:msgs[i].N] to msgs[i].Addr (or the
// connected peer) and returns how many were handed to the kernel. A
// message the kernel refuses (say, an unreachable destination) is skipped.
func (b *BatchConn) WriteBatch(msgs []Datagram) (int, error) {
	st := &b.w
	sent := 0
	for len(msgs) > 0 {
		st.cnt = b.fillWrite(msgs) // headers to send
		err := b.rc.Write(st.fn)
		if err != nil {
			return sent, fmt.Errorf("sendmmsg: %w", err)
		}
		switch {
		case st.errno == 0:
			n := 0
			for _, r := range st.runs[:st.cnt] {
				n += r
			}
			sent += n
			msgs = msgs[n:]
		case errors.Is(st.errno, syscall.EBADF):
			return sent, fmt.Errorf("sendmmsg: %w", st.errno)
		case st.runs[0] > 1 && gsoRefused(st.errno):
			b.gso = false // send the run again, one datagram each
		default:
			// The first message failed on its own: drop it and go on.
			msgs = msgs[st.runs[0]:]
		}
	}
	return sent, nil
}

// fillWrite sets up the headers of one sendmmsg for the start of msgs and
// returns how many it used; st.runs says how many datagrams each carries
// (more than one only with GSO).
func (b *BatchConn) fillWrite(msgs []Datagram) int {
	st := &b.w
	h, m := 0, 0 // headers used, datagrams taken
	for m < len(msgs) && h < len(st.hdrs) {
		run := 1
		if b.gso {
			run = gsoRun(msgs[m:])
		}
		hdr := &st.hdrs[h].hdr
		for j := m; j < m+run; j++ {
			st.iovs[j].Base = unsafe.SliceData(msgs[j].Buf)
			st.iovs[j].SetLen(msgs[j].N)
		}
		hdr.Iov, hdr.Iovlen = &st.iovs[m], uint64(run)
		hdr.Name, hdr.Namelen = nil, 0
		if msgs[m].Addr.IsValid() {
			hdr.Name = (*byte)(unsafe.Pointer(&st.names[h]))
			hdr.Namelen = addrPortToSockaddr(msgs[m].Addr, b.is4, &st.names[h])
		}
		hdr.Control, hdr.Controllen, hdr.Flags = nil, 0, 0
		if run > 1 {
			c := st.ctrl[h*ctrlSpace : (h+1)*ctrlSpace]
			putSegment(c, msgs[m].N)
			hdr.Control = &c[0]
			hdr.SetControllen(ctrlSpace)
		}
		st.runs[h] = run
		h++
		m += run
	}
	return h
}

func (b *BatchConn) send(fd uintptr) bool {
	st := &b.w
	n, _, e := syscall.Syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&st.hdrs[0])),
		uintptr(st.cnt), 0, 0, 0)
	if e == syscall.EAGAIN || e == syscall.EINTR {
		return false
	}
	st.cnt, st.errno = int(n), e
	return true
}

// sockaddrToAddrPort reads a sockaddr_in or sockaddr_in6 written by the
// kernel; a v4-mapped IPv6 address becomes IPv4.
func sockaddrToAddrPort(sa *syscall.RawSockaddrInet6) netip.AddrPort {
	port := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p := uint16(port[0])<<8 | uint16(port[1])
	switch sa.Family {
	case syscall.AF_INET:
		sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), p)
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), p)
	}
	return netip.AddrPort{}
}

// addrPortToSockaddr writes ap in the socket's family and returns the
// sockaddr length; IPv4 goes v4-mapped on an AF_INET6 socket.
func addrPortToSockaddr(ap netip.AddrPort, is4 bool, sa *syscall.RawSockaddrInet6) uint32 {
	port := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p := ap.Port()
	if is4 {
		sa4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = syscall.AF_INET
		port[0], port[1] = byte(p>>8), byte(p)
		sa4.Addr = ap.Addr().Unmap().As4()
		sa4.Zero = [8]byte{}
		return syscall.SizeofSockaddrInet4
	}
	sa.Family = syscall.AF_INET6
	port[0], port[1] = byte(p>>8), byte(p)
	sa.Flowinfo, sa.Scope_id = 0, 0
	sa.Addr = ap.Addr().As16()
	return syscall.SizeofSockaddrInet6
}
