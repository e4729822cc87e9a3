package e2e

import (
	"bytes"
	"context"
	encbin "encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/l2lisp/l2lisp/test/lab"
)

// The WAN checks read the tunnel headers byte by byte from a capture,
// independently of any decoder: RFC 9305 LISP-GPE and RFC 7348 VXLAN are
// eight bytes each.
const (
	udpLISPData = 4341
	udpVXLAN    = 4789
	gpeFlagI    = 0x08 // LISP I bit = VXLAN-GPE I bit: instance-id present
	gpeFlagP    = 0x04 // LISP-GPE P bit: Next Protocol present
	gpeNextEth  = 0x03 // LISP-GPE Next Protocol: Ethernet
	vxlanFlagI  = 0x08 // VXLAN I flag: VNI valid
)

// wanCapture captures UDP on the WAN bridge into a classic pcap file (so
// the test can read it without a pcapng parser).
type wanCapture struct {
	path string
	cmd  *exec.Cmd
}

func startWANCapture(t *testing.T, ctx context.Context) *wanCapture {
	t.Helper()
	c := &wanCapture{path: filepath.Join(t.TempDir(), "wan.pcap")}
	c.cmd = exec.CommandContext(ctx, "ip", "netns", "exec", lab.WANNetns,
		// Not the BFD sessions between RLOCs (instance-id 2^24-1,
		// pipeline.BFDKey): their checks are the BFD tests'.
		"tshark", "-i", "br-wan", "-f", "udp and not (udp port 4341 and udp[12:4] & 0xffffff00 = 0xffffff00)", "-F", "pcap", "-w", c.path)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile(c.path, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // tshark writes the header before the capture is live
	return c
}

func (c *wanCapture) stop() string {
	time.Sleep(300 * time.Millisecond) // let the last frames reach the capture
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	_ = c.cmd.Wait()
	return c.path
}

// wanPacket is one captured frame as seen on the WAN.
type wanPacket struct {
	n       int // 1-based, as tshark numbers frames
	dstPort uint16
	payload []byte // UDP payload: tunnel header + inner frame
}

// readPCAP reads the UDP/IPv4 frames of a classic pcap with Ethernet
// link type.
func readPCAP(path string) ([]wanPacket, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("no pcap header")
	}
	var bo encbin.ByteOrder
	switch encbin.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = encbin.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = encbin.BigEndian
	default:
		return nil, fmt.Errorf("not a classic pcap (magic %x)", b[:4])
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("link type %d, want Ethernet", lt)
	}
	var out []wanPacket
	for off, n := 24, 1; off+16 <= len(b); n++ {
		incl := int(bo.Uint32(b[off+8:]))
		frame := b[off+16 : min(off+16+incl, len(b))]
		off += 16 + incl
		if len(frame) < 14+20+8 || encbin.BigEndian.Uint16(frame[12:]) != 0x0800 || frame[23] != 17 {
			continue
		}
		ihl := int(frame[14]&0x0f) * 4
		udp := frame[14+ihl:]
		if len(udp) < 8 {
			continue
		}
		out = append(out, wanPacket{n: n, dstPort: encbin.BigEndian.Uint16(udp[2:]), payload: udp[8:]})
	}
	return out, nil
}

// hostsByMAC indexes the lab's hosts by MAC.
func hostsByMAC(topo *lab.Topology) map[string]lab.Host {
	m := map[string]lab.Host{}
	for _, h := range topo.Hosts {
		m[h.MAC] = h
	}
	return m
}

// wireTally counts what checkWire saw, per UDP port and instance-id.
type wireTally struct {
	packets map[string]int // "4341/4100" -> n
	echo    map[string]int // "4341/4100/v4" -> ICMP echo frames checked end to end
	first   map[string]string
}

// checkWire checks every captured UDP packet: it uses the port of its
// network's encapsulation (want: network name -> "lisp-gpe" or "vxlan"),
// its 8-byte header is exactly that encapsulation's with the network's
// instance-id, and it carries one of the network's hosts' Ethernet frames
// (echo requests and replies checked down to the IP addresses).
func checkWire(t *testing.T, topo *lab.Topology, pcap string, want map[string]string) wireTally {
	t.Helper()
	pkts, err := readPCAP(pcap)
	if err != nil {
		t.Fatal(err)
	}
	byMAC := hostsByMAC(topo)
	iidEncap := map[uint32]string{}
	for _, n := range topo.Networks {
		iidEncap[n.InstanceID] = want[n.Name]
	}
	tally := wireTally{packets: map[string]int{}, echo: map[string]int{}, first: map[string]string{}}
	for _, p := range pkts {
		if err := checkPacket(p, iidEncap, byMAC, &tally); err != nil {
			t.Errorf("frame %d (UDP %d): %v; header % x", p.n, p.dstPort, err, p.payload[:min(len(p.payload), 8)])
		}
	}
	if len(pkts) == 0 {
		t.Fatal("nothing captured on the WAN")
	}
	return tally
}

