// Command hostctl is the end-to-end tests' tool inside a lab host
// namespace: it sends crafted frames (gratuitous ARP, source MAC sprays),
// runs a checksummed TCP transfer, and times the first packet that reaches
// the host after an announcement. Run it with ip netns exec.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hostctl garp|spray|tcpserve|tcpsend|garpwait|watch|bcount|arpsweep [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "garp":
		err = cmdGARP(os.Args[2:])
	case "spray":
		err = cmdSpray(os.Args[2:])
	case "tcpserve":
		err = cmdServe(os.Args[2:])
	case "tcpsend":
		err = cmdSend(os.Args[2:])
	case "garpwait":
		err = cmdGARPWait(os.Args[2:])
	case "watch":
		err = cmdWatch(os.Args[2:])
	case "bcount":
		err = cmdBCount(os.Args[2:])
	case "arpsweep":
		err = cmdARPSweep(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostctl:", err)
		os.Exit(1)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// rawSocket opens an AF_PACKET socket bound to dev, receiving proto.
func rawSocket(dev string, proto uint16) (int, *net.Interface, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return -1, nil, err
	}
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(proto)))
	if err != nil {
		return -1, nil, fmt.Errorf("raw socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(proto), Ifindex: ifi.Index}); err != nil {
		syscall.Close(fd)
		return -1, nil, fmt.Errorf("bind %s: %w", dev, err)
	}
	return fd, ifi, nil
}

// garpFrame is a gratuitous ARP request: sender = target = ip.
func garpFrame(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, 60)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	a := b[14:]
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], 0x0800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1)
	copy(a[8:14], mac)
	ip4 := ip.As4()
	copy(a[14:18], ip4[:])
	copy(a[24:28], ip4[:])
	return b
}

type frameFlags struct {
	dev, mac, ip string
}

func (f *frameFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dev, "i", "eth0", "interface")
	fs.StringVar(&f.mac, "mac", "", "source MAC (default: the interface's)")
	fs.StringVar(&f.ip, "ip", "", "IPv4 address announced")
}

func (f *frameFlags) resolve() (int, net.HardwareAddr, netip.Addr, error) {
	fd, ifi, err := rawSocket(f.dev, 0x0806)
	if err != nil {
		return -1, nil, netip.Addr{}, err
	}
	mac := ifi.HardwareAddr
	if f.mac != "" {
		if mac, err = net.ParseMAC(f.mac); err != nil {
			return -1, nil, netip.Addr{}, err
		}
	}
	ip, err := netip.ParseAddr(f.ip)
	if err != nil {
		return -1, nil, netip.Addr{}, fmt.Errorf("-ip: %w", err)
	}
	return fd, mac, ip, nil
}

