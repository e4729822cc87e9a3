package mapping

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Index is the in-memory mapping database: exact match for MAC EIDs,
// longest-prefix match for IP EIDs and the negative prefixes of RFC 9301.
// It is safe for concurrent use; readers run in parallel, writers one at
// a time.
//
// Records handed out share storage with the index: their Locators slice
// (an interned set, common to every record with the same locators) and
// strings must be treated as read-only. They stay valid and unchanged
// after later writes to the index, which never modifies a set in place.
//
// Stored records are normalized: the EID is masked and an IPv4-mapped
// IPv6 prefix of /96 or longer becomes an IPv4 prefix; an empty locator
// set comes back as nil; UpdatedAt comes back without its monotonic clock
// reading (compare with time.Time.Equal).
type Index struct {
	mu      sync.RWMutex
	spaces  map[uint32]*space
	locKeys interner    // locator sets, keyed by their encoded content
	locSets [][]Locator // by locKeys id
	strs    interner    // origin, site, xTR and port strings
	zones   []*time.Location
	buf     []byte // scratch for locator keys, used under the write lock
	n       int
}

// space holds the EIDs of one instance-id.
type space struct {
	macs map[uint64]entry // by MAC.Uint64: the runtime's fast path for 8-byte keys
	ip   [2]*ipTable      // IPv4, IPv6; nil while empty
	n    int
}

// IndexStats describes the index contents, e.g. for metrics.
type IndexStats struct {
	Records     int
	MACs        int
	IPv4        int
	IPv6        int
	IIDs        int
	LocatorSets int // distinct interned locator sets
	Strings     int // distinct interned origin/site/xTR/port strings
	TrieNodes   int // allocated trie nodes, roots included
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		spaces:  make(map[uint32]*space),
		locKeys: newInterner(),
		locSets: make([][]Locator, 1),
		strs:    newInterner(),
		zones:   []*time.Location{time.UTC},
	}
}

// canonical masks the prefix and turns an IPv4-mapped prefix into IPv4,
// so that equal EIDs have one representation.
func canonical(e EID) EID {
	if !e.Prefix.IsValid() {
		return EID{IID: e.IID, MAC: e.MAC}
	}
	p := e.Prefix
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return EID{IID: e.IID, Prefix: p.Masked()}
}

