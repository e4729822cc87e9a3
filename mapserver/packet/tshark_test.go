package packet

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pcapWriter writes a classic libpcap file (Ethernet link type) by hand so
// that tshark can decode our encodings independently.
type pcapWriter struct{ buf []byte }

func newPcap() *pcapWriter {
	w := &pcapWriter{}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0xa1b2c3d4) // magic
	w.buf = binary.LittleEndian.AppendUint16(w.buf, 2)          // version major
	w.buf = binary.LittleEndian.AppendUint16(w.buf, 4)          // version minor
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)          // thiszone
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)          // sigfigs
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 65535)      // snaplen
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 1)          // LINKTYPE_ETHERNET
	return w
}

// addUDP appends one Ethernet/IPv4/UDP frame carrying payload to dstPort.
func (w *pcapWriter) addUDP(payload []byte, dstPort uint16) {
	src, dst := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.20")
	frame := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	ip := len(frame)
	total := ipv4HeaderLen + udpHeaderLen + len(payload)
	frame = append(frame, 0x45, 0, byte(total>>8), byte(total), 0, 1, 0x40, 0, 64, protoUDP, 0, 0)
	frame = append(frame, src.AsSlice()...)
	frame = append(frame, dst.AsSlice()...)
	binary.BigEndian.PutUint16(frame[ip+10:], ^fold(sum16(0, frame[ip:ip+ipv4HeaderLen])))
	u := len(frame)
	ulen := udpHeaderLen + len(payload)
	frame = binary.BigEndian.AppendUint16(frame, 61000)
	frame = binary.BigEndian.AppendUint16(frame, dstPort)
	frame = binary.BigEndian.AppendUint16(frame, uint16(ulen))
	frame = append(frame, 0, 0)
	frame = append(frame, payload...)
	c := ^fold(sum16(pseudoSum(src, dst, ulen), frame[u:]))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[u+6:], c)

	n := len(w.buf) / 1000
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(1700000000+n))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(frame)))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(frame)))
	w.buf = append(w.buf, frame...)
}

// tsharkFields are the per-packet fields compared with what was encoded.
var tsharkFields = []string{
	"lisp.type", "lisp.nonce", "lisp.records", "lisp.keyid", "lisp.authlen", "lisp.auth",
	"lisp.irc", "lisp.mreq.itr_rloc_ipv4", "lisp.mreq.itr_rloc_ipv6", "lisp.mreq.record.prefix.length",
	"lisp.lcaf.iid", "lisp.lcaf.iid.ipv4", "lisp.lcaf.iid.ipv6", "lisp.lcaf.iid.mac",
	"lisp.mapping.eid.masklen", "lisp.mapping.act", "lisp.mapping.loccnt", "lisp.loc.locator",
	"ip.src", "ipv6.src", "udp.srcport", "ip.checksum.status", "udp.checksum.status",
	// RFC 9437 pub/sub: tshark 4.0 shows the Map-Request I bit among the
	// reserved header bits, the N bit as a record's reserved byte and the
	// Map-Request's xTR-ID trailer as undissected data; it decodes the
	// Map-Register and Map-Notify xTR-ID itself.
	"lisp.mreq.res", "lisp.mreq.record.res", "data.data", "lisp.mreg.flags.xtrid", "lisp.mnot.flags.xtrid",
	"lisp.xtrid", "lisp.siteid",
	"_ws.expert", "_ws.malformed",
}

type tsharkCase struct {
	name string
	msg  Message
	// raw overrides the bytes sent (used to re-type a Map-Notify-Ack).
	raw []byte
	// typeOnly limits the check to lisp.type (for types tshark cannot parse).
	typeOnly bool
}

// TestTshark writes encoded messages into a pcap file and checks that
// tshark decodes them without errors and with the values we encoded.
func TestTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	ack, ackAsNotify, notifyView := ackCase(sampleMapNotify(true, eidMAC))
	ackX, ackXAsNotify, notifyXView := ackCase(sampleNotifyXTRID(true, eid6))
	cases := []tsharkCase{
		{name: "map-request ipv4", msg: sampleMapRequest(eid4)},
		{name: "map-request ipv6", msg: sampleMapRequest(eid6)},
		{name: "map-request mac", msg: sampleMapRequest(eidMAC)},
		{name: "map-request M bit", msg: func() Message {
			m := sampleMapRequest(eidMAC)
			m.MapDataPresent, m.MapReply = true, sampleRecord(eidMAC)
			return m
		}()},
		{name: "map-reply ipv4", msg: sampleMapReply(eid4)},
		{name: "map-reply ipv6+mac", msg: &MapReply{Nonce: 42, Records: []Record{sampleRecord(eid6), sampleRecord(eidMAC)}}},
		{name: "map-reply negative", msg: sampleNegativeReply(eidMAC)},
		{name: "map-reply negative drop", msg: &MapReply{Nonce: 7, Records: []Record{{TTL: 1, EID: eid6, Action: ActionDrop}}}},
		{name: "map-register sha1", msg: sampleMapRegister(AuthHMACSHA1, eid4, eidMAC)},
		{name: "map-register sha256", msg: sampleMapRegister(AuthHMACSHA256, eid6)},
		{name: "map-notify", msg: sampleMapNotify(false, eid4)},
		{name: "map-notify-ack", msg: ack, typeOnly: true},
		{name: "map-notify-ack body", msg: notifyView, raw: ackAsNotify},
		{name: "map-request pubsub", msg: samplePubSubRequest(eidMAC, eid4)},
		{name: "map-request pubsub M bit", msg: func() Message {
			m := samplePubSubRequest(eid6)
			m.MapDataPresent, m.MapReply = true, sampleRecord(eid6)
			return m
		}()},
		{name: "map-register xtr-id", msg: sampleMessages()["map-register-xtrid"]},
		{name: "map-notify xtr-id", msg: sampleNotifyXTRID(false, eidMAC)},
		{name: "map-notify-ack xtr-id", msg: ackX, typeOnly: true},
		{name: "map-notify-ack xtr-id body", msg: notifyXView, raw: ackXAsNotify},
		{name: "ecm map-request pubsub", msg: sampleECM(samplePubSubRequest(eid4), false)},
		{name: "ecm ipv4 map-request mac", msg: sampleECM(sampleMapRequest(eidMAC), false)},
		{name: "ecm ipv6 map-request ipv6", msg: sampleECM(sampleMapRequest(eid6), true)},
	}
	w := newPcap()
	for _, c := range cases {
		b := c.raw
		if b == nil {
			b = mustMarshal(c.msg)
		}
		w.addUDP(b, 4342)
	}
	file := filepath.Join(t.TempDir(), "lisp.pcap")
	if err := os.WriteFile(file, w.buf, 0o644); err != nil {
		t.Fatal(err)
	}
	rows := runTsharkFields(t, file)
	if len(rows) != len(cases) {
		t.Fatalf("tshark returned %d packets, want %d", len(rows), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkTsharkRow(t, c, rows[i]) })
	}
	checkTsharkClean(t, file)
}

