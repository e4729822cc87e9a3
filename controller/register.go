package controller

import (
	"context"
	"time"

	"github.com/l2lisp/l2lisp/mapping"
)

// Registered is one record a registration stored, with the record it
// replaced (nil for a new EID).
type Registered struct {
	Record mapping.Record
	Old    *mapping.Record
}

// RegisterMappings stores the records of one authenticated Map-Register
// of site, all or none, as registered records that lapse at expires. It
// applies the registration authority inside the transaction, against the
// rows themselves, so a static mapping or a scope change committed after
// the Map-Server looked is still respected: a record outside the site's
// scope, an operator's static mapping (or a more specific cut out of a
// static prefix of another site) and another site's record that its
// own scope does not hold are refused with a *RefusedError, and nothing
// is stored.
func (c *Controller) RegisterMappings(ctx context.Context, site string, recs []mapping.Record, expires time.Time) ([]Registered, error) {
	res := c.RegisterMany(ctx, []Registration{{Site: site, Records: recs, Expires: expires}})
	return res[0].Saved, res[0].Err
}

// Registration is the records of one authenticated Map-Register of Site,
// stored as registered records that lapse at Expires.
type Registration struct {
	Site    string
	Records []mapping.Record
	Expires time.Time
}

// RegisterResult is what became of one Registration: the records stored,
// or why none was.
type RegisterResult struct {
	Saved []Registered
	Err   error
}

// RegisterMany stores several Map-Registers with one write, each all or
// none under the rules of RegisterMappings, and returns once they are
// committed; each event's actor is its site. The Map-Server's workers
// hand it everything that queued while the previous write committed.
func (c *Controller) RegisterMany(ctx context.Context, regs []Registration) []RegisterResult {
	units := make([]*saveUnit, len(regs))
	for i, r := range regs {
		units[i] = &saveUnit{site: r.Site, recs: r.Records, register: true, expires: r.Expires, actor: ActorSite(r.Site)}
	}
	err := c.submit(ctx, writeOp{units: units})
	out := make([]RegisterResult, len(regs))
	for i, u := range units {
		switch {
		case err != nil:
			out[i].Err = err
		case u.err != nil:
			out[i].Err = u.err
		default:
			out[i].Saved = u.saved
		}
	}
	return out
}
