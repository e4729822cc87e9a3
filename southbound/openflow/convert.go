package openflow

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// UnknownAction is an action read back from a switch that the model has no
// type for; it keeps the raw OpenFlow type and body.
type UnknownAction struct {
	Type uint16
	Data []byte
}

func (a UnknownAction) String() string { return fmt.Sprintf("action(%d,%x)", a.Type, a.Data) }

// nxmAliases maps Nicira fields to the OpenFlow basic field OVS reports for
// them in OpenFlow 1.3, so matches compare equal whichever class was used.
var nxmAliases = map[[2]uint16][2]uint16{
	{ClassNXM0, 1}: {ClassOpenFlowBasic, fieldEthDst}, {ClassNXM0, 2}: {ClassOpenFlowBasic, fieldEthSrc},
	{ClassNXM0, 3}: {ClassOpenFlowBasic, fieldEthType}, {ClassNXM0, 6}: {ClassOpenFlowBasic, fieldIPProto},
	{ClassNXM0, 7}: {ClassOpenFlowBasic, 11}, {ClassNXM0, 8}: {ClassOpenFlowBasic, 12},
	{ClassNXM0, 15}: {ClassOpenFlowBasic, fieldArpOp}, {ClassNXM0, 16}: {ClassOpenFlowBasic, fieldArpSPA},
	{ClassNXM0, 17}: {ClassOpenFlowBasic, fieldArpTPA}, {ClassNXM1, 16}: {ClassOpenFlowBasic, fieldTunnelID},
	{ClassNXM1, 17}: {ClassOpenFlowBasic, fieldArpSHA}, {ClassNXM1, 18}: {ClassOpenFlowBasic, fieldArpTHA},
	{ClassNXM1, 19}: {ClassOpenFlowBasic, 26}, {ClassNXM1, 20}: {ClassOpenFlowBasic, 27},
	{ClassNXM1, 21}: {ClassOpenFlowBasic, fieldICMPv6T}, {ClassNXM1, 23}: {ClassOpenFlowBasic, fieldNDTarget},
	{ClassNXM1, 24}: {ClassOpenFlowBasic, fieldNDSLL}, {ClassNXM1, 25}: {ClassOpenFlowBasic, fieldNDTLL},
}

func canonField(class uint16, field uint8) (uint16, uint8) {
	if a, ok := nxmAliases[[2]uint16{class, uint16(field)}]; ok {
		return a[0], uint8(a[1])
	}
	return class, field
}

// canonical rewrites a match the way a switch stores it: Nicira aliases
// become basic fields, full masks vanish, empty masks drop the field, and
// values are masked. Two matches the switch treats as one get the same Key.
func canonical(m Match) Match {
	out := make(Match, 0, len(m))
	for _, o := range m {
		c := OXM{Value: o.Value}
		c.Class, c.Field = canonField(o.Class, o.Field)
		if o.Mask != nil && len(o.Mask) == len(o.Value) {
			allOnes, allZero := true, true
			for _, b := range o.Mask {
				allOnes = allOnes && b == 0xff
				allZero = allZero && b == 0
			}
			switch {
			case allZero:
				continue
			case !allOnes:
				v := make([]byte, len(o.Value))
				for i := range v {
					v[i] = o.Value[i] & o.Mask[i]
				}
				c.Value, c.Mask = v, o.Mask
			}
		}
		out = append(out, c)
	}
	return out
}

// flowKey identifies a flow in its table independent of field order and
// encoding, like Flow.Key but on the canonical match.
func flowKey(table uint8, prio uint16, m Match) string {
	b := make([]byte, 0, 96)
	b = strconv.AppendUint(b, uint64(table), 10)
	b = append(b, '/')
	b = strconv.AppendUint(b, uint64(prio), 10)
	b = append(b, '/')
	return string(append(b, canonical(m).Key()...))
}

func wireMatch(m Match) []ofp13.OXM {
	out := make([]ofp13.OXM, len(m))
	for i, o := range m {
		out[i] = ofp13.OXM(o)
	}
	return out
}

