//go:build linux && (amd64 || arm64)

package udpio

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

// Segmentation offload, an opt-in per socket. With GSO on, WriteBatch
// hands the kernel a run of equal-sized datagrams to one destination as
// one message (UDP_SEGMENT): the stack is walked once for the run, and
// the datagrams are cut apart at the device, or reach a receiver with GRO
// on still whole. With GRO on (UDP_GRO), a socket takes such runs, and
// the runs the kernel coalesced from one sender, as one message with the
// size of each datagram (Datagram.Seg). On the wire, and to any socket
// without GRO, they are ordinary datagrams.

const (
	solUDP      = 17    // SOL_UDP
	udpSegment  = 103   // UDP_SEGMENT
	udpGRO      = 104   // UDP_GRO
	maxSegments = 64    // datagrams per message; the kernel takes 64 or more
	maxGSOBytes = 65000 // payload per message, under IPv4's and IPv6's limits
)

// ctrlSpace is the room of one control message carrying an int.
var ctrlSpace = syscall.CmsgSpace(4)

// EnableGRO turns GRO on for the socket. ReadBatch then needs buffers of
// MaxGRO bytes, or a coalesced run longer than the buffer is truncated.
func (b *BatchConn) EnableGRO() error {
	var serr error
	if err := b.rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), solUDP, udpGRO, 1)
	}); err != nil {
		return fmt.Errorf("udp gro: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("udp gro: %w", serr)
	}
	b.r.ctrl = make([]byte, len(b.r.hdrs)*ctrlSpace)
	return nil
}

// EnableGSO makes WriteBatch send runs of datagrams with one destination
// and one size (the last may be shorter) as one message each. If the
// kernel refuses one, GSO is switched off and the run sent datagram by
// datagram.
func (b *BatchConn) EnableGSO() {
	b.gso = true
	b.w.ctrl = make([]byte, len(b.w.hdrs)*ctrlSpace)
	b.w.iovs = make([]syscall.Iovec, len(b.w.hdrs)*maxSegments)
}

// gsoRun is how many datagrams from the start of msgs one message can
// carry: the same destination, the same size but for a shorter last one.
func gsoRun(msgs []Datagram) int {
	first := &msgs[0]
	run, total := 1, first.N
	for run < len(msgs) && run < maxSegments {
		d := &msgs[run]
		if d.Addr != first.Addr || d.N == 0 || d.N > first.N || total+d.N > maxGSOBytes {
			break
		}
		total += d.N
		run++
		if d.N < first.N {
			break
		}
	}
	return run
}

// putSegment writes the UDP_SEGMENT control message for datagrams of size
// bytes into c (ctrlSpace bytes).
func putSegment(c []byte, size int) {
	clear(c)
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&c[0]))
	h.Level, h.Type = solUDP, udpSegment
	h.SetLen(syscall.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&c[syscall.CmsgLen(0)])) = uint16(size)
}

// groSize reads the segment size from the control messages of one
// received message; 0 if it carries none.
func groSize(c []byte) int {
	for len(c) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&c[0]))
		l := int(h.Len)
		if l < syscall.SizeofCmsghdr || l > len(c) {
			return 0
		}
		if h.Level == solUDP && h.Type == udpGRO && l >= syscall.CmsgLen(4) {
			return int(*(*int32)(unsafe.Pointer(&c[syscall.CmsgLen(0)])))
		}
		c = c[min(len(c), syscall.CmsgSpace(l-syscall.CmsgLen(0))):]
	}
	return 0
}

// gsoRefused says whether a failed send of a run means the kernel or the
// device does not do GSO (rather than the destination failing).
func gsoRefused(e syscall.Errno) bool {
	return errors.Is(e, syscall.EIO) || errors.Is(e, syscall.EINVAL) ||
		errors.Is(e, syscall.ENOPROTOOPT) || errors.Is(e, syscall.EOPNOTSUPP)
}
