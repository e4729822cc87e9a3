package controller

import (
	"net/netip"
	"sync"

	"github.com/l2lisp/l2lisp/mapping"
)

// subTable is the cache of subscriptions, indexed by key and by the
// EID-prefix subscribed to, so a mapping change finds its subscribers with
// a few map lookups.
type subTable struct {
	mu    sync.RWMutex
	byKey map[SubKey]Subscription
	byEID map[mapping.EID]map[string]struct{} // prefix -> xTR-IDs
}

func newSubTable() subTable {
	return subTable{byKey: map[SubKey]Subscription{}, byEID: map[mapping.EID]map[string]struct{}{}}
}

// replace takes o's content, for a rebuilt replica.
func (t *subTable) replace(o *subTable) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byKey, t.byEID = o.byKey, o.byEID
}

func (t *subTable) put(s Subscription) {
	e, err := s.Prefix()
	if err != nil {
		return
	}
	s.Nonce = 0 // the cache does not follow publications; the database holds the nonce
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byKey[s.Key()] = s
	set := t.byEID[e]
	if set == nil {
		set = map[string]struct{}{}
		t.byEID[e] = set
	}
	set[s.XTRID] = struct{}{}
}

func (t *subTable) remove(k SubKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byKey[k]
	if !ok {
		return
	}
	delete(t.byKey, k)
	if e, err := s.Prefix(); err == nil {
		if set := t.byEID[e]; set != nil {
			delete(set, k.XTRID)
			if len(set) == 0 {
				delete(t.byEID, e)
			}
		}
	}
}

func (t *subTable) get(k SubKey) (Subscription, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s, ok := t.byKey[k]
	return s, ok
}

func (t *subTable) count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byKey)
}

func (t *subTable) list(keep func(*Subscription) bool) []Subscription {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Subscription, 0, len(t.byKey))
	for _, s := range t.byKey {
		if keep(&s) {
			out = append(out, s)
		}
	}
	return out
}

func (t *subTable) to(e mapping.EID) []Subscription {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []Subscription
	for x := range t.byEID[e] {
		out = append(out, t.byKey[SubKey{x, e.IID, e.Address()}])
	}
	return out
}

// overlapping lists the subscribed prefixes that contain e or that e
// contains, as their address strings.
func (t *subTable) overlapping(e mapping.EID) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.byEID) == 0 {
		return nil
	}
	var out []string
	if _, ok := t.byEID[e]; ok {
		out = append(out, e.Address())
	}
	if e.Family() == mapping.FamilyMAC {
		return out
	}
	p := e.Prefix
	for bits := p.Bits() - 1; bits >= 0; bits-- {
		q := mapping.PrefixEID(e.IID, netip.PrefixFrom(p.Addr(), bits))
		if _, ok := t.byEID[q]; ok {
			out = append(out, q.Address())
		}
	}
	if p.Bits() < p.Addr().BitLen() {
		// A prefix record answers for the more specific prefixes inside
		// it: rare (hosts are /32, /128 or MACs), so a scan is fine.
		for q := range t.byEID {
			if q.IID == e.IID && q.Family() == e.Family() && q.Prefix.Bits() > p.Bits() && p.Contains(q.Prefix.Addr()) {
				out = append(out, q.Address())
			}
		}
	}
	return out
}
