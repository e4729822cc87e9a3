package ofp13

import (
	"bytes"
	"fmt"
)

// FlowStatsRequest is a multipart OFPMP_FLOW request. Cookie/CookieMask
// restrict the reply to flows whose cookie matches under the mask.
type FlowStatsRequest struct {
	Flags              uint16
	Table              uint8
	OutPort, OutGroup  uint32
	Cookie, CookieMask uint64
	Match              []OXM
}

// GroupDescRequest is a multipart OFPMP_GROUP_DESC request.
type GroupDescRequest struct{ Flags uint16 }

// PortDescRequest is a multipart OFPMP_PORT_DESC request.
type PortDescRequest struct{ Flags uint16 }

// MultipartRequest is any other multipart request, body kept raw.
type MultipartRequest struct {
	MPType, Flags uint16
	Body          []byte
}

// FlowStats is one entry of a flow stats reply.
type FlowStats struct {
	Table                    uint8
	DurationSec, DurationNs  uint32
	Priority                 uint16
	IdleTimeout, HardTimeout uint16
	Flags                    uint16
	Cookie                   uint64
	PacketCount, ByteCount   uint64
	Match                    []OXM
	Instructions             []Instruction
}

// FlowStatsReply is one part of a flow stats reply; Flags&MultipartMore
// says more parts follow with the same xid.
type FlowStatsReply struct {
	Flags uint16
	Stats []FlowStats
}

// GroupDesc is one group of a group description reply.
type GroupDesc struct {
	Type    uint8
	GroupID uint32
	Buckets []Bucket
}

// GroupDescReply is one part of a group description reply.
type GroupDescReply struct {
	Flags  uint16
	Groups []GroupDesc
}

// Port is ofp_port.
type Port struct {
	PortNo                      uint32
	HWAddr                      [6]byte
	Name                        string
	Config, State               uint32
	Curr, Advertised, Supported uint32
	Peer, CurrSpeed, MaxSpeed   uint32
}

// PortDescReply is one part of a port description reply.
type PortDescReply struct {
	Flags uint16
	Ports []Port
}

// MultipartReply is any other multipart reply, body kept raw.
type MultipartReply struct {
	MPType, Flags uint16
	Body          []byte
}

// MsgType implements Message.
func (*FlowStatsRequest) MsgType() uint8 { return TypeMultipartRequest }
func (*GroupDescRequest) MsgType() uint8 { return TypeMultipartRequest }
func (*PortDescRequest) MsgType() uint8  { return TypeMultipartRequest }
func (*MultipartRequest) MsgType() uint8 { return TypeMultipartRequest }
func (*FlowStatsReply) MsgType() uint8   { return TypeMultipartReply }
func (*GroupDescReply) MsgType() uint8   { return TypeMultipartReply }
func (*PortDescReply) MsgType() uint8    { return TypeMultipartReply }
func (*MultipartReply) MsgType() uint8   { return TypeMultipartReply }

// More reports whether further parts of this reply follow.
func (m *FlowStatsReply) More() bool { return m.Flags&MultipartMore != 0 }

// More reports whether further parts of this reply follow.
func (m *GroupDescReply) More() bool { return m.Flags&MultipartMore != 0 }

// More reports whether further parts of this reply follow.
func (m *PortDescReply) More() bool { return m.Flags&MultipartMore != 0 }

// More reports whether further parts of this reply follow.
func (m *MultipartReply) More() bool { return m.Flags&MultipartMore != 0 }

func appendMPHeader(b []byte, typ, flags uint16) []byte {
	b = be.AppendUint16(b, typ)
	b = be.AppendUint16(b, flags)
	return zeros(b, 4)
}

func (m *FlowStatsRequest) appendBody(b []byte) ([]byte, error) {
	b = appendMPHeader(b, MultipartFlow, m.Flags)
	b = append(b, m.Table, 0, 0, 0)
	b = be.AppendUint32(b, m.OutPort)
	b = be.AppendUint32(b, m.OutGroup)
	b = zeros(b, 4)
	b = be.AppendUint64(b, m.Cookie)
	b = be.AppendUint64(b, m.CookieMask)
	return AppendMatch(b, m.Match)
}

func (m *GroupDescRequest) appendBody(b []byte) ([]byte, error) {
	return appendMPHeader(b, MultipartGroupDesc, m.Flags), nil
}

func (m *PortDescRequest) appendBody(b []byte) ([]byte, error) {
	return appendMPHeader(b, MultipartPortDesc, m.Flags), nil
}

func (m *MultipartRequest) appendBody(b []byte) ([]byte, error) {
	return append(appendMPHeader(b, m.MPType, m.Flags), m.Body...), nil
}

func (m *MultipartReply) appendBody(b []byte) ([]byte, error) {
	return append(appendMPHeader(b, m.MPType, m.Flags), m.Body...), nil
}

func decodeMultipartRequest(r *reader) (Message, error) {
	typ, flags := r.u16(), r.u16()
	r.take(4)
	if r.err != nil {
		return nil, r.err
	}
	switch typ {
	case MultipartFlow:
		m := &FlowStatsRequest{Flags: flags, Table: r.u8()}
		r.take(3)
		m.OutPort, m.OutGroup = r.u32(), r.u32()
		r.take(4)
		m.Cookie, m.CookieMask = r.u64(), r.u64()
		var err error
		m.Match, err = readMatch(r)
		return m, err
	case MultipartGroupDesc:
		return &GroupDescRequest{Flags: flags}, nil
	case MultipartPortDesc:
		return &PortDescRequest{Flags: flags}, nil
	}
	return &MultipartRequest{MPType: typ, Flags: flags, Body: r.rest()}, nil
}

