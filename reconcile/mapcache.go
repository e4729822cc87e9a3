package reconcile

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/pipeline"
	"github.com/l2lisp/l2lisp/ratelimit"
	"github.com/l2lisp/l2lisp/southbound/openflow"
)

// The map-cache of the on-demand networks: per switch, the remote hosts
// installed because a local host sent to them (docs/pipeline.md,
// "On-demand forwarding"). It lives in the switches: each entry is a flow
// whose cookie says so, and this is only what the leader believes they
// hold. A new term or connection reads it back from the switch before
// the first full sync (adopt), so nothing here has to outlive a process.

// MapCacheConfig tunes on-demand forwarding. Like LearnConfig it is
// process configuration: every replica must be started alike.
type MapCacheConfig struct {
	Size      int           // entries per switch; at the cap the idlest are evicted
	Idle      time.Duration // an entry unused this long leaves the switch
	MissRate  uint32        // misses per second a switch sends (its meter); 0: no meter
	MissBurst uint32        // packets
	// SwitchRate and SwitchBurst bound the misses per second the
	// controller takes from one switch, whatever its meter lets through.
	SwitchRate, SwitchBurst float64
}

// DefaultMapCacheConfig is what serve uses unless told otherwise.
func DefaultMapCacheConfig() MapCacheConfig {
	return MapCacheConfig{Size: 10000, Idle: 5 * time.Minute, MissRate: 200, MissBurst: 400,
		SwitchRate: 1000, SwitchBurst: 2000}
}

// view is the part of the pipeline's input the configuration decides.
func (c MapCacheConfig) view() pipeline.MapCacheView {
	secs := (c.Idle + time.Second - 1) / time.Second
	return pipeline.MapCacheView{IdleTimeout: uint16(min(secs, 0xffff)), Meter: c.MissRate > 0}
}

// evictShare is the part of the cap an eviction frees at once, so that a
// full cache does not read the switch's counters for every miss.
const evictShare = 10

// cacheEntry is one remote host a switch holds.
type cacheEntry struct {
	added   time.Time
	used    time.Time // last time its packet count was seen to grow
	packets uint64
}

// switchCache is what one switch holds.
type switchCache struct {
	entries map[mapping.EID]*cacheEntry
	loaded  bool          // read back from the switch in this term and connection
	pending []mapping.EID // misses waiting for room (the cache is full)
	limit   ratelimit.Bucket
}

// mapCache is the map-cache of every switch, with the reverse index the
// interest-based fan-out needs: who holds a host.
type mapCache struct {
	cfg     MapCacheConfig
	mu      sync.Mutex
	sw      map[string]*switchCache
	holders map[mapping.EID][]string
}

func newMapCache(cfg MapCacheConfig) *mapCache {
	if cfg.Size <= 0 {
		cfg.Size = DefaultMapCacheConfig().Size
	}
	return &mapCache{cfg: cfg, sw: map[string]*switchCache{}, holders: map[mapping.EID][]string{}}
}

func (m *mapCache) get(name string) *switchCache {
	sc := m.sw[name]
	if sc == nil {
		sc = &switchCache{entries: map[mapping.EID]*cacheEntry{}}
		m.sw[name] = sc
	}
	return sc
}

func (m *mapCache) hold(name string, e mapping.EID, en *cacheEntry) {
	sc := m.get(name)
	if _, ok := sc.entries[e]; !ok {
		m.holders[e] = append(m.holders[e], name)
	}
	sc.entries[e] = en
}

func (m *mapCache) drop(name string, e mapping.EID) bool {
	sc := m.sw[name]
	if sc == nil {
		return false
	}
	if _, ok := sc.entries[e]; !ok {
		return false
	}
	delete(sc.entries, e)
	hs := slices.DeleteFunc(m.holders[e], func(n string) bool { return n == name })
	if len(hs) == 0 {
		delete(m.holders, e)
	} else {
		m.holders[e] = hs
	}
	return true
}

// miss notes that switch name asked for remote host e. It reports whether
// the switch needs a pass: a new entry, or one waiting for room.
func (m *mapCache) miss(name string, e mapping.EID, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.get(name)
	if m.cfg.SwitchRate > 0 && !sc.limit.Take(now, m.cfg.SwitchRate, max(m.cfg.SwitchBurst, 1)) {
		return false
	}
	if _, ok := sc.entries[e]; ok || !sc.loaded {
		// Held already (its flow is on its way), or not read back yet:
		// the first full pass brings the switch in line either way.
		return false
	}
	if len(sc.entries) >= m.cfg.Size {
		if !slices.Contains(sc.pending, e) && len(sc.pending) < m.cfg.Size {
			sc.pending = append(sc.pending, e)
		}
		return true
	}
	m.hold(name, e, &cacheEntry{added: now, used: now})
	return true
}

// removed notes that entry e left switch name (it idled out).
func (m *mapCache) removed(name string, e mapping.EID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.drop(name, e)
}

// uncache drops e from switch name (it became local there, or is gone).
func (m *mapCache) uncache(name string, e mapping.EID) {
	m.mu.Lock()
	m.drop(name, e)
	m.mu.Unlock()
}

// holds reports whether switch name holds e.
func (m *mapCache) holds(name string, e mapping.EID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.sw[name].entries[e]
	return ok
}

