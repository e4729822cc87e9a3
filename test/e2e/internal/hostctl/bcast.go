package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// cmdBCount counts the broadcast frames the host receives until stdin
// closes, and prints them as JSON: key -> copies. An ARP request is keyed
// "arp SENDER-MAC TARGET-IP", an ICMP echo request "icmp SRC-IP ID SEQ".
// Frames the host sent itself are not counted, so a copy of its own
// broadcast coming back (a loop) is.
func cmdBCount(args []string) error {
	fs := flag.NewFlagSet("bcount", flag.ExitOnError)
	dev := fs.String("i", "eth0", "interface")
	_ = fs.Parse(args)
	fd, _, err := rawSocket(*dev, 0x0003) // ETH_P_ALL
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	fmt.Println("ready")
	counts := map[string]int{}
	buf := make([]byte, 2048)
	for {
		select {
		case <-done:
			return json.NewEncoder(os.Stdout).Encode(counts)
		default:
		}
		n, from, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			continue
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == 4 { // PACKET_OUTGOING
			continue
		}
		if k := broadcastKey(buf[:n]); k != "" {
			counts[k]++
		}
	}
}

func broadcastKey(f []byte) string {
	if len(f) < 42 || [6]byte(f[0:6]) != [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
		return ""
	}
	switch binary.BigEndian.Uint16(f[12:14]) {
	case 0x0806:
		return fmt.Sprintf("arp %s %s", net.HardwareAddr(f[22:28]), netip.AddrFrom4([4]byte(f[38:42])))
	case 0x0800:
		ihl := int(f[14]&0x0f) * 4
		if f[23] != 1 || len(f) < 14+ihl+8 || f[14+ihl] != 8 { // ICMP echo request
			return ""
		}
		icmp := f[14+ihl:]
		return fmt.Sprintf("icmp %s %d %d", netip.AddrFrom4([4]byte(f[26:30])),
			binary.BigEndian.Uint16(icmp[4:6]), binary.BigEndian.Uint16(icmp[6:8]))
	}
	return ""
}

// cmdARPSweep sends one broadcast ARP request for each of -count target
// addresses starting at -first, -gap apart: flooded broadcasts, each
// telling itself apart by its target.
func cmdARPSweep(args []string) error {
	fs := flag.NewFlagSet("arpsweep", flag.ExitOnError)
	var ff frameFlags
	ff.register(fs)
	first := fs.String("first", "198.51.100.150", "first target address")
	count := fs.Int("count", 20, "requests")
	gap := fs.Duration("gap", 20*time.Millisecond, "time between requests")
	_ = fs.Parse(args)
	fd, mac, ip, err := ff.resolve()
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	target, err := netip.ParseAddr(*first)
	if err != nil {
		return fmt.Errorf("-first: %w", err)
	}
	for i := range *count {
		if i > 0 {
			time.Sleep(*gap)
		}
		f := garpFrame(mac, ip)
		t4 := target.As4()
		copy(f[38:42], t4[:])
		if _, err := syscall.Write(fd, f); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		target = target.Next()
	}
	return nil
}
