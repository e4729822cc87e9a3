package udpio

import (
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
}

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