func modelMatch(m []ofp13.OXM) Match {
	out := make(Match, len(m))
	for i, o := range m {
		out[i] = OXM(o)
	}
	return out
}

// wireAction converts a model action; a controller output without MaxLen
// asks for the whole packet rather than none of it.
func wireAction(a Action) (ofp13.Action, error) {
	switch a := a.(type) {
	case Output:
		if a.Port == PortController && a.MaxLen == 0 {
			a.MaxLen = ofp13.ControllerMax
		}
		return ofp13.ActionOutput{Port: a.Port, MaxLen: a.MaxLen}, nil
	case Group:
		return ofp13.ActionGroup{GroupID: a.ID}, nil
	case SetField:
		return ofp13.ActionSetField{Field: ofp13.OXM(a.Field)}, nil
	case Move:
		src, err := ofp13.FieldHeader(a.Src.Class, a.Src.Field)
		if err != nil {
			return nil, fmt.Errorf("move source: %w", err)
		}
		dst, err := ofp13.FieldHeader(a.Dst.Class, a.Dst.Field)
		if err != nil {
			return nil, fmt.Errorf("move destination: %w", err)
		}
		return ofp13.ActionRegMove{NBits: a.NBits, SrcOfs: a.SrcOfs, DstOfs: a.DstOfs, Src: src, Dst: dst}, nil
	case Controller:
		if a.MaxLen == 0 {
			a.MaxLen = ofp13.ControllerMax
		}
		return ofp13.ActionController{MaxLen: a.MaxLen, ControllerID: a.ID, Reason: a.Reason}, nil
	case UnknownAction:
		return ofp13.ActionUnknown{Type: a.Type, Data: a.Data}, nil
	}
	return nil, fmt.Errorf("openflow: unsupported action %T", a)
}

