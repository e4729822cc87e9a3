package ofp13

import "fmt"

// FlowMod is OFPT_FLOW_MOD.
type FlowMod struct {
	Cookie, CookieMask       uint64
	Table, Command           uint8
	IdleTimeout, HardTimeout uint16
	Priority                 uint16
	BufferID                 uint32
	OutPort, OutGroup        uint32
	Flags                    uint16
	Match                    []OXM
	Instructions             []Instruction
}

// MsgType implements Message.
func (*FlowMod) MsgType() uint8 { return TypeFlowMod }

func (m *FlowMod) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint64(b, m.Cookie)
	b = be.AppendUint64(b, m.CookieMask)
	b = append(b, m.Table, m.Command)
	b = be.AppendUint16(b, m.IdleTimeout)
	b = be.AppendUint16(b, m.HardTimeout)
	b = be.AppendUint16(b, m.Priority)
	b = be.AppendUint32(b, m.BufferID)
	b = be.AppendUint32(b, m.OutPort)
	b = be.AppendUint32(b, m.OutGroup)
	b = be.AppendUint16(b, m.Flags)
	b = zeros(b, 2)
	b, err := AppendMatch(b, m.Match)
	if err != nil {
		return b, err
	}
	return appendInstructions(b, m.Instructions)
}

func decodeFlowMod(r *reader) (Message, error) {
	m := &FlowMod{Cookie: r.u64(), CookieMask: r.u64(), Table: r.u8(), Command: r.u8(),
		IdleTimeout: r.u16(), HardTimeout: r.u16(), Priority: r.u16(), BufferID: r.u32(),
		OutPort: r.u32(), OutGroup: r.u32(), Flags: r.u16()}
	r.take(2)
	var err error
	if m.Match, err = readMatch(r); err != nil {
		return nil, err
	}
	m.Instructions, err = readInstructions(r)
	return m, err
}

// Bucket is one group bucket.
type Bucket struct {
	Weight                uint16
	WatchPort, WatchGroup uint32
	Actions               []Action
}

// GroupMod is OFPT_GROUP_MOD.
type GroupMod struct {
	Command uint16
	Type    uint8
	GroupID uint32
	Buckets []Bucket
}

// MsgType implements Message.
func (*GroupMod) MsgType() uint8 { return TypeGroupMod }

func (m *GroupMod) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, m.Command)
	b = append(b, m.Type, 0)
	b = be.AppendUint32(b, m.GroupID)
	return appendBuckets(b, m.Buckets)
}

func appendBuckets(b []byte, bks []Bucket) ([]byte, error) {
	for _, bk := range bks {
		start := len(b)
		b = be.AppendUint16(b, 0)
		b = be.AppendUint16(b, bk.Weight)
		b = be.AppendUint32(b, bk.WatchPort)
		b = be.AppendUint32(b, bk.WatchGroup)
		b = zeros(b, 4)
		var err error
		if b, err = AppendActions(b, bk.Actions); err != nil {
			return b, err
		}
		if err := putLen16(b, start, start); err != nil {
			return b, err
		}
	}
	return b, nil
}

func readBuckets(r *reader) ([]Bucket, error) {
	var bks []Bucket
	for len(r.b) > 0 {
		n := int(r.u16())
		if r.err != nil {
			return nil, r.err
		}
		if n < 16 {
			return nil, fmt.Errorf("ofp13: bucket length %d", n)
		}
		br := r.sub(n - 2)
		bk := Bucket{Weight: br.u16(), WatchPort: br.u32(), WatchGroup: br.u32()}
		br.take(4)
		if br.err != nil {
			return nil, br.err
		}
		acts, err := readActions(br)
		if err != nil {
			return nil, err
		}
		bk.Actions = acts
		bks = append(bks, bk)
	}
	return bks, r.err
}

func decodeGroupMod(r *reader) (Message, error) {
	m := &GroupMod{Command: r.u16(), Type: r.u8()}
	r.take(1)
	m.GroupID = r.u32()
	if r.err != nil {
		return nil, r.err
	}
	var err error
	m.Buckets, err = readBuckets(r)
	return m, err
}

// MeterBand is one meter band; PrecLevel is used by DSCP-remark bands only.
type MeterBand struct {
	Type            uint16
	Rate, BurstSize uint32
	PrecLevel       uint8
}

// MeterMod is OFPT_METER_MOD.
type MeterMod struct {
	Command, Flags uint16
	MeterID        uint32
	Bands          []MeterBand
}

// MsgType implements Message.
func (*MeterMod) MsgType() uint8 { return TypeMeterMod }

func (m *MeterMod) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, m.Command)
	b = be.AppendUint16(b, m.Flags)
	b = be.AppendUint32(b, m.MeterID)
	for _, bd := range m.Bands {
		b = be.AppendUint16(b, bd.Type)
		b = be.AppendUint16(b, 16)
		b = be.AppendUint32(b, bd.Rate)
		b = be.AppendUint32(b, bd.BurstSize)
		b = append(b, bd.PrecLevel, 0, 0, 0)
	}
	return b, nil
}