// holdersOf lists the switches holding e.
func (m *mapCache) holdersOf(e mapping.EID) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.holders[e])
}

// list is what switch name holds.
func (m *mapCache) list(name string) []mapping.EID {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.sw[name]
	if sc == nil {
		return nil
	}
	out := make([]mapping.EID, 0, len(sc.entries))
	for e := range sc.entries {
		out = append(out, e)
	}
	return out
}

// size is how many entries switch name holds.
func (m *mapCache) size(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sc := m.sw[name]; sc != nil {
		return len(sc.entries)
	}
	return 0
}

// loaded reports whether switch name's entries were read back.
func (m *mapCache) loaded(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.sw[name]
	return sc != nil && sc.loaded
}

// forget drops what switch name is believed to hold, to be read back.
func (m *mapCache) forget(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.sw[name]
	if sc == nil {
		return
	}
	for e := range sc.entries {
		m.drop(name, e)
	}
	sc.loaded, sc.pending = false, nil
}

// forgetAll is forget for every switch: a term ends or begins.
func (m *mapCache) forgetAll() {
	m.mu.Lock()
	names := make([]string, 0, len(m.sw))
	for n := range m.sw {
		names = append(names, n)
	}
	m.mu.Unlock()
	for _, n := range names {
		m.forget(n)
	}
}

// adopt replaces switch name's entries by the map-cache flows it reports,
// those keep (a remote host of an on-demand network) accepts.
func (m *mapCache) adopt(name string, flows []openflow.FlowStats, keep func(mapping.EID) bool, now time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.get(name)
	for e := range sc.entries {
		m.drop(name, e)
	}
	sc.pending = nil
	for _, f := range flows {
		e, ok := entryOf(f.Flow)
		if !ok || !keep(e) || len(sc.entries) >= m.cfg.Size {
			continue
		}
		m.hold(name, e, &cacheEntry{added: now, used: now, packets: f.PacketCount})
	}
	sc.loaded = true
	return len(sc.entries)
}

// needsRoom reports whether switch name has misses waiting for room.
func (m *mapCache) needsRoom(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.sw[name]
	return sc != nil && len(sc.pending) > 0
}

// evict makes room on switch name from its entries' counters as read now:
// an entry whose packet count grew was used now; the idlest (least
// recently used, then oldest) go, a tenth of the cap at least, and the
// waiting misses take their place. It returns every EID whose entry came
// or went.
func (m *mapCache) evict(name string, flows []openflow.FlowStats, now time.Time) []mapping.EID {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.get(name)
	for _, f := range flows {
		if e, ok := entryOf(f.Flow); ok {
			if en := sc.entries[e]; en != nil && f.PacketCount != en.packets {
				en.packets, en.used = f.PacketCount, now
			}
		}
	}
	type aged struct {
		e  mapping.EID
		en *cacheEntry
	}
	all := make([]aged, 0, len(sc.entries))
	for e, en := range sc.entries {
		all = append(all, aged{e, en})
	}
	slices.SortFunc(all, func(a, b aged) int {
		return cmp.Or(a.en.used.Compare(b.en.used), a.en.added.Compare(b.en.added), cmpMAC(a.e, b.e))
	})
	room := len(sc.entries) + len(sc.pending) - m.cfg.Size
	n := min(len(all), max(room, m.cfg.Size/evictShare, 1))
	var changed []mapping.EID
	for _, a := range all[:n] {
		m.drop(name, a.e)
		changed = append(changed, a.e)
	}
	for _, e := range sc.pending {
		if len(sc.entries) >= m.cfg.Size {
			break
		}
		if _, ok := sc.entries[e]; !ok {
			m.hold(name, e, &cacheEntry{added: now, used: now})
			changed = append(changed, e)
		}
	}
	sc.pending = nil
	return changed
}

func cmpMAC(a, b mapping.EID) int {
	return cmp.Or(cmp.Compare(a.IID, b.IID), cmp.Compare(a.MAC.Uint64(), b.MAC.Uint64()))
}

// entryOf reads the remote host a map-cache flow is for: the instance-id
// in its metadata match and its eth_dst.
func entryOf(f openflow.Flow) (mapping.EID, bool) {
	if f.Cookie&(openflow.CookieOwnerMask|openflow.CookieStageMask) != openflow.StageCookie(pipeline.StageMapCache) {
		return mapping.EID{}, false
	}
	var iid uint32
	var mac mapping.MAC
	var haveIID, haveMAC bool
	for _, o := range f.Match {
		switch {
		case o.Class == openflow.ClassOpenFlowBasic && o.Field == 2 && len(o.Value) == 8:
			iid, haveIID = uint32(binary.BigEndian.Uint64(o.Value)&pipeline.MetaIIDMask), true
		case isEthDst(o) && len(o.Value) == 6 && o.Mask == nil:
			copy(mac[:], o.Value)
			haveMAC = true
		}
	}
	if !haveIID || !haveMAC {
		return mapping.EID{}, false
	}
	return mapping.MACEID(iid, mac), true
}

// isEthDst matches eth_dst in either encoding OVS may report.
func isEthDst(o openflow.OXM) bool {
	return (o.Class == openflow.ClassOpenFlowBasic && o.Field == 3) || (o.Class == openflow.ClassNXM0 && o.Field == 1)
}
