package mapserver

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"sync"
)

// limWays is the associativity of the limiter's table: each address can
// live in one of limWays slots of its set.
const limWays = 8

// rateLimiter is a token bucket per address in a fixed-size, set-associative
// table: memory is bounded whatever the number of sources, and the least
// recently used address of a full set is evicted. The hash is seeded so a
// flood cannot aim at the set of a chosen victim.
type rateLimiter struct {
	rate  float64 // tokens per second; <= 0 disables limiting
	burst float64
	seed  uint64
	sets  []limSet
	mask  uint64
}

type limSet struct {
	mu   sync.Mutex
	ents [limWays]limEntry
}

type limEntry struct {
	addr   netip.Addr
	tokens float64
	last   int64 // nanoseconds on the caller's monotonic clock
}

func newRateLimiter(rate float64, burst, sources int) *rateLimiter {
	if burst < 1 {
		burst = 1
	}
	nsets := max(1, (sources+limWays-1)/limWays)
	nsets = 1 << bits.Len(uint(nsets-1)) // power of two
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	return &rateLimiter{rate: rate, burst: float64(burst), seed: binary.LittleEndian.Uint64(seed[:]),
		sets: make([]limSet, nsets), mask: uint64(nsets - 1)}
}

// capacity is how many sources the table tracks at once.
func (l *rateLimiter) capacity() int { return len(l.sets) * limWays }

func (l *rateLimiter) hash(a netip.Addr) uint64 {
	b := a.As16()
	h := binary.LittleEndian.Uint64(b[:8]) ^ l.seed
	h = (h ^ h>>33) * 0xff51afd7ed558ccd
	h ^= binary.LittleEndian.Uint64(b[8:])
	h = (h ^ h>>33) * 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

// allow takes one token from a's bucket at time now (nanoseconds).
func (l *rateLimiter) allow(a netip.Addr, now int64) bool {
	if l.rate <= 0 {
		return true
	}
	s := &l.sets[l.hash(a)&l.mask]
	s.mu.Lock()
	defer s.mu.Unlock()
	victim := -1
	for i := range s.ents {
		e := &s.ents[i]
		if e.addr == a {
			return l.take(e, now)
		}
		if victim >= 0 && !s.ents[victim].addr.IsValid() {
			continue // keep the free slot already found
		}
		if victim < 0 || !e.addr.IsValid() || e.last < s.ents[victim].last {
			victim = i
		}
	}
	// New source: start with a full bucket in the least recently used slot.
	s.ents[victim] = limEntry{addr: a, tokens: l.burst, last: now}
	return l.take(&s.ents[victim], now)
}

func (l *rateLimiter) take(e *limEntry, now int64) bool {
	if dt := now - e.last; dt > 0 {
		e.tokens = min(l.burst, e.tokens+float64(dt)*l.rate/1e9)
	}
	e.last = now
	if e.tokens < 1 {
		return false
	}
	e.tokens--
	return true
}

// exhausted reports whether a's bucket holds less than one token at now,
// without taking one; an address not in the table is not exhausted and is
// not added, so only charged addresses take room.
func (l *rateLimiter) exhausted(a netip.Addr, now int64) bool {
	if l.rate <= 0 {
		return false
	}
	s := &l.sets[l.hash(a)&l.mask]
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.ents {
		if e := &s.ents[i]; e.addr == a {
			tokens := e.tokens
			if dt := now - e.last; dt > 0 {
				tokens = min(l.burst, tokens+float64(dt)*l.rate/1e9)
			}
			return tokens < 1
		}
	}
	return false
}
