package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// sampleFrame is an Ethernet ARP request (who has 192.0.2.2, tell
// 192.0.2.1) from testMAC, written out by hand.
func sampleFrame() []byte {
	b, _ := hex.DecodeString(strings.Join([]string{
		"ffffffffffff", // destination: broadcast
		"02005e102030", // source: testMAC
		"0806",         // EtherType ARP
		"0001", "0800", // hardware Ethernet, protocol IPv4
		"06", "04", "0001", // lengths 6 and 4, operation request
		"02005e102030", "c0000201", // sender MAC, 192.0.2.1
		"000000000000", "c0000202", // target MAC unknown, 192.0.2.2
	}, ""))
	return b
}

// dataPlaneSamples are encapsulated frames as UDP payloads, by name; the
// port is the UDP destination port they travel to.
func dataPlaneSamples() map[string]struct {
	port    uint16
	payload []byte
} {
	out := map[string]struct {
		port    uint16
		payload []byte
	}{}
	for name, o := range map[string]Overlay{
		"lisp-gpe-iid-100": {Encap: EncapLISPGPE, IID: 100, Frame: sampleFrame()},
		"lisp-gpe-iid-max": {Encap: EncapLISPGPE, IID: 0xffffff, Frame: sampleFrame()},
		"vxlan-vni-100":    {Encap: EncapVXLAN, IID: 100, Frame: sampleFrame()},
		"vxlan-vni-0":      {Encap: EncapVXLAN, IID: 0, Frame: sampleFrame()[:ethHeaderLen]},
	} {
		b, err := AppendOverlay(nil, &o)
		if err != nil {
			panic(err)
		}
		out[name] = struct {
			port    uint16
			payload []byte
		}{o.Encap.Port(), b}
	}
	return out
}

func TestRoundTripGPE(t *testing.T) {
	tests := []struct {
		name string
		h    GPEHeader
	}{
		{"ovs ethernet", GPEHeader{HasIID: true, HasNextProto: true, NextProto: NextProtoEthernet, IID: 0xabcdef}},
		{"every flag", GPEHeader{NoncePresent: true, LSBEnabled: true, EchoNonce: true, MapVersion: true,
			HasIID: true, HasNextProto: true, KeyID: 3, Nonce: 0xffff, NextProto: NextProtoNSH, IID: 0xffffff, LSB: 0xff}},
		{"P with ipv6", GPEHeader{HasNextProto: true, NextProto: NextProtoIPv6, LSB: 0xffffffff}},
		{"rfc 9300 nonce and iid", GPEHeader{NoncePresent: true, HasIID: true, Nonce: 0xabcdef, IID: 5, LSB: 3}},
		{"rfc 9300 lsbs only", GPEHeader{LSBEnabled: true, LSB: 0x80000001}},
		{"key id 2", GPEHeader{KeyID: 2}},
		{"zero", GPEHeader{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.h.Append([]byte{0xee}) // appends, keeps the prefix
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 1+GPEHeaderLen || b[0] != 0xee {
				t.Fatalf("Append wrote %x", b)
			}
			var got GPEHeader
			if err := got.Decode(b[1:]); err != nil {
				t.Fatal(err)
			}
			if got != tc.h {
				t.Fatalf("decoded %+v\nwant    %+v", got, tc.h)
			}
			again, _ := got.Append(nil)
			if !bytes.Equal(again, b[1:]) {
				t.Fatalf("re-encoded %x, want %x", again, b[1:])
			}
		})
	}
	for _, vni := range []uint32{0, 1, 100, 0xabcdef, 0xffffff} {
		h := VXLANHeader{VNI: vni}
		b, err := h.Append(nil)
		var got VXLANHeader
		if err != nil || got.Decode(b) != nil || got != h {
			t.Fatalf("vxlan vni %#x: %v %+v", vni, err, got)
		}
	}
}

