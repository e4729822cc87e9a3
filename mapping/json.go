package mapping

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// recordJSON is the wire form of a Record in the REST API and the change feed.
type recordJSON struct {
	InstanceID uint32    `json:"instance_id"`
	EID        string    `json:"eid"`
	Family     string    `json:"family"`
	RLOCs      []Locator `json:"rlocs"`
	TTL        uint32    `json:"ttl"`
	Origin     Origin    `json:"origin"`
	Site       string    `json:"site"`
	XTR        string    `json:"xtr,omitempty"`
	Port       string    `json:"port,omitempty"`
	NoProxy    bool      `json:"no_proxy,omitempty"`
	MAC        string    `json:"mac,omitempty"`
	Frozen     bool      `json:"frozen,omitempty"`
	Version    uint64    `json:"version"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// MarshalJSON writes the record as the REST API shows it.
func (r Record) MarshalJSON() ([]byte, error) {
	if !r.UpdatedAt.IsZero() && (r.UpdatedAt.Year() < 0 || r.UpdatedAt.Year() > 9999) {
		return nil, fmt.Errorf("record %s: updated_at %v outside years 0-9999", r.EID, r.UpdatedAt)
	}
	return r.AppendJSON(make([]byte, 0, 256)), nil
}

// AppendJSON appends what MarshalJSON writes: the fields of recordJSON, as
// encoding/json would write them, without its reflection. The writer
// encodes every record of every bulk write (the change feed's data), at
// tens of thousands a second; TestAppendJSONMatchesEncodingJSON holds it
// to encoding/json byte for byte.
func (r Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"instance_id":`...)
	b = strconv.AppendUint(b, uint64(r.EID.IID), 10)
	b = append(b, `,"eid":`...)
	b = appendString(b, r.EID.Address())
	b = append(b, `,"family":`...)
	b = appendString(b, r.EID.Family().String())
	b = r.appendState(append(b, ','))
	b = append(b, `,"site":`...)
	b = appendString(b, r.Site)
	if r.XTR != "" {
		b = append(b, `,"xtr":`...)
		b = appendString(b, r.XTR)
	}
	return append(r.appendTail(b), '}')
}

// AppendChangeJSON appends the record as a mapping event of the change
// feed stores it: AppendJSON less the fields the event row holds in its
// own columns (instance_id, eid, site, xtr; family follows from the EID).
// The writer stores one such event per new EID, tens of thousands a
// second; DecodeChange puts the record back together.
func (r Record) AppendChangeJSON(b []byte) []byte {
	b = r.appendState(append(b, '{'))
	return append(r.appendTail(b), '}')
}

// appendState appends the rlocs, ttl and origin members.
func (r Record) appendState(b []byte) []byte {
	b = append(b, `"rlocs":`...)
	if r.Locators == nil {
		b = append(b, "[]"...)
	} else {
		b = AppendLocatorsJSON(b, r.Locators)
	}
	b = append(b, `,"ttl":`...)
	b = strconv.AppendUint(b, uint64(r.TTL), 10)
	b = append(b, `,"origin":`...)
	return appendString(b, string(r.Origin))
}

// appendTail appends the members from port to updated_at.
func (r Record) appendTail(b []byte) []byte {
	if r.Port != "" {
		b = append(b, `,"port":`...)
		b = appendString(b, r.Port)
	}
	if r.NoProxy {
		b = append(b, `,"no_proxy":true`...)
	}
	if r.HasMAC() {
		b = append(b, `,"mac":`...)
		b = appendString(b, r.MAC.String())
	}
	if r.Frozen {
		b = append(b, `,"frozen":true`...)
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, r.Version, 10)
	b = append(b, `,"updated_at":"`...)
	b = r.UpdatedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendLocatorsJSON appends locs as json.Marshal writes them (null for
// nil), without its reflection.
func AppendLocatorsJSON(b []byte, locs []Locator) []byte {
	if locs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, l := range locs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"address":"`...)
		if l.Addr.IsValid() {
			b = l.Addr.AppendTo(b)
		}
		b = append(b, `","priority":`...)
		b = strconv.AppendUint(b, uint64(l.Priority), 10)
		b = append(b, `,"weight":`...)
		b = strconv.AppendUint(b, uint64(l.Weight), 10)
		b = append(b, `,"up":`...)
		b = strconv.AppendBool(b, l.Up)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendString appends s as a JSON string. Plain text is copied; anything
// encoding/json would escape (quotes, control characters, <, >, &, bytes
// outside ASCII) is left to it, so the output stays identical.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return r.fromJSON(j)
}

// DecodeChange reads a mapping event's data: what AppendChangeJSON wrote,
// completed by the event row's columns, or (rows written before it) what
// AppendJSON wrote, which holds them itself.
func DecodeChange(data []byte, iid uint32, eid, site, xtr string) (Record, error) {
	var j recordJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return Record{}, fmt.Errorf("record: %w", err)
	}
	if j.EID == "" {
		j.InstanceID, j.EID, j.Site, j.XTR = iid, eid, site, xtr
	}
	var r Record
	err := r.fromJSON(j)
	return r, err
}

func (r *Record) fromJSON(j recordJSON) error {
	eid, err := ParseEID(j.InstanceID, j.EID)
	if err != nil {
		return err
	}
	var mac MAC
	if j.MAC != "" {
		if mac, err = ParseMAC(j.MAC); err != nil {
			return fmt.Errorf("record mac: %w", err)
		}
	}
	*r = Record{EID: eid, Locators: j.RLOCs, TTL: j.TTL, Origin: j.Origin, Site: j.Site,
		XTR: j.XTR, Port: j.Port, NoProxy: j.NoProxy, MAC: mac, Frozen: j.Frozen,
		Version: j.Version, UpdatedAt: j.UpdatedAt}
	return nil
}
