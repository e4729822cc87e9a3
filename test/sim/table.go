package sim

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/southbound/openflow/ofp13"
)

// fieldEthDst is the OXM_OF_ETH_DST field number.
const fieldEthDst = 3

// flowKey identifies a flow as OpenFlow's strict matching does: table,
// priority and the match regardless of field order.
type flowKey struct {
	table uint8
	prio  uint16
	match string
}

type entry struct {
	stats ofp13.FlowStats
	added time.Time
}

// table is the switch's flow and group state, safe for concurrent reads
// by the benchmark while the read loop applies changes.
type table struct {
	mu     sync.Mutex
	flows  map[flowKey]*entry
	groups map[uint32]ofp13.GroupDesc
}

func newTable() *table {
	return &table{flows: map[flowKey]*entry{}, groups: map[uint32]ofp13.GroupDesc{}}
}

// matchString is a canonical form of a match: its OXMs encoded and sorted.
func matchString(m []ofp13.OXM) string {
	parts := make([]string, len(m))
	for i, o := range m {
		var b []byte
		h := o.Header()
		b = append(b, byte(h>>24), byte(h>>16), byte(h>>8), byte(h))
		b = append(append(b, o.Value...), o.Mask...)
		parts[i] = string(b)
	}
	sort.Strings(parts)
	return strings.Join(parts, "")
}

// covers reports whether flow match fm is at least as specific as request
// match req, the non-strict selection of OpenFlow's modify, delete and
// stats requests: every field of req is present in fm with a mask no wider
// and equal values under req's mask.
func covers(fm, req []ofp13.OXM) bool {
	for _, r := range req {
		i := slices.IndexFunc(fm, func(o ofp13.OXM) bool { return o.Class == r.Class && o.Field == r.Field })
		if i < 0 || len(fm[i].Value) != len(r.Value) {
			return false
		}
		f := fm[i]
		for k := range r.Value {
			rm, fmk := byte(0xff), byte(0xff)
			if r.Mask != nil {
				rm = r.Mask[k]
			}
			if f.Mask != nil {
				fmk = f.Mask[k]
			}
			if fmk&rm != rm || f.Value[k]&rm != r.Value[k]&rm {
				return false
			}
		}
	}
	return true
}

func cookieOK(have, want, mask uint64) bool { return have&mask == want&mask }

// applyFlow applies one flow-mod; bad is set with the OpenFlow error to send.
func (t *table) applyFlow(m *ofp13.FlowMod) (typ, code uint16, bad bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch m.Command {
	case ofp13.FlowAdd:
		if m.Table == ofp13.TableAll {
			return ofp13.ErrFlowModFailed, 1, true // OFPFMFC_BAD_TABLE_ID
		}
		k := flowKey{m.Table, m.Priority, matchString(m.Match)}
		t.flows[k] = &entry{added: time.Now(), stats: ofp13.FlowStats{Table: m.Table, Priority: m.Priority,
			IdleTimeout: m.IdleTimeout, HardTimeout: m.HardTimeout, Flags: m.Flags, Cookie: m.Cookie,
			Match: m.Match, Instructions: m.Instructions}}
	case ofp13.FlowModify, ofp13.FlowModifyStrict:
		for _, k := range t.selectFlows(m, m.Command == ofp13.FlowModifyStrict) {
			t.flows[k].stats.Instructions = m.Instructions
		}
	case ofp13.FlowDelete, ofp13.FlowDeleteStrict:
		for _, k := range t.selectFlows(m, m.Command == ofp13.FlowDeleteStrict) {
			delete(t.flows, k)
		}
	default:
		return ofp13.ErrFlowModFailed, 6, true // OFPFMFC_BAD_COMMAND
	}
	return 0, 0, false
}

