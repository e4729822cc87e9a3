package packet

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// dataPlaneFields are the tshark fields compared for encapsulated frames.
var dataPlaneFields = []string{"udp.dstport", "vxlan.flag_i", "vxlan.i_bit", "vxlan.p_bit", "vxlan.next_proto",
	"vxlan.vni", "lisp-data.flags.iid", "lisp-data.flags.res", "lisp-data.iid", "eth.src", "arp.dst.proto_ipv4",
	"_ws.expert", "_ws.malformed"}

// TestTsharkDataPlane has tshark decode our LISP-GPE and VXLAN headers.
// tshark 4.0 has no LISP-GPE dissector: on 4341 its LISP data dissector
// shows the P bit as reserved bit 0x4 and stops, so the LISP-GPE bytes are
// also sent to 4790, where its VXLAN-GPE dissector reads the same header
// layout (I and P flags, Next Protocol, 24-bit id) and dissects the inner
// Ethernet frame. The golden-bytes tests check the rest of the header.
func TestTsharkDataPlane(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	gpe := Overlay{Encap: EncapLISPGPE, IID: 0xabcdef, Frame: sampleFrame()}
	vxlan := Overlay{Encap: EncapVXLAN, IID: 100, Frame: sampleFrame()}
	inner := map[string]string{"eth.src": "02:00:00:00:00:01,02:00:5e:10:20:30", "arp.dst.proto_ipv4": "192.0.2.2"}
	cases := []struct {
		name string
		o    *Overlay
		port uint16
		want map[string]string
	}{
		{"vxlan on 4789", &vxlan, PortVXLAN, map[string]string{"vxlan.flag_i": "1", "vxlan.vni": "100"}},
		{"lisp-gpe read as vxlan-gpe on 4790", &gpe, 4790, map[string]string{
			"vxlan.i_bit": "1", "vxlan.p_bit": "1", "vxlan.next_proto": "3", "vxlan.vni": strconv.Itoa(0xabcdef)}},
		{"lisp-gpe on 4341", &gpe, PortLISPData, map[string]string{"lisp-data.flags.iid": "1",
			"lisp-data.flags.res": "0x04", "lisp-data.iid": strconv.Itoa(0xabcdef), "eth.src": "02:00:00:00:00:01",
			"arp.dst.proto_ipv4": ""}},
	}
	w := newPcap()
	for _, c := range cases {
		b, err := AppendOverlay(nil, c.o)
		if err != nil {
			t.Fatal(err)
		}
		w.addUDP(b, c.port)
	}
	file := filepath.Join(t.TempDir(), "dataplane.pcap")
	if err := os.WriteFile(file, w.buf, 0o644); err != nil {
		t.Fatal(err)
	}
	rows := tsharkRows(t, file, dataPlaneFields)
	if len(rows) != len(cases) {
		t.Fatalf("tshark returned %d packets, want %d", len(rows), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rows[i]
			want := map[string]string{"udp.dstport": strconv.Itoa(int(c.port)), "_ws.expert": "", "_ws.malformed": ""}
			for k, v := range inner {
				want[k] = v
			}
			for k, v := range c.want {
				want[k] = v
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	checkTsharkClean(t, file)
}
