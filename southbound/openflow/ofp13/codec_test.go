package ofp13

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

var sampleMatch = []OXM{
	{Class: ClassBasic, Field: 0, Value: []byte{0, 0, 0, 1}},
	{Class: ClassBasic, Field: 2, Value: make([]byte, 8), Mask: bytes.Repeat([]byte{0xff}, 8)},
	{Class: ClassNXM1, Field: 31, Value: []byte{192, 0, 2, 1}},
}

var sampleActions = []Action{
	ActionOutput{Port: 3},
	ActionOutput{Port: PortCtrl, MaxLen: ControllerMax},
	ActionGroup{GroupID: 7},
	ActionSetField{Field: OXM{Class: ClassNXM1, Field: 32, Value: []byte{192, 0, 2, 2}}},
	ActionSetField{Field: OXM{Class: ClassBasic, Field: 38, Value: []byte{0, 0, 0, 0, 0, 0, 0, 42}}},
	ActionRegMove{NBits: 48, Src: 0x00000406, Dst: 0x00000206},
	ActionController{MaxLen: 128, ControllerID: 0, Reason: 1},
	ActionUnknown{Type: 0xffff, Data: []byte{0, 0, 0x23, 0x20, 0, 99, 0, 0, 0, 0, 0, 0}},
}

func roundTripMessages() []Message {
	return []Message{
		&Hello{Bitmap: 1 << 4},
		&Hello{},
		&Error{Type: ErrBadMatch, Code: 3, Data: []byte{4, 14, 0, 8}},
		&EchoRequest{Data: []byte("ping")},
		&EchoReply{},
		&FeaturesRequest{},
		&FeaturesReply{DatapathID: 0x1122334455667788, NBuffers: 256, NTables: 254, Capabilities: 0x4f},
		&SetConfig{MissSendLen: 0xffff},
		&BarrierRequest{},
		&BarrierReply{},
		&RoleRequest{Role: RoleMaster, GenerationID: 9},
		&RoleReply{Role: RoleSlave, GenerationID: 10},
		&FlowMod{Cookie: 0x4c32000000000001, CookieMask: ^uint64(0), Table: 3, Command: FlowModifyStrict,
			IdleTimeout: 30, HardTimeout: 60, Priority: 100, BufferID: NoBuffer, OutPort: PortAny,
			OutGroup: GroupAny, Flags: FlagSendFlowRem, Match: sampleMatch,
			Instructions: []Instruction{
				InstructionMeter{MeterID: 1},
				InstructionApplyActions{Actions: sampleActions},
				InstructionWriteMetadata{Metadata: 5, Mask: 0xff},
				InstructionGotoTable{Table: 4},
				InstructionUnknown{Type: 5, Data: []byte{0, 0, 0, 0}},
			}},
		&FlowMod{Command: FlowDelete, Table: TableAll, OutPort: PortAny, OutGroup: GroupAny},
		&GroupMod{Command: GroupAdd, Type: GroupTypeSelect, GroupID: 9, Buckets: []Bucket{
			{Weight: 10, WatchPort: PortAny, WatchGroup: GroupAny, Actions: sampleActions[:4]},
			{Weight: 20, WatchPort: PortAny, WatchGroup: GroupAny},
		}},
		&MeterMod{Command: MeterAdd, Flags: MeterFlagPktps | MeterFlagBurst, MeterID: 1,
			Bands: []MeterBand{{Type: MeterBandDrop, Rate: 100, BurstSize: 10}}},
		&PacketIn{BufferID: NoBuffer, TotalLen: 60, Reason: ReasonAction, Table: 2, Cookie: 77,
			Match: sampleMatch[:1], Data: []byte{1, 2, 3}},
		&PacketOut{BufferID: NoBuffer, InPort: PortCtrl, Actions: sampleActions[:2], Data: []byte("frame")},
		&FlowRemoved{Cookie: 1, Priority: 2, Reason: RemovedIdleTimeout, Table: 3, DurationSec: 4,
			DurationNs: 5, IdleTimeout: 6, PacketCount: 8, ByteCount: 9, Match: sampleMatch},
		&PortStatus{Reason: 1, Port: Port{PortNo: 1, HWAddr: [6]byte{1, 2, 3, 4, 5, 6}, Name: "lisp0", CurrSpeed: 10}},
		&FlowStatsRequest{Table: TableAll, OutPort: PortAny, OutGroup: GroupAny, Cookie: 1 << 48, CookieMask: 0xffff << 48},
		&GroupDescRequest{},
		&PortDescRequest{},
		&MultipartRequest{MPType: 0, Flags: 0},
		&FlowStatsReply{Flags: MultipartMore, Stats: []FlowStats{
			{Table: 1, DurationSec: 2, Priority: 3, IdleTimeout: 4, Cookie: 5, PacketCount: 6,
				Match: sampleMatch, Instructions: []Instruction{InstructionGotoTable{Table: 2}}},
			{Table: 2},
		}},
		&GroupDescReply{Groups: []GroupDesc{{Type: GroupTypeAll, GroupID: 1, Buckets: []Bucket{{Actions: sampleActions[:1]}}}, {GroupID: 2}}},
		&PortDescReply{Ports: []Port{{PortNo: 10, Name: "lisp0"}, {PortNo: 0xfffffffe, Name: "br"}}},
		&MultipartReply{MPType: 0, Body: make([]byte, 16)},
		&Unknown{Type: 26},
	}
}

