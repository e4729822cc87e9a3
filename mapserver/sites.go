package mapserver

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// siteRefresh is how stale the site list may get while other changes
// stream through the feed; a refusal looks again (see fresh), at most
// every siteRetry so a flood of refusals cannot make every packet rebuild.
const (
	siteRefresh = 100 * time.Millisecond
	siteRetry   = 5 * time.Millisecond
)

// siteSnap is the site list as of one feed position, indexed for the
// choice of the one site whose key a Map-Register is checked with.
type siteSnap struct {
	sites     []controller.Site
	names     map[string]int32
	scopes    map[uint32]*iidScope   // per instance-id: who may register what
	xtrs      map[netip.Addr][]int32 // xTR RLOC -> its site
	rlocSites rlocIndex              // rloc_prefixes -> their sites
	unfenced  []int32                // sites without rloc_prefixes
	eventID   int64
	built     time.Time
}

// siteCache keeps the sites (with their keys) out of the controller's lock
// on the register hot path. It rebuilds when the feed has moved, at most
// every siteRefresh, or sooner when a register is about to be refused.
type siteCache struct {
	ctl *controller.Controller
	p   atomic.Pointer[siteSnap]
	mu  sync.Mutex
}

func (c *siteCache) get(now time.Time) *siteSnap {
	s := c.p.Load()
	if s == nil || now.Sub(s.built) > siteRefresh && c.ctl.LastEventID() != s.eventID {
		return c.rebuild(now)
	}
	return s
}

// fresh returns a snapshot that reflects every applied event, rebuilding
// if s is behind and was not built within siteRetry.
func (c *siteCache) fresh(s *siteSnap, now time.Time) *siteSnap {
	if c.ctl.LastEventID() == s.eventID || now.Sub(s.built) < siteRetry {
		return s
	}
	return c.rebuild(now)
}

func (c *siteCache) rebuild(now time.Time) *siteSnap {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.ctl.LastEventID()
	if s := c.p.Load(); s != nil && s.eventID == id {
		return s // another reader just did it
	}
	s := newSiteSnap(c.ctl.Sites(), c.ctl.XTRs())
	s.eventID, s.built = id, now
	c.p.Store(s)
	return s
}

func newSiteSnap(sites []controller.Site, xtrs []controller.XTR) *siteSnap {
	s := &siteSnap{sites: sites, names: make(map[string]int32, len(sites)), scopes: map[uint32]*iidScope{},
		xtrs: make(map[netip.Addr][]int32, len(xtrs))}
	for i := range sites {
		st := &sites[i]
		s.names[st.Name] = int32(i)
		for _, iid := range st.Networks {
			sc := s.scopes[iid]
			if sc == nil {
				sc = &iidScope{}
				s.scopes[iid] = sc
			}
			sc.add(int32(i), st)
		}
		for _, p := range st.RLOCPrefixes {
			s.rlocSites.add(p, int32(i))
		}
		if len(st.RLOCPrefixes) == 0 {
			s.unfenced = append(s.unfenced, int32(i))
		}
	}
	s.rlocSites.v4.sortLens()
	s.rlocSites.v6.sortLens()
	for _, sc := range s.scopes {
		sc.v4.sortLens()
		sc.v6.sortLens()
		sc.mac.sortLens()
	}
	for _, x := range xtrs {
		if i, ok := s.names[x.Site]; ok {
			s.xtrs[x.RLOC.Unmap()] = append(s.xtrs[x.RLOC.Unmap()], i)
		}
	}
	return s
}

func (s *siteSnap) byName(name string) (*controller.Site, bool) {
	i, ok := s.names[name]
	if !ok {
		return nil, false
	}
	return &s.sites[i], true
}

// iidScope indexes the scopes of the sites serving one instance-id by
// prefix length, so that finding the sites that hold an EID costs one
// map lookup per distinct length, whatever the number of sites.
type iidScope struct {
	v4, v6 lenIndex[netip.Prefix]
	mac    lenIndex[mapping.MACPrefix]
	anyMAC []int32
}

