package ofp13

import "fmt"

// OXM classes.
const (
	ClassNXM0  uint16 = 0x0000
	ClassNXM1  uint16 = 0x0001
	ClassBasic uint16 = 0x8000
	// ClassEricsson is OVS's ERICOXM_OF_ class: nd_reserved (1, 4 bytes)
	// and nd_options_type (2, 1 byte).
	ClassEricsson uint16 = 0x1000
)

// OXM is one TLV of an OXM match or a set-field action. Mask, when present,
// has the length of Value and sets the header's HM bit.
type OXM struct {
	Class uint16
	Field uint8
	Value []byte
	Mask  []byte
}

// Header is the 32-bit OXM/NXM header of the field.
func (o OXM) Header() uint32 {
	n := len(o.Value)
	h := uint32(o.Class)<<16 | uint32(o.Field&0x7f)<<9
	if o.Mask != nil {
		h |= 1 << 8
		n *= 2
	}
	return h | uint32(n&0xff)
}

// FieldHeader is the unmasked header of field (class, field) with its
// natural width, as NXAST_REG_MOVE wants it.
func FieldHeader(class uint16, field uint8) (uint32, error) {
	w, ok := FieldWidth(class, field)
	if !ok {
		return 0, fmt.Errorf("ofp13: unknown width of field %#x/%d", class, field)
	}
	return uint32(class)<<16 | uint32(field&0x7f)<<9 | uint32(w), nil
}

// fieldWidths are the value sizes in bytes of the fields we know (OpenFlow
// 1.3 §7.2.3.7; OVS meta-flow for the Nicira classes).
var fieldWidths = map[uint32]uint8{}

func init() {
	basic := []uint8{4, 4, 8, 6, 6, 2, 2, 1, 1, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 1, 1, 2, 4, 4, 6, 6,
		16, 16, 4, 1, 1, 16, 6, 6, 4, 1, 1, 3, 8, 2}
	for f, w := range basic {
		fieldWidths[uint32(ClassBasic)<<8|uint32(f)] = w
	}
	nxm0 := []uint8{2, 6, 6, 2, 2, 1, 1, 4, 4, 2, 2, 2, 2, 1, 1, 2, 4, 4}
	for f, w := range nxm0 {
		fieldWidths[uint32(ClassNXM0)<<8|uint32(f)] = w
	}
	for f := 0; f < 16; f++ { // NXM_NX_REG0..15
		fieldWidths[uint32(ClassNXM1)<<8|uint32(f)] = 4
	}
	nxm1 := map[uint8]uint8{16: 8, 17: 6, 18: 6, 19: 16, 20: 16, 21: 1, 22: 1, 23: 16, 24: 6, 25: 6,
		31: 4, 32: 4, 109: 16, 110: 16}
	for f, w := range nxm1 {
		fieldWidths[uint32(ClassNXM1)<<8|uint32(f)] = w
	}
	for f, w := range map[uint8]uint8{1: 4, 2: 1} {
		fieldWidths[uint32(ClassEricsson)<<8|uint32(f)] = w
	}
}

// FieldWidth is the value width in bytes of a known field.
func FieldWidth(class uint16, field uint8) (int, bool) {
	w, ok := fieldWidths[uint32(class)<<8|uint32(field)]
	return int(w), ok
}

func appendOXM(b []byte, o OXM) ([]byte, error) {
	if len(o.Value) == 0 || len(o.Value) > 127 || (o.Mask != nil && len(o.Mask) != len(o.Value)) {
		return b, fmt.Errorf("ofp13: bad OXM %#x/%d: value %d bytes, mask %d bytes",
			o.Class, o.Field, len(o.Value), len(o.Mask))
	}
	if o.Field > 0x7f {
		return b, fmt.Errorf("ofp13: OXM field %d out of range", o.Field)
	}
	b = be.AppendUint32(b, o.Header())
	b = append(b, o.Value...)
	return append(b, o.Mask...), nil
}

func readOXM(r *reader) (OXM, error) {
	h := r.u32()
	if r.err != nil {
		return OXM{}, r.err
	}
	o := OXM{Class: uint16(h >> 16), Field: uint8(h>>9) & 0x7f}
	n := int(h & 0xff)
	if o.Class == 0xffff {
		return o, fmt.Errorf("ofp13: experimenter OXM not supported")
	}
	if h&(1<<8) != 0 {
		if n == 0 || n%2 != 0 {
			return o, fmt.Errorf("ofp13: masked OXM %#x with odd length %d", h, n)
		}
		o.Value = r.copyBytes(n / 2)
		o.Mask = r.copyBytes(n / 2)
	} else {
		if n == 0 {
			return o, fmt.Errorf("ofp13: OXM %#x with empty value", h)
		}
		o.Value = r.copyBytes(n)
	}
	return o, r.err
}

// AppendMatch encodes an ofp_match of type OXM, padded to 8 bytes.
func AppendMatch(b []byte, m []OXM) ([]byte, error) {
	start := len(b)
	b = be.AppendUint16(b, matchTypeOXM)
	b = be.AppendUint16(b, 0)
	var err error
	for _, o := range m {
		if b, err = appendOXM(b, o); err != nil {
			return b, err
		}
	}
	if err := putLen16(b, start+2, start); err != nil {
		return b, err
	}
	return zeros(b, pad8(len(b)-start)-(len(b)-start)), nil
}

// readMatch decodes an ofp_match and its padding.
func readMatch(r *reader) ([]OXM, error) {
	typ, n := r.u16(), int(r.u16())
	if r.err != nil {
		return nil, r.err
	}
	if typ != matchTypeOXM || n < 4 {
		return nil, fmt.Errorf("ofp13: match type %d length %d not OXM", typ, n)
	}
	body := r.sub(n - 4)
	r.take(pad8(n) - n)
	var m []OXM
	for len(body.b) > 0 && body.err == nil {
		o, err := readOXM(body)
		if err != nil {
			return nil, err
		}
		m = append(m, o)
	}
	if body.err != nil {
		return nil, body.err
	}
	return m, r.err
}