func TestRoundTrip(t *testing.T) {
	for i, m := range roundTripMessages() {
		b, err := Marshal(uint32(i+1), m)
		if err != nil {
			t.Fatalf("%T: marshal: %v", m, err)
		}
		if len(b)%8 != 0 && m.MsgType() != TypeEchoRequest && m.MsgType() != TypeError &&
			m.MsgType() != TypePacketIn && m.MsgType() != TypePacketOut && m.MsgType() != TypeSetConfig {
			t.Errorf("%T: length %d not a multiple of 8", m, len(b))
		}
		h, got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%T: unmarshal: %v", m, err)
		}
		if h.XID != uint32(i+1) || h.Version != Version || int(h.Length) != len(b) {
			t.Errorf("%T: header %+v", m, h)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%T: round trip\n got %#v\nwant %#v", m, got, m)
		}
	}
}

func TestGoldenBytes(t *testing.T) {
	cases := []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{"hello", func() ([]byte, error) { return Marshal(1, &Hello{Bitmap: 1 << 4}) },
			"0400001000000001" + "0001000800000010"},
		{"set tun_dst", func() ([]byte, error) {
			return AppendActions(nil, []Action{ActionSetField{Field: OXM{Class: ClassNXM1, Field: 32, Value: []byte{192, 0, 2, 2}}}})
		}, "0019001000014004c000020200000000"},
		{"reg move eth_src->eth_dst", func() ([]byte, error) {
			src, _ := FieldHeader(ClassNXM0, 2)
			dst, _ := FieldHeader(ClassNXM0, 1)
			return AppendActions(nil, []Action{ActionRegMove{NBits: 48, Src: src, Dst: dst}})
		}, "ffff0018000023200006003000000000" + "0000040600000206"},
		{"output", func() ([]byte, error) { return AppendActions(nil, []Action{ActionOutput{Port: 1, MaxLen: 0xffff}}) },
			"000000100000000" + "1ffff000000000000"},
		{"masked match", func() ([]byte, error) {
			return AppendMatch(nil, []OXM{{Class: ClassBasic, Field: 2, Value: []byte{0, 0, 0, 0, 0, 0, 0, 1}, Mask: []byte{0, 0, 0, 0, 0, 0, 0, 0xff}}})
		}, "00010018" + "80000510" + "0000000000000001" + "00000000000000ff"},
	}
	for _, c := range cases {
		b, err := c.got()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := hex.EncodeToString(b); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	bad := []Message{
		&FlowMod{Match: []OXM{{Class: ClassBasic, Field: 3, Value: []byte{1}, Mask: []byte{1, 2}}}},
		&FlowMod{Match: []OXM{{Class: ClassBasic, Field: 3}}},
		&PacketOut{Actions: []Action{ActionSetField{Field: OXM{Class: ClassBasic, Field: 3, Value: []byte{1}, Mask: []byte{1}}}}},
		&PacketOut{Actions: []Action{nil}},
		&PacketOut{Actions: []Action{ActionUnknown{Type: 1, Data: []byte{1}}}},
		&EchoRequest{Data: make([]byte, 70000)},
	}
	for _, m := range bad {
		if _, err := Marshal(1, m); err == nil {
			t.Errorf("%T: encoded without error", m)
		}
	}
	if _, err := FieldHeader(0x1234, 1); err == nil {
		t.Error("FieldHeader of unknown field succeeded")
	}
}