func wireActions(acts []Action) ([]ofp13.Action, error) {
	out := make([]ofp13.Action, 0, len(acts))
	for _, a := range acts {
		w, err := wireAction(a)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

func modelAction(a ofp13.Action) Action {
	switch a := a.(type) {
	case ofp13.ActionOutput:
		return Output{Port: a.Port, MaxLen: a.MaxLen}
	case ofp13.ActionGroup:
		return Group{ID: a.GroupID}
	case ofp13.ActionSetField:
		return SetField{Field: OXM(a.Field)}
	case ofp13.ActionRegMove:
		return Move{Src: headerOXM(a.Src), Dst: headerOXM(a.Dst), NBits: a.NBits, SrcOfs: a.SrcOfs, DstOfs: a.DstOfs}
	case ofp13.ActionController:
		return Controller{MaxLen: a.MaxLen, Reason: a.Reason, ID: a.ControllerID}
	case ofp13.ActionUnknown:
		return UnknownAction{Type: a.Type, Data: a.Data}
	}
	return UnknownAction{Type: 0xfffe}
}

func headerOXM(h uint32) OXM { return OXM{Class: uint16(h >> 16), Field: uint8(h>>9) & 0x7f} }

func modelActions(acts []ofp13.Action) []Action {
	var out []Action
	for _, a := range acts {
		out = append(out, modelAction(a))
	}
	return out
}

// instructions builds a flow's instructions in the order OpenFlow 1.3
// executes them (meter, apply-actions, write-metadata, goto-table).
func instructions(f Flow) ([]ofp13.Instruction, error) {
	var insts []ofp13.Instruction
	if f.Meter != 0 {
		insts = append(insts, ofp13.InstructionMeter{MeterID: f.Meter})
	}
	if len(f.Actions) > 0 {
		acts, err := wireActions(f.Actions)
		if err != nil {
			return nil, err
		}
		insts = append(insts, ofp13.InstructionApplyActions{Actions: acts})
	}
	if f.WriteMeta != nil {
		insts = append(insts, ofp13.InstructionWriteMetadata{Metadata: f.WriteMeta.Value, Mask: f.WriteMeta.Mask})
	}
	if f.Goto != 0 {
		if f.Goto <= f.Table {
			return nil, fmt.Errorf("openflow: goto_table %d from table %d must go forward", f.Goto, f.Table)
		}
		insts = append(insts, ofp13.InstructionGotoTable{Table: f.Goto})
	}
	return insts, nil
}

// flowFromWire rebuilds the model flow from a switch's description of it.
func flowFromWire(table uint8, prio uint16, cookie uint64, match []ofp13.OXM, insts []ofp13.Instruction) Flow {
	f := Flow{Table: table, Priority: prio, Cookie: cookie, Match: modelMatch(match)}
	for _, in := range insts {
		switch in := in.(type) {
		case ofp13.InstructionApplyActions:
			f.Actions = append(f.Actions, modelActions(in.Actions)...)
		case ofp13.InstructionWriteMetadata:
			f.WriteMeta = &MetadataWrite{Value: in.Metadata, Mask: in.Mask}
		case ofp13.InstructionGotoTable:
			f.Goto = in.Table
		case ofp13.InstructionMeter:
			f.Meter = in.MeterID
		}
	}
	return f
}

// prepared is a desired flow with its final cookie and its add flow-mod.
type prepared struct {
	key    string
	flow   Flow // Cookie is the final cookie
	add    *ofp13.FlowMod
	cookie uint64
}

// prepare encodes a desired flow and computes its content cookie: owner,
// the pipeline's stage bits, and a 40-bit hash of everything the switch
// stores for the flow, so equal cookies mean equal flows.
func prepare(f Flow) (prepared, error) {
	insts, err := instructions(f)
	if err != nil {
		return prepared{}, fmt.Errorf("flow %s: %w", f, err)
	}
	var flags uint16
	if f.NotifyRemoval {
		flags |= ofp13.FlagSendFlowRem
	}
	fm := &ofp13.FlowMod{Table: f.Table, Command: ofp13.FlowAdd, IdleTimeout: f.IdleTimeout,
		HardTimeout: f.HardTimeout, Priority: f.Priority, BufferID: ofp13.NoBuffer,
		OutPort: ofp13.PortAny, OutGroup: ofp13.GroupAny, Flags: flags,
		Match: wireMatch(f.Match), Instructions: insts}
	body, err := ofp13.Marshal(0, &ofp13.FlowMod{Instructions: insts})
	if err != nil {
		return prepared{}, fmt.Errorf("flow %s: %w", f, err)
	}
	if _, err := ofp13.AppendMatch(nil, fm.Match); err != nil {
		return prepared{}, fmt.Errorf("flow %s: %w", f, err)
	}
	key := flowKey(f.Table, f.Priority, f.Match)
	h := fnv.New64a()
	var fixed [8]byte
	fixed[0] = f.Table
	binary.BigEndian.PutUint16(fixed[1:], f.Priority)
	binary.BigEndian.PutUint16(fixed[3:], f.IdleTimeout)
	binary.BigEndian.PutUint16(fixed[5:], f.HardTimeout)
	fixed[7] = byte(flags)
	h.Write(fixed[:])
	h.Write([]byte(key))
	h.Write(body[ofp13.HeaderLen:])
	cookie := CookieOwner | f.Cookie&CookieStageMask | h.Sum64()&CookieHashMask
	fm.Cookie = cookie
	f.Cookie = cookie
	return prepared{key: key, flow: f, add: fm, cookie: cookie}, nil
}

// groupWire converts a group to a group-mod; weights are sent for select
// groups only, which is also how they compare.
func groupWire(g GroupEntry, cmd uint16) (*ofp13.GroupMod, error) {
	gm := &ofp13.GroupMod{Command: cmd, Type: uint8(g.Type), GroupID: g.ID}
	for _, bk := range g.Buckets {
		acts, err := wireActions(bk.Actions)
		if err != nil {
			return nil, fmt.Errorf("group %d: %w", g.ID, err)
		}
		w := bk.Weight
		if g.Type != GroupSelect {
			w = 0
		}
		watch := ofp13.PortAny
		if bk.WatchPort != 0 {
			watch = bk.WatchPort
		}
		gm.Buckets = append(gm.Buckets, ofp13.Bucket{Weight: w, WatchPort: watch,
			WatchGroup: ofp13.GroupAny, Actions: acts})
	}
	return gm, nil
}

// groupHash is a 128-bit FNV-1a hash of groupSig: equal for equal
// groups, and all the installed state keeps of a group's content.
func groupHash(g GroupEntry) [16]byte {
	h := fnv.New128a()
	h.Write(appendGroupSig(make([]byte, 0, 64+32*len(g.Buckets)), g))
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// groupSig is a canonical form of a group for comparing the desired group
// with what the switch reports: field aliases resolved, weights only where
// they matter.
func groupSig(g GroupEntry) string { return string(appendGroupSig(nil, g)) }

// appendGroupSig appends groupSig's text. A flood group lists every peer
// site, and every switch's sync hashes its own: no fmt on this path.
func appendGroupSig(b []byte, g GroupEntry) []byte {
	b = strconv.AppendUint(b, uint64(g.ID), 10)
	b = append(b, '/')
	b = strconv.AppendUint(b, uint64(g.Type), 10)
	for _, bk := range g.Buckets {
		w := bk.Weight
		if g.Type != GroupSelect {
			w = 0
		}
		b = append(b, "|w"...)
		b = strconv.AppendUint(b, uint64(w), 10)
		if bk.WatchPort != 0 {
			b = append(b, '@')
			b = strconv.AppendUint(b, uint64(bk.WatchPort), 10)
		}
		for _, a := range bk.Actions {
			b = append(b, ';')
			b = appendActionSig(b, a)
		}
	}
	return b
}

// appendActionSig appends actionSig's text, without fmt for the actions a
// flood bucket is made of.
func appendActionSig(b []byte, a Action) []byte {
	switch a := a.(type) {
	case Output:
		if a.Port != PortController {
			b = append(b, "out:"...)
			b = strconv.AppendUint(b, uint64(a.Port), 10)
			return append(b, ":0"...)
		}
	case SetField:
		c, f := canonField(a.Field.Class, a.Field.Field)
		b = append(b, "set:0x"...)
		b = strconv.AppendUint(b, uint64(c), 16)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(f), 10)
		b = append(b, ':')
		return hex.AppendEncode(b, a.Field.Value)
	}
	return append(b, actionSig(a)...)
}

func actionSig(a Action) string {
	switch a := a.(type) {
	case Output:
		if a.Port == PortController && a.MaxLen == 0 {
			a.MaxLen = ofp13.ControllerMax
		}
		if a.Port != PortController {
			a.MaxLen = 0
		}
		return fmt.Sprintf("out:%d:%d", a.Port, a.MaxLen)
	case SetField:
		c, f := canonField(a.Field.Class, a.Field.Field)
		return fmt.Sprintf("set:%#x:%d:%x", c, f, a.Field.Value)
	case Move:
		sc, sf := canonField(a.Src.Class, a.Src.Field)
		dc, df := canonField(a.Dst.Class, a.Dst.Field)
		return fmt.Sprintf("move:%#x:%d:%d>%#x:%d:%d/%d", sc, sf, a.SrcOfs, dc, df, a.DstOfs, a.NBits)
	case Controller:
		if a.MaxLen == 0 {
			a.MaxLen = ofp13.ControllerMax
		}
		return a.String()
	}
	return a.String()
}

func groupFromWire(g ofp13.GroupDesc) GroupEntry {
	e := GroupEntry{ID: g.GroupID, Type: GroupType(g.Type)}
	for _, bk := range g.Buckets {
		b := Bucket{Weight: bk.Weight, Actions: modelActions(bk.Actions)}
		if bk.WatchPort != ofp13.PortAny {
			b.WatchPort = bk.WatchPort
		}
		e.Buckets = append(e.Buckets, b)
	}
	return e
}
