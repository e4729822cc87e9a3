package ofp13

import "fmt"

// Action is one OpenFlow action. The concrete types in this file are the
// ones encoded and decoded; anything else decodes as ActionUnknown.
type Action interface {
	appendTo(b []byte) ([]byte, error)
}

// ActionOutput is OFPAT_OUTPUT.
type ActionOutput struct {
	Port   uint32
	MaxLen uint16
}

// ActionGroup is OFPAT_GROUP.
type ActionGroup struct{ GroupID uint32 }

// ActionSetField is OFPAT_SET_FIELD with one unmasked OXM.
type ActionSetField struct{ Field OXM }

// ActionRegMove is Nicira NXAST_REG_MOVE; Src and Dst are OXM/NXM headers.
type ActionRegMove struct {
	NBits, SrcOfs, DstOfs uint16
	Src, Dst              uint32
}

// ActionController is Nicira NXAST_CONTROLLER: a packet-in with a chosen
// reason and controller id.
type ActionController struct {
	MaxLen       uint16
	ControllerID uint16
	Reason       uint8
}

// ActionUnknown keeps an action the codec does not model: its type and the
// bytes after the 4-byte type/length header.
type ActionUnknown struct {
	Type uint16
	Data []byte
}

func (a ActionOutput) appendTo(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, ActOutput)
	b = be.AppendUint16(b, 16)
	b = be.AppendUint32(b, a.Port)
	b = be.AppendUint16(b, a.MaxLen)
	return zeros(b, 6), nil
}

func (a ActionGroup) appendTo(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, ActGroup)
	b = be.AppendUint16(b, 8)
	return be.AppendUint32(b, a.GroupID), nil
}

func (a ActionSetField) appendTo(b []byte) ([]byte, error) {
	if a.Field.Mask != nil {
		return b, fmt.Errorf("ofp13: masked set-field is not OpenFlow 1.3")
	}
	start := len(b)
	b = be.AppendUint16(b, ActSetField)
	b = be.AppendUint16(b, 0)
	b, err := appendOXM(b, a.Field)
	if err != nil {
		return b, err
	}
	b = zeros(b, pad8(len(b)-start)-(len(b)-start))
	return b, putLen16(b, start+2, start)
}

func appendNicira(b []byte, length, subtype uint16) []byte {
	b = be.AppendUint16(b, ActExperimenter)
	b = be.AppendUint16(b, length)
	b = be.AppendUint32(b, NiciraVendor)
	return be.AppendUint16(b, subtype)
}

func (a ActionRegMove) appendTo(b []byte) ([]byte, error) {
	b = appendNicira(b, 24, NXASTRegMove)
	b = be.AppendUint16(b, a.NBits)
	b = be.AppendUint16(b, a.SrcOfs)
	b = be.AppendUint16(b, a.DstOfs)
	b = be.AppendUint32(b, a.Src)
	return be.AppendUint32(b, a.Dst), nil
}

func (a ActionController) appendTo(b []byte) ([]byte, error) {
	b = appendNicira(b, 16, NXASTController)
	b = be.AppendUint16(b, a.MaxLen)
	b = be.AppendUint16(b, a.ControllerID)
	return append(b, a.Reason, 0), nil
}

func (a ActionUnknown) appendTo(b []byte) ([]byte, error) {
	n := 4 + len(a.Data)
	if n%8 != 0 || n > maxMessageLength {
		return b, fmt.Errorf("ofp13: unknown action %d of length %d", a.Type, n)
	}
	b = be.AppendUint16(b, a.Type)
	b = be.AppendUint16(b, uint16(n))
	return append(b, a.Data...), nil
}

// AppendActions encodes an action list.
func AppendActions(b []byte, acts []Action) ([]byte, error) {
	var err error
	for _, a := range acts {
		if a == nil {
			return b, fmt.Errorf("ofp13: nil action")
		}
		if b, err = a.appendTo(b); err != nil {
			return b, err
		}
	}
	return b, nil
}

// readActions decodes actions until r is empty.
func readActions(r *reader) ([]Action, error) {
	var acts []Action
	for len(r.b) > 0 {
		typ, n := r.u16(), int(r.u16())
		if r.err != nil {
			return nil, r.err
		}
		if n < 8 || n%8 != 0 {
			return nil, fmt.Errorf("ofp13: action %d with length %d", typ, n)
		}
		body := r.sub(n - 4)
		if body.err != nil {
			return nil, body.err
		}
		a, err := decodeAction(typ, body)
		if err != nil {
			return nil, err
		}
		acts = append(acts, a)
	}
	return acts, r.err
}