func decodeMeterMod(r *reader) (Message, error) {
	m := &MeterMod{Command: r.u16(), Flags: r.u16(), MeterID: r.u32()}
	for len(r.b) > 0 && r.err == nil {
		bd := MeterBand{Type: r.u16()}
		if n := r.u16(); n != 16 {
			return nil, fmt.Errorf("ofp13: meter band length %d", n)
		}
		bd.Rate, bd.BurstSize, bd.PrecLevel = r.u32(), r.u32(), r.u8()
		r.take(3)
		m.Bands = append(m.Bands, bd)
	}
	return m, r.err
}

// PacketIn is OFPT_PACKET_IN.
type PacketIn struct {
	BufferID      uint32
	TotalLen      uint16
	Reason, Table uint8
	Cookie        uint64
	Match         []OXM
	Data          []byte
}

// MsgType implements Message.
func (*PacketIn) MsgType() uint8 { return TypePacketIn }

func (m *PacketIn) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint32(b, m.BufferID)
	b = be.AppendUint16(b, m.TotalLen)
	b = append(b, m.Reason, m.Table)
	b = be.AppendUint64(b, m.Cookie)
	b, err := AppendMatch(b, m.Match)
	if err != nil {
		return b, err
	}
	b = zeros(b, 2)
	return append(b, m.Data...), nil
}

func decodePacketIn(r *reader) (Message, error) {
	m := &PacketIn{BufferID: r.u32(), TotalLen: r.u16(), Reason: r.u8(), Table: r.u8(), Cookie: r.u64()}
	var err error
	if m.Match, err = readMatch(r); err != nil {
		return nil, err
	}
	r.take(2)
	m.Data = r.rest()
	return m, r.err
}

// InPort is the in_port field of a packet-in's match, or 0 when absent.
func (m *PacketIn) InPort() uint32 {
	for _, o := range m.Match {
		if o.Class == ClassBasic && o.Field == 0 && len(o.Value) == 4 {
			return be.Uint32(o.Value)
		}
	}
	return 0
}

// PacketOut is OFPT_PACKET_OUT.
type PacketOut struct {
	BufferID, InPort uint32
	Actions          []Action
	Data             []byte
}

// MsgType implements Message.
func (*PacketOut) MsgType() uint8 { return TypePacketOut }

func (m *PacketOut) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint32(b, m.BufferID)
	b = be.AppendUint32(b, m.InPort)
	lenAt := len(b)
	b = zeros(b, 8) // actions_len + pad
	b, err := AppendActions(b, m.Actions)
	if err != nil {
		return b, err
	}
	if err := putLen16(b, lenAt, lenAt+8); err != nil {
		return b, err
	}
	return append(b, m.Data...), nil
}

func decodePacketOut(r *reader) (Message, error) {
	m := &PacketOut{BufferID: r.u32(), InPort: r.u32()}
	n := int(r.u16())
	r.take(6)
	acts := r.sub(n)
	if acts.err != nil {
		return nil, acts.err
	}
	var err error
	if m.Actions, err = readActions(acts); err != nil {
		return nil, err
	}
	m.Data = r.rest()
	return m, r.err
}

// FlowRemoved is OFPT_FLOW_REMOVED.
type FlowRemoved struct {
	Cookie                   uint64
	Priority                 uint16
	Reason, Table            uint8
	DurationSec, DurationNs  uint32
	IdleTimeout, HardTimeout uint16
	PacketCount, ByteCount   uint64
	Match                    []OXM
}

// MsgType implements Message.
func (*FlowRemoved) MsgType() uint8 { return TypeFlowRemoved }

func (m *FlowRemoved) appendBody(b []byte) ([]byte, error) {
	b = be.AppendUint64(b, m.Cookie)
	b = be.AppendUint16(b, m.Priority)
	b = append(b, m.Reason, m.Table)
	b = be.AppendUint32(b, m.DurationSec)
	b = be.AppendUint32(b, m.DurationNs)
	b = be.AppendUint16(b, m.IdleTimeout)
	b = be.AppendUint16(b, m.HardTimeout)
	b = be.AppendUint64(b, m.PacketCount)
	b = be.AppendUint64(b, m.ByteCount)
	return AppendMatch(b, m.Match)
}

func decodeFlowRemoved(r *reader) (Message, error) {
	m := &FlowRemoved{Cookie: r.u64(), Priority: r.u16(), Reason: r.u8(), Table: r.u8(),
		DurationSec: r.u32(), DurationNs: r.u32(), IdleTimeout: r.u16(), HardTimeout: r.u16(),
		PacketCount: r.u64(), ByteCount: r.u64()}
	var err error
	m.Match, err = readMatch(r)
	return m, err
}

// PortStatus is OFPT_PORT_STATUS.
type PortStatus struct {
	Reason uint8
	Port   Port
}

// MsgType implements Message.
func (*PortStatus) MsgType() uint8 { return TypePortStatus }

func (m *PortStatus) appendBody(b []byte) ([]byte, error) {
	b = append(b, m.Reason)
	b = zeros(b, 7)
	return m.Port.appendTo(b), nil
}

func decodePortStatus(r *reader) (Message, error) {
	m := &PortStatus{Reason: r.u8()}
	r.take(7)
	m.Port = readPort(r)
	return m, r.err
}