func (m *FlowStatsReply) appendBody(b []byte) ([]byte, error) {
	b = appendMPHeader(b, MultipartFlow, m.Flags)
	for _, s := range m.Stats {
		start := len(b)
		b = be.AppendUint16(b, 0)
		b = append(b, s.Table, 0)
		b = be.AppendUint32(b, s.DurationSec)
		b = be.AppendUint32(b, s.DurationNs)
		b = be.AppendUint16(b, s.Priority)
		b = be.AppendUint16(b, s.IdleTimeout)
		b = be.AppendUint16(b, s.HardTimeout)
		b = be.AppendUint16(b, s.Flags)
		b = zeros(b, 4)
		b = be.AppendUint64(b, s.Cookie)
		b = be.AppendUint64(b, s.PacketCount)
		b = be.AppendUint64(b, s.ByteCount)
		var err error
		if b, err = AppendMatch(b, s.Match); err != nil {
			return b, err
		}
		if b, err = appendInstructions(b, s.Instructions); err != nil {
			return b, err
		}
		if err := putLen16(b, start, start); err != nil {
			return b, err
		}
	}
	return b, nil
}

func readFlowStats(r *reader) (FlowStats, error) {
	s := FlowStats{Table: r.u8()}
	r.take(1)
	s.DurationSec, s.DurationNs = r.u32(), r.u32()
	s.Priority, s.IdleTimeout, s.HardTimeout, s.Flags = r.u16(), r.u16(), r.u16(), r.u16()
	r.take(4)
	s.Cookie, s.PacketCount, s.ByteCount = r.u64(), r.u64(), r.u64()
	if r.err != nil {
		return s, r.err
	}
	var err error
	if s.Match, err = readMatch(r); err != nil {
		return s, err
	}
	s.Instructions, err = readInstructions(r)
	return s, err
}

func (m *GroupDescReply) appendBody(b []byte) ([]byte, error) {
	b = appendMPHeader(b, MultipartGroupDesc, m.Flags)
	for _, g := range m.Groups {
		start := len(b)
		b = be.AppendUint16(b, 0)
		b = append(b, g.Type, 0)
		b = be.AppendUint32(b, g.GroupID)
		var err error
		if b, err = appendBuckets(b, g.Buckets); err != nil {
			return b, err
		}
		if err := putLen16(b, start, start); err != nil {
			return b, err
		}
	}
	return b, nil
}

func (m *PortDescReply) appendBody(b []byte) ([]byte, error) {
	b = appendMPHeader(b, MultipartPortDesc, m.Flags)
	for _, p := range m.Ports {
		b = p.appendTo(b)
	}
	return b, nil
}

func (p Port) appendTo(b []byte) []byte {
	b = be.AppendUint32(b, p.PortNo)
	b = zeros(b, 4)
	b = append(b, p.HWAddr[:]...)
	b = zeros(b, 2)
	var name [16]byte
	copy(name[:], p.Name)
	b = append(b, name[:]...)
	for _, v := range []uint32{p.Config, p.State, p.Curr, p.Advertised, p.Supported, p.Peer, p.CurrSpeed, p.MaxSpeed} {
		b = be.AppendUint32(b, v)
	}
	return b
}

func readPort(r *reader) Port {
	p := Port{PortNo: r.u32()}
	r.take(4)
	copy(p.HWAddr[:], r.take(6))
	r.take(2)
	name := r.take(16)
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	p.Name = string(name)
	p.Config, p.State, p.Curr, p.Advertised = r.u32(), r.u32(), r.u32(), r.u32()
	p.Supported, p.Peer, p.CurrSpeed, p.MaxSpeed = r.u32(), r.u32(), r.u32(), r.u32()
	return p
}

func decodeMultipartReply(r *reader) (Message, error) {
	typ, flags := r.u16(), r.u16()
	r.take(4)
	if r.err != nil {
		return nil, r.err
	}
	switch typ {
	case MultipartFlow:
		m := &FlowStatsReply{Flags: flags}
		err := eachEntry(r, func(e *reader) error {
			s, err := readFlowStats(e)
			m.Stats = append(m.Stats, s)
			return err
		})
		return m, err
	case MultipartGroupDesc:
		m := &GroupDescReply{Flags: flags}
		err := eachEntry(r, func(e *reader) error {
			g := GroupDesc{Type: e.u8()}
			e.take(1)
			g.GroupID = e.u32()
			var err error
			if e.err == nil {
				g.Buckets, err = readBuckets(e)
			}
			m.Groups = append(m.Groups, g)
			return err
		})
		return m, err
	case MultipartPortDesc:
		m := &PortDescReply{Flags: flags}
		for len(r.b) > 0 && r.err == nil {
			m.Ports = append(m.Ports, readPort(r))
		}
		return m, r.err
	}
	return &MultipartReply{MPType: typ, Flags: flags, Body: r.rest()}, nil
}

// eachEntry splits a multipart body into entries that start with a 16-bit
// length covering the whole entry.
func eachEntry(r *reader, fn func(*reader) error) error {
	for len(r.b) > 0 {
		n := int(r.u16())
		if r.err != nil {
			return r.err
		}
		if n < 4 {
			return fmt.Errorf("ofp13: multipart entry length %d", n)
		}
		e := r.sub(n - 2)
		if e.err != nil {
			return e.err
		}
		if err := fn(e); err != nil {
			return err
		}
		if e.err != nil {
			return e.err
		}
	}
	return r.err
}
