package mapserver

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/l2lisp/l2lisp/controller"
	"github.com/l2lisp/l2lisp/mapserver/packet"
)

// siteRefresh is how stale the site list may get while other changes
// stream through the feed; a refusal always looks again (see match).
const siteRefresh = 100 * time.Millisecond

// siteSnap is the site list as of one feed position.
type siteSnap struct {
	sites   []controller.Site
	eventID int64
	built   time.Time
}

// siteCache keeps the sites (with their keys) out of the controller's lock
// on the register hot path. It rebuilds when the feed has moved, at most
// every siteRefresh, or at once when a register is about to be refused.
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
// if s is behind.
func (c *siteCache) fresh(s *siteSnap, now time.Time) *siteSnap {
	if c.ctl.LastEventID() == s.eventID {
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
	s := &siteSnap{sites: c.ctl.Sites(), eventID: id, built: now}
	c.p.Store(s)
	return s
}

func (s *siteSnap) byName(name string) (*controller.Site, bool) {
	for i := range s.sites {
		if s.sites[i].Name == name {
			return &s.sites[i], true
		}
	}
	return nil, false
}

// maxAuthKeys bounds an authCache; keys change rarely, so a full cache is
// simply dropped.
const maxAuthKeys = 256

// authCache holds one Authenticator per site key for one goroutine (an
// Authenticator is not safe for concurrent use).
type authCache map[string]*packet.Authenticator

func (a authCache) get(key string) *packet.Authenticator {
	if au, ok := a[key]; ok {
		return au
	}
	if len(a) >= maxAuthKeys {
		clear(a)
	}
	au := packet.NewAuthenticator([]byte(key))
	a[key] = au
	return au
}