func decodeAction(typ uint16, r *reader) (Action, error) {
	raw := append([]byte(nil), r.b...)
	switch typ {
	case ActOutput:
		a := ActionOutput{Port: r.u32(), MaxLen: r.u16()}
		return a, r.err
	case ActGroup:
		a := ActionGroup{GroupID: r.u32()}
		return a, r.err
	case ActSetField:
		o, err := readOXM(r)
		return ActionSetField{Field: o}, err
	case ActExperimenter:
		if r.u32() != NiciraVendor || r.err != nil {
			return ActionUnknown{Type: typ, Data: raw}, nil
		}
		switch r.u16() {
		case NXASTRegMove:
			a := ActionRegMove{NBits: r.u16(), SrcOfs: r.u16(), DstOfs: r.u16(), Src: r.u32(), Dst: r.u32()}
			return a, r.err
		case NXASTController:
			a := ActionController{MaxLen: r.u16(), ControllerID: r.u16(), Reason: r.u8()}
			return a, r.err
		}
	}
	return ActionUnknown{Type: typ, Data: raw}, nil
}

// Instruction is one OpenFlow 1.3 instruction.
type Instruction interface {
	appendTo(b []byte) ([]byte, error)
}

// InstructionGotoTable is OFPIT_GOTO_TABLE.
type InstructionGotoTable struct{ Table uint8 }

// InstructionWriteMetadata is OFPIT_WRITE_METADATA.
type InstructionWriteMetadata struct{ Metadata, Mask uint64 }

// InstructionApplyActions is OFPIT_APPLY_ACTIONS.
type InstructionApplyActions struct{ Actions []Action }

// InstructionMeter is OFPIT_METER.
type InstructionMeter struct{ MeterID uint32 }

// InstructionUnknown keeps an instruction the codec does not model.
type InstructionUnknown struct {
	Type uint16
	Data []byte
}

func (i InstructionGotoTable) appendTo(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, InstGotoTable)
	b = be.AppendUint16(b, 8)
	return append(b, i.Table, 0, 0, 0), nil
}

func (i InstructionWriteMetadata) appendTo(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, InstWriteMetadata)
	b = be.AppendUint16(b, 24)
	b = zeros(b, 4)
	b = be.AppendUint64(b, i.Metadata)
	return be.AppendUint64(b, i.Mask), nil
}

func (i InstructionApplyActions) appendTo(b []byte) ([]byte, error) {
	start := len(b)
	b = be.AppendUint16(b, InstApplyActions)
	b = be.AppendUint16(b, 0)
	b = zeros(b, 4)
	b, err := AppendActions(b, i.Actions)
	if err != nil {
		return b, err
	}
	return b, putLen16(b, start+2, start)
}

func (i InstructionMeter) appendTo(b []byte) ([]byte, error) {
	b = be.AppendUint16(b, InstMeter)
	b = be.AppendUint16(b, 8)
	return be.AppendUint32(b, i.MeterID), nil
}

func (i InstructionUnknown) appendTo(b []byte) ([]byte, error) {
	return ActionUnknown(i).appendTo(b)
}

func appendInstructions(b []byte, insts []Instruction) ([]byte, error) {
	var err error
	for _, in := range insts {
		if in == nil {
			return b, fmt.Errorf("ofp13: nil instruction")
		}
		if b, err = in.appendTo(b); err != nil {
			return b, err
		}
	}
	return b, nil
}

func readInstructions(r *reader) ([]Instruction, error) {
	var insts []Instruction
	for len(r.b) > 0 {
		typ, n := r.u16(), int(r.u16())
		if r.err != nil {
			return nil, r.err
		}
		if n < 8 || n%8 != 0 {
			return nil, fmt.Errorf("ofp13: instruction %d with length %d", typ, n)
		}
		body := r.sub(n - 4)
		if body.err != nil {
			return nil, body.err
		}
		in, err := decodeInstruction(typ, body)
		if err != nil {
			return nil, err
		}
		insts = append(insts, in)
	}
	return insts, r.err
}

func decodeInstruction(typ uint16, r *reader) (Instruction, error) {
	switch typ {
	case InstGotoTable:
		i := InstructionGotoTable{Table: r.u8()}
		return i, r.err
	case InstWriteMetadata:
		r.take(4)
		i := InstructionWriteMetadata{Metadata: r.u64(), Mask: r.u64()}
		return i, r.err
	case InstApplyActions:
		r.take(4)
		acts, err := readActions(r)
		return InstructionApplyActions{Actions: acts}, err
	case InstMeter:
		i := InstructionMeter{MeterID: r.u32()}
		return i, r.err
	}
	return InstructionUnknown{Type: typ, Data: r.rest()}, r.err
}
