package udpio

import (
	"iter"
	"net"
	"net/netip"
)

// Datagram is one UDP message of a batch: Buf holds the bytes (its length
// is the capacity offered to a read), N how many are valid, Addr the peer.
// On write, an invalid Addr sends on a connected socket.
type Datagram struct {
	Buf  []byte
	N    int
	Addr netip.AddrPort
	// Trunc is set by ReadBatch when the datagram did not fit in Buf.
	Trunc bool
	// Seg is set by ReadBatch, with GRO on, when Buf[:N] holds several
	// datagrams of one sender coalesced by the kernel: each Seg bytes
	// long but the last, which may be shorter. 0: Buf[:N] is one.
	Seg int
}

// Datagrams yields the datagrams d holds: Buf[:N], or its segments.
func (d *Datagram) Datagrams() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		b := d.Buf[:d.N]
		if d.Seg <= 0 {
			yield(b)
			return
		}
		for len(b) > 0 {
			k := min(d.Seg, len(b))
			if !yield(b[:k:k]) {
				return
			}
			b = b[k:]
		}
	}
}

// MaxGRO is the size of buffers that hold any datagram the kernel may
// coalesce with GRO on: the largest UDP payload.
const MaxGRO = 65535

// NewDatagrams returns n datagrams with buffers of size bytes each.
func NewDatagrams(n, size int) []Datagram {
	ds := make([]Datagram, n)
	backing := make([]byte, n*size)
	for i := range ds {
		ds[i].Buf = backing[i*size : (i+1)*size : (i+1)*size]
	}
	return ds
}

// SocketIs4 reports whether c is an AF_INET socket (bound to an IPv4
// address), as opposed to AF_INET6 (which may be dual-stack).
func SocketIs4(c *net.UDPConn) bool {
	a, ok := c.LocalAddr().(*net.UDPAddr)
	return ok && a.IP.To4() != nil && !a.IP.Equal(net.IPv4zero)
}