// famIndex is the slot of space.ip for an address.
func famIndex(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// table returns the IP table for (iid, family of a), or nil.
func (x *Index) table(iid uint32, a netip.Addr) *ipTable {
	sp := x.spaces[iid]
	if sp == nil {
		return nil
	}
	return sp.ip[famIndex(a)]
}

// Put inserts r, or replaces the record with the same EID.
func (x *Index) Put(r Record) { x.put(r, false) }

// Swap is Put that also returns the record r replaced, if any.
func (x *Index) Swap(r Record) (Record, bool) { return x.put(r, true) }

func (x *Index) put(r Record, want bool) (Record, bool) {
	e := canonical(r.EID)
	x.mu.Lock()
	defer x.mu.Unlock()
	en := x.encode(&r)
	sp := x.spaces[e.IID]
	if sp == nil {
		sp = &space{}
		x.spaces[e.IID] = sp
	}
	var old entry
	var replaced bool
	if e.Family() == FamilyMAC {
		if sp.macs == nil {
			sp.macs = make(map[uint64]entry)
		}
		k := e.MAC.Uint64()
		old, replaced = sp.macs[k]
		sp.macs[k] = en
	} else {
		a := e.Prefix.Addr()
		t := sp.ip[famIndex(a)]
		if t == nil {
			t = newIPTable(a.Is4())
			sp.ip[famIndex(a)] = t
		}
		old, replaced = t.put(addrKey(a), e.Prefix.Bits(), en)
	}
	if replaced {
		var prev Record
		if want {
			prev = x.decode(e, &old)
		}
		x.release(&old)
		return prev, true
	}
	sp.n++
	x.n++
	return Record{}, false
}

// Delete removes the record of exactly e and returns it.
func (x *Index) Delete(e EID) (Record, bool) {
	e = canonical(e)
	x.mu.Lock()
	defer x.mu.Unlock()
	sp := x.spaces[e.IID]
	if sp == nil {
		return Record{}, false
	}
	var en entry
	if e.Family() == FamilyMAC {
		var ok bool
		if en, ok = sp.macs[e.MAC.Uint64()]; !ok {
			return Record{}, false
		}
		delete(sp.macs, e.MAC.Uint64())
		if len(sp.macs) == 0 {
			sp.macs = nil
		}
	} else {
		a := e.Prefix.Addr()
		fi := famIndex(a)
		t := sp.ip[fi]
		if t == nil {
			return Record{}, false
		}
		var ok bool
		if en, ok = t.remove(addrKey(a), e.Prefix.Bits()); !ok {
			return Record{}, false
		}
		if t.n == 0 {
			sp.ip[fi] = nil
		}
	}
	r := x.decode(e, &en)
	x.release(&en)
	x.n--
	if sp.n--; sp.n == 0 {
		delete(x.spaces, e.IID)
	}
	return r, true
}

// Get returns the record of exactly e.
func (x *Index) Get(e EID) (Record, bool) {
	e = canonical(e)
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e.Family() == FamilyMAC {
		sp := x.spaces[e.IID]
		if sp == nil {
			return Record{}, false
		}
		en, ok := sp.macs[e.MAC.Uint64()]
		if !ok {
			return Record{}, false
		}
		return x.decode(e, &en), true
	}
	a := e.Prefix.Addr()
	t := x.table(e.IID, a)
	if t == nil {
		return Record{}, false
	}
	en, ok := t.get(addrKey(a), e.Prefix.Bits())
	if !ok {
		return Record{}, false
	}
	return x.decode(e, &en), true
}

// LookupMAC returns the record of MAC m in instance-id iid.
func (x *Index) LookupMAC(iid uint32, m MAC) (Record, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	sp := x.spaces[iid]
	if sp == nil {
		return Record{}, false
	}
	en, ok := sp.macs[m.Uint64()]
	if !ok {
		return Record{}, false
	}
	return x.decode(EID{IID: iid, MAC: m}, &en), true
}

// LookupAddr returns the record of the longest EID prefix of iid that
// covers a. An IPv4-mapped IPv6 address is looked up as IPv4.
func (x *Index) LookupAddr(iid uint32, a netip.Addr) (Record, bool) {
	if !a.IsValid() {
		return Record{}, false
	}
	a = a.Unmap().WithZone("")
	return x.lookupPrefix(iid, a, a.BitLen())
}

// Lookup returns, for a MAC EID, its record; for an IP EID, the record of
// the most specific EID prefix that covers e.Prefix (equal or shorter).
func (x *Index) Lookup(e EID) (Record, bool) {
	e = canonical(e)
	if e.Family() == FamilyMAC {
		return x.LookupMAC(e.IID, e.MAC)
	}
	return x.lookupPrefix(e.IID, e.Prefix.Addr(), e.Prefix.Bits())
}

// lookupPrefix finds the longest EID prefix of at most limit bits covering a.
func (x *Index) lookupPrefix(iid uint32, a netip.Addr, limit int) (Record, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	t := x.table(iid, a)
	if t == nil {
		return Record{}, false
	}
	k := addrKey(a)
	en, bits, ok := t.lpm(k, limit)
	if !ok {
		return Record{}, false
	}
	e := EID{IID: iid, Prefix: t.prefix(k, bits)}
	return x.decode(e, &en), true
}

// Negative returns, for an address that no EID of iid covers, the largest
// prefix containing a that contains no EID prefix at all: what an RFC 9301
// negative Map-Reply carries. It is the whole address space (/0) when iid
// has no EID of a's family. ok is false if some EID covers a, or if a is
// not a valid address. An IPv4-mapped IPv6 address is taken as IPv4.
func (x *Index) Negative(iid uint32, a netip.Addr) (netip.Prefix, bool) {
	if !a.IsValid() {
		return netip.Prefix{}, false
	}
	a = a.Unmap().WithZone("")
	x.mu.RLock()
	defer x.mu.RUnlock()
	t := x.table(iid, a)
	if t == nil {
		return netip.PrefixFrom(a, 0).Masked(), true
	}
	k := addrKey(a)
	bits, ok := t.negative(k)
	if !ok {
		return netip.Prefix{}, false
	}
	return t.prefix(k, bits), true
}

// MACs is the number of MAC records of instance-id iid.
func (x *Index) MACs(iid uint32) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if sp := x.spaces[iid]; sp != nil {
		return len(sp.macs)
	}
	return 0
}

// Len is the number of records.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.n
}

// Range calls fn for every record, in no particular order, until fn
// returns false. It holds the read lock throughout: fn must not call
// methods of x.
func (x *Index) Range(fn func(Record) bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for iid, sp := range x.spaces {
		if !x.rangeSpace(iid, sp, fn) {
			return
		}
	}
}

// RangeIID is Range restricted to instance-id iid. IP records come in
// address order; MAC records in no particular order.
func (x *Index) RangeIID(iid uint32, fn func(Record) bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if sp := x.spaces[iid]; sp != nil {
		x.rangeSpace(iid, sp, fn)
	}
}

func (x *Index) rangeSpace(iid uint32, sp *space, fn func(Record) bool) bool {
	for m, en := range sp.macs {
		if !fn(x.decode(EID{IID: iid, MAC: MACFromUint64(m)}, &en)) {
			return false
		}
	}
	for _, t := range sp.ip {
		if t == nil {
			continue
		}
		more := t.walk(func(k u128, bits int, en *entry) bool {
			return fn(x.decode(EID{IID: iid, Prefix: t.prefix(k, bits)}, en))
		})
		if !more {
			return false
		}
	}
	return true
}

// IIDs returns, in increasing order, the instance-ids holding a record.
func (x *Index) IIDs() []uint32 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]uint32, 0, len(x.spaces))
	for iid := range x.spaces {
		out = append(out, iid)
	}
	slices.Sort(out)
	return out
}

// Stats counts the index contents.
func (x *Index) Stats() IndexStats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := IndexStats{
		Records:     x.n,
		IIDs:        len(x.spaces),
		LocatorSets: x.locKeys.live(),
		Strings:     x.strs.live(),
	}
	for _, sp := range x.spaces {
		s.MACs += len(sp.macs)
		for i, t := range sp.ip {
			if t == nil {
				continue
			}
			if i == 0 {
				s.IPv4 += t.n
			} else {
				s.IPv6 += t.n
			}
			s.TrieNodes += len(t.nodes) - len(t.free)
		}
	}
	return s
}