// selectFlows lists the flows a modify or delete request concerns. Out-port
// and out-group filters are not modelled (the controller sends "any").
func (t *table) selectFlows(m *ofp13.FlowMod, strict bool) []flowKey {
	var out []flowKey
	if strict {
		k := flowKey{m.Table, m.Priority, matchString(m.Match)}
		if e, ok := t.flows[k]; ok && cookieOK(e.stats.Cookie, m.Cookie, m.CookieMask) {
			out = append(out, k)
		}
		return out
	}
	for k, e := range t.flows {
		if (m.Table == ofp13.TableAll || k.table == m.Table) &&
			cookieOK(e.stats.Cookie, m.Cookie, m.CookieMask) && covers(e.stats.Match, m.Match) {
			out = append(out, k)
		}
	}
	return out
}

// applyGroup applies one group-mod with OVS's errors for adding an
// existing group and modifying a missing one.
func (t *table) applyGroup(m *ofp13.GroupMod) (typ, code uint16, bad bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, exists := t.groups[m.GroupID]
	switch m.Command {
	case ofp13.GroupAdd:
		if exists {
			return ofp13.ErrGroupModFailed, ofp13.CodeGroupExists, true
		}
		t.groups[m.GroupID] = ofp13.GroupDesc{Type: m.Type, GroupID: m.GroupID, Buckets: m.Buckets}
	case ofp13.GroupModify:
		if !exists {
			return ofp13.ErrGroupModFailed, ofp13.CodeUnknownGroup, true
		}
		t.groups[m.GroupID] = ofp13.GroupDesc{Type: m.Type, GroupID: m.GroupID, Buckets: m.Buckets}
	case ofp13.GroupDelete:
		if m.GroupID == ofp13.GroupAll {
			t.groups = map[uint32]ofp13.GroupDesc{}
		} else {
			delete(t.groups, m.GroupID)
		}
	default:
		return ofp13.ErrGroupModFailed, 11, true // OFPGMFC_BAD_COMMAND
	}
	return 0, 0, false
}

// allFlows selects every flow in flowList.
var allFlows = &ofp13.FlowStatsRequest{Table: ofp13.TableAll}

// flowList returns the flows a stats request selects, with durations,
// in a stable order (table, priority, match).
func (t *table) flowList(req *ofp13.FlowStatsRequest) []ofp13.FlowStats {
	t.mu.Lock()
	now := time.Now()
	type kv struct {
		k flowKey
		s ofp13.FlowStats
	}
	var sel []kv
	for k, e := range t.flows {
		if (req.Table != ofp13.TableAll && k.table != req.Table) ||
			!cookieOK(e.stats.Cookie, req.Cookie, req.CookieMask) || !covers(e.stats.Match, req.Match) {
			continue
		}
		s := e.stats
		d := now.Sub(e.added)
		s.DurationSec, s.DurationNs = uint32(d/time.Second), uint32(d%time.Second)
		sel = append(sel, kv{k, s})
	}
	t.mu.Unlock()
	sort.Slice(sel, func(i, j int) bool {
		a, b := sel[i].k, sel[j].k
		if a.table != b.table {
			return a.table < b.table
		}
		if a.prio != b.prio {
			return a.prio > b.prio
		}
		return a.match < b.match
	})
	out := make([]ofp13.FlowStats, len(sel))
	for i, e := range sel {
		out[i] = e.s
	}
	return out
}

func (t *table) flowCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.flows)
}

func (t *table) groupList() []ofp13.GroupDesc {
	t.mu.Lock()
	out := make([]ofp13.GroupDesc, 0, len(t.groups))
	for _, g := range t.groups {
		out = append(out, g)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].GroupID < out[j].GroupID })
	return out
}

func (t *table) countEthDst(mac [6]byte) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.flows {
		if EthDst(e.stats.Match) == mac {
			n++
		}
	}
	return n
}

// EthDst returns the exact eth_dst of a match, or the zero MAC when the
// match has none (or only a masked one).
func EthDst(m []ofp13.OXM) [6]byte {
	for _, o := range m {
		if o.Class == ofp13.ClassBasic && o.Field == fieldEthDst && len(o.Value) == 6 &&
			(o.Mask == nil || bytes.Equal(o.Mask, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) {
			return [6]byte(o.Value)
		}
	}
	return [6]byte{}
}
