package mapping

import (
	"encoding/binary"
	"time"
)

// interner hands out small reference-counted ids for byte strings, so that
// many records can share one copy of a site name or a locator set. Id 0 is
// the empty string: it is never counted and never freed.
type interner struct {
	ids  map[string]uint32
	keys []string
	refs []uint32
	free []uint32
}

func newInterner() interner {
	return interner{ids: make(map[string]uint32), keys: []string{""}, refs: []uint32{0}}
}

// acquire takes a reference to key; fresh reports a newly created id.
func (t *interner) acquire(key string) (id uint32, fresh bool) {
	if key == "" {
		return 0, false
	}
	if id, ok := t.ids[key]; ok {
		t.refs[id]++
		return id, false
	}
	return t.add(key), true
}

// acquireBytes is acquire without allocating when key is already known.
func (t *interner) acquireBytes(key []byte) (id uint32, fresh bool) {
	if len(key) == 0 {
		return 0, false
	}
	if id, ok := t.ids[string(key)]; ok {
		t.refs[id]++
		return id, false
	}
	return t.add(string(key)), true
}

func (t *interner) add(key string) uint32 {
	var id uint32
	if l := len(t.free); l > 0 {
		id = t.free[l-1]
		t.free = t.free[:l-1]
		t.keys[id], t.refs[id] = key, 1
	} else {
		id = uint32(len(t.keys))
		t.keys = append(t.keys, key)
		t.refs = append(t.refs, 1)
	}
	t.ids[key] = id
	return id
}

// release drops a reference and reports whether the id was freed.
func (t *interner) release(id uint32) bool {
	if id == 0 {
		return false
	}
	if t.refs[id]--; t.refs[id] > 0 {
		return false
	}
	delete(t.ids, t.keys[id])
	t.keys[id] = ""
	t.free = append(t.free, id)
	return true
}

// live is the number of distinct non-empty keys held.
func (t *interner) live() int { return len(t.ids) }

// appendLocatorKey encodes a locator set by content, order included.
func appendLocatorKey(b []byte, ls []Locator) []byte {
	for _, l := range ls {
		a16 := l.Addr.As16()
		kind := byte(0)
		switch {
		case l.Addr.Is4():
			kind = 4
		case l.Addr.Is6():
			kind = 6
		}
		up := byte(0)
		if l.Up {
			up = 1
		}
		b = append(b, kind)
		if kind != 0 {
			b = append(b, a16[:]...)
		}
		zone := l.Addr.Zone()
		b = binary.AppendUvarint(b, uint64(len(zone)))
		b = append(b, zone...)
		b = append(b, l.Priority, l.Weight, up)
	}
	return b
}

// entry is the compact per-EID form of a Record: strings and locator sets
// are ids into the index's interners, the time is split into its parts.
type entry struct {
	version uint64
	sec     int64 // UpdatedAt as Unix seconds
	nsec    int32
	ttl     uint32
	locs    uint32
	origin  uint32
	site    uint32
	xtr     uint32
	port    uint32
	mac     uint64 // Record.MAC packed (MAC.Uint64); 0 when unbound
	zone    uint8  // index into Index.zones, the time.Location of UpdatedAt
	noProxy bool
	frozen  bool
}

// maxZones bounds the time.Location table; beyond it times are kept in UTC.
const maxZones = 256

func (x *Index) zoneID(loc *time.Location) uint8 {
	for i, z := range x.zones {
		if z == loc {
			return uint8(i)
		}
	}
	if len(x.zones) >= maxZones {
		return 0
	}
	x.zones = append(x.zones, loc)
	return uint8(len(x.zones) - 1)
}

// encode interns r's strings and locators, taking one reference on each.
func (x *Index) encode(r *Record) entry {
	x.buf = appendLocatorKey(x.buf[:0], r.Locators)
	locs, fresh := x.locKeys.acquireBytes(x.buf)
	if fresh {
		// A private copy with cap == len, so appends by readers cannot
		// write into it; interned sets are never modified in place.
		set := make([]Locator, len(r.Locators))
		copy(set, r.Locators)
		if int(locs) >= len(x.locSets) {
			x.locSets = append(x.locSets, nil)
		}
		x.locSets[locs] = set
	}
	origin, _ := x.strs.acquire(string(r.Origin))
	site, _ := x.strs.acquire(r.Site)
	xtr, _ := x.strs.acquire(r.XTR)
	port, _ := x.strs.acquire(r.Port)
	return entry{
		version: r.Version,
		sec:     r.UpdatedAt.Unix(),
		nsec:    int32(r.UpdatedAt.Nanosecond()),
		ttl:     r.TTL,
		locs:    locs,
		origin:  origin,
		site:    site,
		xtr:     xtr,
		port:    port,
		mac:     r.MAC.Uint64(),
		zone:    x.zoneID(r.UpdatedAt.Location()),
		noProxy: r.NoProxy,
		frozen:  r.Frozen,
	}
}

// release drops the references encode took.
func (x *Index) release(en *entry) {
	if x.locKeys.release(en.locs) {
		x.locSets[en.locs] = nil
	}
	x.strs.release(en.origin)
	x.strs.release(en.site)
	x.strs.release(en.xtr)
	x.strs.release(en.port)
}

// decode rebuilds a Record without allocating: strings and the locator
// slice are shared with the index.
func (x *Index) decode(e EID, en *entry) Record {
	return Record{
		EID:       e,
		Locators:  x.locSets[en.locs],
		TTL:       en.ttl,
		Origin:    Origin(x.strs.keys[en.origin]),
		Site:      x.strs.keys[en.site],
		XTR:       x.strs.keys[en.xtr],
		Port:      x.strs.keys[en.port],
		Version:   en.version,
		NoProxy:   en.noProxy,
		MAC:       unpackMAC(en.mac),
		Frozen:    en.frozen,
		UpdatedAt: time.Unix(en.sec, int64(en.nsec)).In(x.zones[en.zone]),
	}
}