// TestGoldenDataPlane checks the encodings against bytes written by hand
// from RFC 9305 §3 (LISP-GPE), RFC 9300 §5.3 and RFC 7348 §5 (VXLAN).
func TestGoldenDataPlane(t *testing.T) {
	tests := []struct {
		name string
		h    interface {
			Append([]byte) ([]byte, error)
		}
		hex []string
	}{
		{"lisp-gpe as ovs writes it", &GPEHeader{HasIID: true, HasNextProto: true, NextProto: NextProtoEthernet, IID: 0xabcdef},
			[]string{
				"0c",     // N L E V clear, I set (0x08), P set (0x04), KK 0
				"0000",   // Nonce/Map-Version (16 bits with P) zero
				"03",     // Next Protocol 0x03 Ethernet
				"abcdef", // instance-id 0xabcdef
				"00",     // locator-status-bits (8 bits with I)
			}},
		{"lisp-gpe every flag", &GPEHeader{NoncePresent: true, LSBEnabled: true, EchoNonce: true, MapVersion: true,
			HasIID: true, HasNextProto: true, KeyID: 3, Nonce: 0x1234, NextProto: NextProtoIPv6, IID: 100, LSB: 5},
			[]string{
				"ff",     // N L E V I P set, KK 3
				"1234",   // nonce 0x1234
				"02",     // Next Protocol 0x02 IPv6
				"000064", // instance-id 100
				"05",     // LSBs 0b101
			}},
		{"rfc 9300 header, P clear", &GPEHeader{NoncePresent: true, HasIID: true, Nonce: 0xabcdef, IID: 100},
			[]string{
				"88",       // N set, I set, P clear
				"abcdef",   // 24-bit nonce
				"00006400", // instance-id 100, LSBs 0
			}},
		{"rfc 9300 lsbs without instance-id", &GPEHeader{LSBEnabled: true, LSB: 3},
			[]string{
				"40",       // L set
				"000000",   // no nonce
				"00000003", // 32 locator-status-bits
			}},
		{"vxlan", &VXLANHeader{VNI: 0xabcdef}, []string{
			"08",     // R R R R I R R R: I set
			"000000", // reserved
			"abcdef", // VNI
			"00",     // reserved
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.h.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := hex.EncodeToString(b), strings.Join(tc.hex, ""); got != want {
				t.Fatalf("encoding\n got %s\nwant %s", got, want)
			}
		})
	}
	// A whole UDP payload: the OVS LISP-GPE header, then the frame.
	o := Overlay{Encap: EncapLISPGPE, IID: 100, Frame: sampleFrame()}
	b, err := AppendOverlay(nil, &o)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0c000003" + "00006400" + hex.EncodeToString(sampleFrame()); hex.EncodeToString(b) != want {
		t.Fatalf("overlay\n got %x\nwant %s", b, want)
	}
}

func TestDecodeOverlay(t *testing.T) {
	for name, s := range dataPlaneSamples() {
		for _, port := range []uint16{s.port, 0} {
			o, err := DecodeOverlay(port, s.payload)
			if err != nil {
				t.Fatalf("%s port %d: %v", name, port, err)
			}
			if o.Encap.Port() != s.port || !bytes.Equal(o.Frame, s.payload[8:]) {
				t.Fatalf("%s port %d: %+v", name, port, o)
			}
			again, err := AppendOverlay(nil, &o)
			if err != nil || !bytes.Equal(again, s.payload) {
				t.Fatalf("%s: re-encoded %x %v", name, again, err)
			}
		}
	}
	o, err := DecodeOverlay(PortVXLAN, dataPlaneSamples()["vxlan-vni-100"].payload)
	if err != nil || o.Encap != EncapVXLAN || o.IID != 100 || len(o.Frame) != 42 {
		t.Fatalf("vxlan: %+v %v", o, err)
	}
	o, err = DecodeOverlay(PortLISPData, dataPlaneSamples()["lisp-gpe-iid-max"].payload)
	if err != nil || o.Encap != EncapLISPGPE || o.IID != 0xffffff {
		t.Fatalf("lisp-gpe: %+v %v", o, err)
	}
}

func TestDataPlaneDecodeErrors(t *testing.T) {
	frame := hex.EncodeToString(sampleFrame())
	raw := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	tests := []struct {
		name string
		port uint16
		b    []byte
		want error
	}{
		{"vxlan i flag clear", PortVXLAN, raw("00000000" + "00006400" + frame), ErrInvalidValue},
		{"lisp-gpe on 4341 without P", PortLISPData, raw("08000000" + "00006400" + frame), ErrInvalidValue},
		{"lisp-gpe next protocol ipv4", PortLISPData, raw("0c000001" + "00006400" + frame), ErrInvalidValue},
		{"lisp-gpe without instance-id", PortLISPData, raw("04000003" + "00000000" + frame), ErrInvalidValue},
		{"port 0 guess: P set, not ethernet", 0, raw("0c000002" + "00006400" + frame), ErrInvalidValue},
		{"port 0 guess: vxlan without I", 0, raw("00000000" + "00006400" + frame), ErrInvalidValue},
		{"control port", PortLISPControl, raw("0c000003" + "00006400" + frame), ErrUnknownType},
		{"frame shorter than an ethernet header", PortVXLAN, raw("08000000" + "00006400" + frame[:26]), ErrTruncated},
		{"empty", PortLISPData, nil, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeOverlay(tc.port, tc.b)
			var fe *FieldError
			if !errors.Is(err, tc.want) || !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError wrapping %v", err, tc.want)
			}
		})
	}
}