func TestDecodeErrors(t *testing.T) {
	good, _ := Marshal(1, &FlowMod{Match: sampleMatch, Instructions: []Instruction{InstructionGotoTable{Table: 1}}})
	// Cut anywhere in the fixed part or the match (the instructions may
	// legitimately end at any instruction boundary).
	for n := HeaderLen; n < len(good)-8; n++ {
		b := append([]byte(nil), good[:n]...)
		be.PutUint16(b[2:], uint16(n))
		if _, _, err := Unmarshal(b); err == nil {
			t.Errorf("truncated flow-mod of %d bytes decoded", n)
		}
	}
	if _, _, err := Unmarshal(good[:len(good)-1]); err == nil || !strings.Contains(err.Error(), "length") {
		t.Errorf("length mismatch: %v", err)
	}
	old := append([]byte(nil), good...)
	old[0] = 1
	if _, _, err := Unmarshal(old); err == nil {
		t.Error("OpenFlow 1.0 flow-mod decoded")
	}
}

func TestHelloSupports(t *testing.T) {
	if !(&Hello{Bitmap: 1<<4 | 1<<1}).Supports(6) || (&Hello{Bitmap: 1 << 1}).Supports(4) {
		t.Error("bitmap check")
	}
	if !(&Hello{}).Supports(5) || (&Hello{}).Supports(1) {
		t.Error("version check")
	}
	// OVS sends a version-6 hello with a bitmap; it must decode.
	b, _ := Marshal(0, &Hello{Bitmap: 0x7e})
	b[0] = 6
	if _, m, err := Unmarshal(b); err != nil || !m.(*Hello).Supports(6) {
		t.Errorf("hello v6: %v", err)
	}
}

func TestReadMessage(t *testing.T) {
	var buf bytes.Buffer
	for _, m := range []Message{&EchoRequest{Data: []byte("x")}, &BarrierRequest{}} {
		b, _ := Marshal(3, m)
		buf.Write(b)
	}
	for i := 0; i < 2; i++ {
		b, err := ReadMessage(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Unmarshal(b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ReadMessage(bytes.NewReader([]byte{4, 0, 0, 4, 0, 0, 0, 0})); err == nil {
		t.Error("length below header accepted")
	}
}

func TestPacketInInPort(t *testing.T) {
	p := &PacketIn{Match: sampleMatch}
	if p.InPort() != 1 {
		t.Errorf("in_port %d", p.InPort())
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, m := range roundTripMessages() {
		b, err := Marshal(1, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, m, err := Unmarshal(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode again without panicking, and a
		// re-encoded message must decode to the same value.
		b2, err := Marshal(1, m)
		if err != nil {
			return
		}
		_, m2, err := Unmarshal(b2)
		if err != nil {
			t.Fatalf("re-encoded %T does not decode: %v", m, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encode changed %T:\n%#v\n%#v", m, m, m2)
		}
	})
}