// ackCase returns a Map-Notify-Ack, its signed encoding re-typed as a
// Map-Notify (tshark 4.0 does not dissect type 5), and the Map-Notify that
// re-typed encoding should read as.
func ackCase(ack *MapNotify) (*MapNotify, []byte, *MapNotify) {
	raw := mustMarshal(ack)
	raw[0] = byte(TypeMapNotify)<<4 | raw[0]&0x0f
	view := *ack
	view.Ack = false
	return ack, raw, &view
}

func runTsharkFields(t *testing.T, file string) []map[string]string {
	t.Helper()
	return tsharkRows(t, file, tsharkFields, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE")
}

// tsharkRows has tshark print fields for every packet of file, one map per
// packet; opts are extra tshark options.
func tsharkRows(t *testing.T, file string, fields []string, opts ...string) []map[string]string {
	t.Helper()
	args := append([]string{"-r", file}, opts...)
	args = append(args, "-T", "fields", "-E", "separator=;", "-E", "aggregator=,")
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var rows []map[string]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		vals := strings.Split(line, ";")
		if len(vals) != len(fields) {
			t.Fatalf("tshark row has %d fields: %q", len(vals), line)
		}
		row := map[string]string{}
		for j, f := range fields {
			row[f] = vals[j]
		}
		rows = append(rows, row)
	}
	return rows
}

// checkTsharkClean fails the test if tsharkProblems finds anything.
func checkTsharkClean(t *testing.T, file string) {
	t.Helper()
	for _, p := range tsharkProblems(t, file) {
		t.Error(p)
	}
}

// tsharkProblems runs the expert-info summary and the verbose dissection
// and reports any warning, error, note or malformed packet.
func tsharkProblems(t *testing.T, file string) []string {
	t.Helper()
	var problems []string
	out, err := exec.Command("tshark", "-r", file, "-q", "-z", "expert,note").Output()
	if err != nil {
		t.Fatalf("tshark -z expert: %v", err)
	}
	for _, sev := range []string{"Errors", "Warnings", "Notes"} {
		if strings.Contains(string(out), sev+" (") {
			problems = append(problems, "tshark expert info reports "+sev+":\n"+string(out))
		}
	}
	out, err = exec.Command("tshark", "-r", file, "-V").Output()
	if err != nil {
		t.Fatalf("tshark -V: %v", err)
	}
	if strings.Contains(string(out), "Malformed") {
		problems = append(problems, "tshark -V shows a malformed packet")
	}
	return problems
}

// TestTsharkDetectsMalformed is the negative control for TestTshark: a
// truncated Map-Register must be reported.
func TestTsharkDetectsMalformed(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	b := mustMarshal(sampleMapRegister(AuthHMACSHA1, eid4))
	w := newPcap()
	w.addUDP(b[:len(b)-5], 4342)
	file := filepath.Join(t.TempDir(), "bad.pcap")
	if err := os.WriteFile(file, w.buf, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := tsharkProblems(t, file); len(p) == 0 {
		t.Fatal("tshark did not flag a truncated Map-Register")
	}
	if row := runTsharkFields(t, file)[0]; row["_ws.malformed"] == "" && row["_ws.expert"] == "" {
		t.Fatalf("no _ws.expert/_ws.malformed for a truncated message: %v", row)
	}
}

func checkTsharkRow(t *testing.T, c tsharkCase, row map[string]string) {
	t.Helper()
	want := expectFields(c.msg)
	if c.typeOnly {
		want = map[string]string{"lisp.type": want["lisp.type"]}
	}
	if c.raw != nil { // the signature travelled with the original bytes
		want["lisp.auth"] = hex.EncodeToString(c.raw[authOffset : authOffset+int(be16(c.raw[14:16]))])
	}
	want["_ws.expert"], want["_ws.malformed"] = "", ""
	for f, v := range want {
		if row[f] != v {
			t.Errorf("%s = %q, want %q", f, row[f], v)
		}
	}
}