func TestDataPlaneEncodeErrors(t *testing.T) {
	frame := sampleFrame()
	tests := []struct {
		name string
		f    func() ([]byte, error)
	}{
		{"key id 4", func() ([]byte, error) { return (&GPEHeader{KeyID: 4}).Append(nil) }},
		{"16-bit nonce overflow with P", func() ([]byte, error) {
			return (&GPEHeader{HasNextProto: true, Nonce: 0x10000}).Append(nil)
		}},
		{"24-bit nonce overflow", func() ([]byte, error) { return (&GPEHeader{Nonce: 0x1000000}).Append(nil) }},
		{"next protocol without P", func() ([]byte, error) { return (&GPEHeader{NextProto: NextProtoEthernet}).Append(nil) }},
		{"instance-id overflow", func() ([]byte, error) { return (&GPEHeader{HasIID: true, IID: 0x1000000}).Append(nil) }},
		{"8-bit lsbs overflow with I", func() ([]byte, error) { return (&GPEHeader{HasIID: true, LSB: 0x100}).Append(nil) }},
		{"instance-id without I", func() ([]byte, error) { return (&GPEHeader{IID: 1}).Append(nil) }},
		{"vni overflow", func() ([]byte, error) { return (&VXLANHeader{VNI: 0x1000000}).Append(nil) }},
		{"overlay vni overflow", func() ([]byte, error) {
			return AppendOverlay(nil, &Overlay{Encap: EncapVXLAN, IID: 0x1000000, Frame: frame})
		}},
		{"overlay unknown encap", func() ([]byte, error) { return AppendOverlay(nil, &Overlay{Frame: frame}) }},
		{"overlay short frame", func() ([]byte, error) {
			return AppendOverlay(nil, &Overlay{Encap: EncapLISPGPE, Frame: frame[:13]})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.f()
			var fe *FieldError
			if !errors.Is(err, ErrInvalidValue) || !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("err = %v, want a *FieldError wrapping ErrInvalidValue", err)
			}
		})
	}
}

// TestDataPlaneTruncation decodes every strict prefix of the headers, and
// every prefix of a packet too short to hold header and Ethernet header.
func TestDataPlaneTruncation(t *testing.T) {
	for name, s := range dataPlaneSamples() {
		for n := range GPEHeaderLen {
			var g GPEHeader
			var v VXLANHeader
			if err := g.Decode(s.payload[:n]); !errors.Is(err, ErrTruncated) {
				t.Errorf("%s: GPEHeader.Decode([:%d]) = %v", name, n, err)
			}
			if err := v.Decode(s.payload[:n]); !errors.Is(err, ErrTruncated) {
				t.Errorf("%s: VXLANHeader.Decode([:%d]) = %v", name, n, err)
			}
		}
		for n := range GPEHeaderLen + ethHeaderLen {
			for _, port := range []uint16{s.port, 0} {
				if _, err := DecodeOverlay(port, s.payload[:n]); !errors.Is(err, ErrTruncated) {
					t.Errorf("%s: DecodeOverlay(%d, [:%d]) = %v", name, port, n, err)
				}
			}
		}
	}
}

func TestEncap(t *testing.T) {
	for _, e := range []Encap{EncapLISPGPE, EncapVXLAN} {
		got, err := ParseEncap(e.String())
		if err != nil || got != e {
			t.Fatalf("ParseEncap(%q) = %v %v", e.String(), got, err)
		}
	}
	if EncapLISPGPE.Port() != 4341 || EncapVXLAN.Port() != 4789 || EncapUnknown.Port() != 0 {
		t.Fatal("wrong ports")
	}
	if _, err := ParseEncap("gre"); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("ParseEncap(gre) = %v", err)
	}
	if NextProtoEthernet.String() != "Ethernet" || NextProtocol(0x7e).String() != "next-protocol-126" {
		t.Fatal("NextProtocol.String")
	}
}

// TestDataPlaneAllocs checks that decoding and encoding the data-plane
// headers into reused values and buffers does not allocate.
func TestDataPlaneAllocs(t *testing.T) {
	s := dataPlaneSamples()["lisp-gpe-iid-100"]
	buf := make([]byte, 0, 1500)
	var sink Overlay
	if n := testing.AllocsPerRun(50, func() {
		o, err := DecodeOverlay(s.port, s.payload)
		if err != nil {
			t.Fatal(err)
		}
		var g GPEHeader
		var v VXLANHeader
		if g.Decode(s.payload) != nil || v.Decode(s.payload) != nil {
			t.Fatal("decode")
		}
		if _, err := AppendOverlay(buf[:0], &o); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Append(buf[:0]); err != nil {
			t.Fatal(err)
		}
		sink = o
	}); n != 0 {
		t.Errorf("allocs = %v, want 0", n)
	}
	_ = sink
}