func cmdGARP(args []string) error {
	fs := flag.NewFlagSet("garp", flag.ExitOnError)
	var ff frameFlags
	ff.register(fs)
	count := fs.Int("count", 1, "frames to send")
	_ = fs.Parse(args)
	fd, mac, ip, err := ff.resolve()
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	for i := range *count {
		if i > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := syscall.Write(fd, garpFrame(mac, ip)); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	fmt.Println(time.Now().UnixNano())
	return nil
}

// cmdSpray sends frames from n random locally administered source MACs.
func cmdSpray(args []string) error {
	fs := flag.NewFlagSet("spray", flag.ExitOnError)
	dev := fs.String("i", "eth0", "interface")
	n := fs.Int("n", 100, "frames (distinct source MACs)")
	_ = fs.Parse(args)
	fd, _, err := rawSocket(*dev, 0x88b5)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	b := make([]byte, 60)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	binary.BigEndian.PutUint16(b[12:], 0x88b5) // local experimental ethertype
	for range *n {
		binary.BigEndian.PutUint64(b[4:12], rand.Uint64())
		b[6] = b[6]&^1 | 2 // unicast, locally administered
		binary.BigEndian.PutUint16(b[12:], 0x88b5)
		if _, err := syscall.Write(fd, b); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// pattern is the deterministic byte stream of a transfer.
func pattern(n int64) io.Reader {
	r := rand.New(rand.NewPCG(1, 2))
	return io.LimitReader(readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		return len(p), nil
	}), n)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// cmdServe accepts one connection, reads to EOF and prints "bytes sha256".
func cmdServe(args []string) error {
	fs := flag.NewFlagSet("tcpserve", flag.ExitOnError)
	addr := fs.String("l", ":5001", "listen address")
	_ = fs.Parse(args)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Println("listening")
	c, err := ln.Accept()
	ln.Close()
	if err != nil {
		return err
	}
	defer c.Close()
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", n, err)
	}
	fmt.Println(n, hex.EncodeToString(h.Sum(nil)))
	return nil
}

// cmdSend connects and sends n pattern bytes paced over the given
// duration, then prints "bytes sha256" of what it sent.
func cmdSend(args []string) error {
	fs := flag.NewFlagSet("tcpsend", flag.ExitOnError)
	addr := fs.String("c", "", "server address")
	n := fs.Int64("n", 4<<20, "bytes")
	dur := fs.Duration("d", 10*time.Second, "spread the bytes over this long")
	_ = fs.Parse(args)
	c, err := net.DialTimeout("tcp", *addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	h := sha256.New()
	src := io.TeeReader(pattern(*n), h)
	const chunk = 16 << 10
	steps := max(*n/chunk, 1)
	tick := *dur / time.Duration(steps)
	var sent int64
	for {
		k, err := io.CopyN(c, src, chunk)
		sent += k
		if errors.Is(err, io.EOF) || sent >= *n {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d bytes: %w", sent, err)
		}
		time.Sleep(tick)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, c)
	fmt.Println(sent, hex.EncodeToString(h.Sum(nil)))
	return nil
}

// cmdGARPWait sends a gratuitous ARP and waits for the first IPv4 packet
// from -from to arrive; it prints the send and arrival times (Unix ns).
func cmdGARPWait(args []string) error {
	fs := flag.NewFlagSet("garpwait", flag.ExitOnError)
	var ff frameFlags
	ff.register(fs)
	from := fs.String("from", "", "IPv4 source to wait for")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after")
	_ = fs.Parse(args)
	src, err := netip.ParseAddr(*from)
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	rx, _, err := rawSocket(ff.dev, 0x0800)
	if err != nil {
		return err
	}
	defer syscall.Close(rx)
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	_ = syscall.SetsockoptTimeval(rx, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	drain(rx)
	fd, mac, ip, err := ff.resolve()
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	t0 := time.Now()
	if _, err := syscall.Write(fd, garpFrame(mac, ip)); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, 2048)
	want := src.As4()
	for time.Since(t0) < *timeout {
		n, _, err := syscall.Recvfrom(rx, buf, 0)
		if err != nil || n < 34 {
			continue
		}
		if [4]byte(buf[26:30]) == want {
			fmt.Println(t0.UnixNano(), time.Now().UnixNano())
			return nil
		}
	}
	return fmt.Errorf("no packet from %s within %s", src, *timeout)
}

// drain discards what the socket queued before the announcement.
func drain(fd int) {
	buf := make([]byte, 2048)
	for {
		if _, _, err := syscall.Recvfrom(fd, buf, syscall.MSG_DONTWAIT); err != nil {
			return
		}
	}
}

// cmdWatch prints the arrival time (Unix nanoseconds) of every IPv4 packet
// from -from on the interface until stdin closes, so a test can find the
// first one delivered after a move without starting anything late.
func cmdWatch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	dev := fs.String("i", "eth0", "interface")
	from := fs.String("from", "", "IPv4 source to watch for")
	_ = fs.Parse(args)
	src, err := netip.ParseAddr(*from)
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	rx, _, err := rawSocket(*dev, 0x0800)
	if err != nil {
		return err
	}
	defer syscall.Close(rx)
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	_ = syscall.SetsockoptTimeval(rx, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	fmt.Println("ready")
	buf := make([]byte, 2048)
	want := src.As4()
	for {
		select {
		case <-done:
			return nil
		default:
		}
		n, _, err := syscall.Recvfrom(rx, buf, 0)
		if err == nil && n >= 34 && [4]byte(buf[26:30]) == want {
			fmt.Println(time.Now().UnixNano())
		}
	}
}
