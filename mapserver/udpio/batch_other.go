//go:build !(linux && (amd64 || arm64))

package udpio

import (
	"context"
	"fmt"
	"net"
)

// ReusePortSupported says whether several sockets may share the port.
const ReusePortSupported = false

// ListenUDP binds addr (without SO_REUSEPORT on this platform).
func ListenUDP(ctx context.Context, addr string) (*net.UDPConn, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	return pc.(*net.UDPConn), nil
}

// BatchConn is the portable fallback: one datagram per system call.
type BatchConn struct{ c *net.UDPConn }

// NewBatchConn wraps c.
func NewBatchConn(c *net.UDPConn, _ int) (*BatchConn, error) { return &BatchConn{c: c}, nil }

// Conn returns the wrapped socket.
func (b *BatchConn) Conn() *net.UDPConn { return b.c }

// ReadBatch reads one datagram.
func (b *BatchConn) ReadBatch(msgs []Datagram) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	n, ap, err := b.c.ReadFromUDPAddrPort(msgs[0].Buf)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	msgs[0].N, msgs[0].Addr, msgs[0].Trunc = n, ap, false
	msgs[0].Addr = ap
	return 1, nil
}

// WriteBatch sends the datagrams one by one, skipping those that fail.
func (b *BatchConn) WriteBatch(msgs []Datagram) (int, error) {
	sent := 0
	for i := range msgs {
		var err error
		if msgs[i].Addr.IsValid() {
			_, err = b.c.WriteToUDPAddrPort(msgs[i].Buf[:msgs[i].N], msgs[i].Addr)
		} else {
			_, err = b.c.Write(msgs[i].Buf[:msgs[i].N])
		}
		if err == nil {
			sent++
		}
	}
	return sent, nil
}

// EnableGRO is not supported on this platform.
func (b *BatchConn) EnableGRO() error { return fmt.Errorf("udp gro: not supported here") }

// EnableGSO does nothing on this platform: datagrams go one by one.
func (b *BatchConn) EnableGSO() {}