func checkPacket(p wanPacket, iidEncap map[uint32]string, byMAC map[string]lab.Host, tally *wireTally) error {
	if len(p.payload) < 8+14 {
		return errors.New("too short for a tunnel header and an Ethernet frame")
	}
	h := p.payload[:8]
	iid := uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
	encap, known := iidEncap[iid]
	switch {
	case !known:
		return fmt.Errorf("instance-id %d is no lab network", iid)
	case encap == "lisp-gpe" && p.dstPort != udpLISPData, encap == "vxlan" && p.dstPort != udpVXLAN:
		return fmt.Errorf("instance-id %d uses %s but arrived on UDP %d", iid, encap, p.dstPort)
	case encap == "lisp-gpe" && (h[0]&gpeFlagI == 0 || h[0]&gpeFlagP == 0 || h[0] != gpeFlagI|gpeFlagP):
		return fmt.Errorf("LISP-GPE flags %#02x: want I and P set (N, L, E, V, K clear): 0x0c", h[0])
	case encap == "lisp-gpe" && (h[1] != 0 || h[2] != 0 || h[3] != gpeNextEth):
		return fmt.Errorf("LISP-GPE reserved %#02x%02x, Next Protocol %#02x: want 0, 0x03 (Ethernet)", h[1], h[2], h[3])
	case encap == "vxlan" && (h[0] != vxlanFlagI || h[1] != 0 || h[2] != 0 || h[3] != 0):
		return fmt.Errorf("VXLAN flags % x: want 08 00 00 00", h[:4])
	case h[7] != 0:
		return fmt.Errorf("last header byte %#02x, want 0", h[7])
	}
	key := fmt.Sprintf("%d/%d", p.dstPort, iid)
	tally.packets[key]++
	if tally.first[key] == "" {
		tally.first[key] = hex.EncodeToString(p.payload[:min(len(p.payload), 8+14)])
	}
	fam, err := checkInner(p.payload[8:], iid, byMAC)
	if err != nil {
		return err
	}
	if fam != "" {
		tally.echo[key+"/"+fam]++
	}
	return nil
}

// checkInner wants the inner frame to be a host's own Ethernet frame: the
// source MAC is a host of the network, and an ICMP echo carries that
// host's address and the address of the host whose MAC it is sent to.
// It returns "v4" or "v6" for an echo checked that far.
func checkInner(f []byte, iid uint32, byMAC map[string]lab.Host) (string, error) {
	src := net.HardwareAddr(f[6:12]).String()
	from, ok := byMAC[src]
	if !ok || from.InstanceID != iid {
		return "", fmt.Errorf("inner source MAC %s is no host of instance-id %d", src, iid)
	}
	to, unicast := byMAC[net.HardwareAddr(f[0:6]).String()]
	if unicast && to.InstanceID != iid {
		return "", fmt.Errorf("inner frame from %s to %s, a host of another network", from.Name, to.Name)
	}
	l3 := f[14:]
	switch encbin.BigEndian.Uint16(f[12:]) {
	case 0x0806:
		return "", nil
	case 0x0800:
		if len(l3) < 21 || l3[9] != 1 || (l3[20] != 8 && l3[20] != 0) || !unicast {
			return "", nil // not an echo between two hosts
		}
		s, d := netip.AddrFrom4([4]byte(l3[12:16])), netip.AddrFrom4([4]byte(l3[16:20]))
		if s != from.IPv4.Addr() || d != to.IPv4.Addr() {
			return "", fmt.Errorf("inner echo %s -> %s, want %s -> %s", s, d, from.IPv4.Addr(), to.IPv4.Addr())
		}
		return "v4", nil
	case 0x86dd:
		if len(l3) < 41 || l3[6] != 58 || (l3[40] != 128 && l3[40] != 129) || !unicast {
			return "", nil
		}
		s, d := netip.AddrFrom16([16]byte(l3[8:24])), netip.AddrFrom16([16]byte(l3[24:40]))
		if s != from.IPv6.Addr() || d != to.IPv6.Addr() {
			return "", fmt.Errorf("inner echo %s -> %s, want %s -> %s", s, d, from.IPv6.Addr(), to.IPv6.Addr())
		}
		return "v6", nil
	}
	return "", fmt.Errorf("inner EtherType %#04x is not what the hosts send", encbin.BigEndian.Uint16(f[12:]))
}

// tsharkRead runs tshark on a capture and returns its standard output
// (its warning about running as root goes to standard error).
func tsharkRead(t *testing.T, pcap string, args ...string) string {
	t.Helper()
	var errOut bytes.Buffer
	cmd := exec.Command("tshark", append([]string{"-r", pcap}, args...)...)
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v: %s", args, err, errOut.String())
	}
	return strings.TrimSpace(string(out))
}

// tsharkSummary checks that tshark finds no malformed packet and counts
// the protocol stacks it decodes, once as it decodes by default (UDP 4789
// as VXLAN, 4341 as LISP data) and once with 4341 decoded as VXLAN-GPE,
// whose header is LISP-GPE's.
func tsharkSummary(t *testing.T, pcap string) map[string]int {
	t.Helper()
	stacks := map[string]int{}
	for _, decode := range [][]string{nil, {"-d", "udp.port==4341,vxlan_gpe"}} {
		args := append(decode, "-T", "fields", "-E", "separator=|", "-e", "udp.dstport", "-e", "frame.protocols",
			"-e", "lisp-data.flags.iid", "-e", "lisp-data.iid", "-e", "vxlan.next_proto", "-e", "vxlan.vni",
			"-e", "_ws.malformed")
		for _, line := range strings.Split(tsharkRead(t, pcap, args...), "\n") {
			f := strings.Split(line, "|")
			if len(f) < 7 {
				continue
			}
			if f[6] != "" {
				t.Errorf("tshark %v: malformed packet: %s", decode, line)
			}
			label := "default"
			if decode != nil {
				label = "4341 as vxlan_gpe"
			}
			desc := fmt.Sprintf("%s: UDP %s %s", label, f[0], f[1])
			switch {
			case f[3] != "":
				desc += fmt.Sprintf(" (LISP I=%s iid=%s)", f[2], f[3])
			case f[5] != "":
				desc += fmt.Sprintf(" (next_proto=%s vni=%s)", f[4], f[5])
			}
			if decode != nil && f[0] == "4341" && f[4] != "3" {
				t.Errorf("tshark as VXLAN-GPE: Next Protocol %q, want 3 (Ethernet): %s", f[4], line)
			}
			stacks[desc]++
		}
	}
	return stacks
}