func (sc *iidScope) add(i int32, st *controller.Site) {
	for _, p := range st.EIDPrefixes {
		if p.Addr().Is4() {
			sc.v4.add(p, p.Bits(), i)
		} else {
			sc.v6.add(p, p.Bits(), i)
		}
	}
	for _, p := range st.MACPrefixes {
		sc.mac.add(p, p.Bits, i)
	}
	if st.AnyMAC {
		sc.anyMAC = append(sc.anyMAC, i)
	}
}

// ipIndex is the index of e's address family.
func (sc *iidScope) ipIndex(e mapping.EID) *lenIndex[netip.Prefix] {
	if e.Prefix.Addr().Is4() {
		return &sc.v4
	}
	return &sc.v6
}

// count is how many entries of the index hold e (a site may count more
// than once): how much looking at e's holders costs.
func (sc *iidScope) count(e mapping.EID) int {
	n := 0
	sc.each(e, func(sites []int32) { n += len(sites) })
	return n
}

// appendHolders appends the sites whose scope holds e (with repeats).
func (sc *iidScope) appendHolders(out []int32, e mapping.EID) []int32 {
	sc.each(e, func(sites []int32) { out = append(out, sites...) })
	return out
}

// each calls fn with the sites holding e at each scope length.
func (sc *iidScope) each(e mapping.EID, fn func([]int32)) {
	if e.Family() == mapping.FamilyMAC {
		for _, l := range sc.mac.lens {
			fn(sc.mac.m[mapping.MACPrefix{Addr: e.MAC, Bits: l}.Masked()])
		}
		fn(sc.anyMAC)
		return
	}
	x := sc.ipIndex(e)
	for _, l := range x.lens {
		if l <= e.Prefix.Bits() {
			fn(x.m[netip.PrefixFrom(e.Prefix.Addr(), l).Masked()])
		}
	}
}

// lenIndex maps each prefix of the scopes to the sites holding it, and
// keeps the prefix lengths present, longest first.
type lenIndex[K comparable] struct {
	lens []int
	m    map[K][]int32
}

func (x *lenIndex[K]) add(k K, bits int, site int32) {
	if x.m == nil {
		x.m = map[K][]int32{}
	}
	if !slices.Contains(x.lens, bits) {
		x.lens = append(x.lens, bits)
	}
	if !slices.Contains(x.m[k], site) {
		x.m[k] = append(x.m[k], site)
	}
}

func (x *lenIndex[K]) sortLens() { slices.Sort(x.lens); slices.Reverse(x.lens) }

// rlocIndex finds the sites whose rloc_prefixes hold an address.
type rlocIndex struct{ v4, v6 lenIndex[netip.Prefix] }

func (x *rlocIndex) add(p netip.Prefix, site int32) {
	if p.Addr().Is4() {
		x.v4.add(p, p.Bits(), site)
	} else {
		x.v6.add(p, p.Bits(), site)
	}
}

// appendHolders appends the sites whose rloc_prefixes hold a.
func (x *rlocIndex) appendHolders(out []int32, a netip.Addr) []int32 {
	if !a.IsValid() {
		return out
	}
	l := &x.v6
	if a.Is4() {
		l = &x.v4
	}
	for _, bits := range l.lens {
		out = append(out, l.m[netip.PrefixFrom(a, bits).Masked()]...)
	}
	return out
}

// Bounds of an authCache (about 600 bytes a key); keys change rarely, so
// a full cache is simply dropped. A reader's is sized so that a flood
// aimed at every site of a large deployment in turn still finds the keys'
// HMAC state ready instead of building it for every packet; a worker only
// signs for sites that authenticated.
const (
	readerAuthKeys = 4096
	workerAuthKeys = 64
)

// authCache holds one Authenticator per site key for one goroutine (an
// Authenticator is not safe for concurrent use).
type authCache struct {
	m   map[string]*packet.Authenticator
	max int
}

func newAuthCache(max int) authCache {
	return authCache{m: map[string]*packet.Authenticator{}, max: max}
}

func (a authCache) get(key string) *packet.Authenticator {
	if au, ok := a.m[key]; ok {
		return au
	}
	if len(a.m) >= a.max {
		clear(a.m)
	}
	au := packet.NewAuthenticator([]byte(key))
	a.m[key] = au
	return au
}
