package controller

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
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
	var out []Registered
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		out = out[:0]
		sites := map[string]*Site{}
		self, err := siteByName(tx, sites, site)
		if err != nil {
			return nil, err
		}
		if self == nil {
			return nil, notFound("site", "no site named %q", site)
		}
		evs := make([]store.Event, 0, len(recs))
		for _, rec := range recs {
			rec.Site, rec.Origin = site, mapping.OriginRegistered
			old, err := c.mayRegister(tx, sites, self, &rec)
			if err != nil {
				return nil, err
			}
			var prev *mapping.Record
			if old != nil {
				r, err := recordFromRow(*old)
				if err != nil {
					return nil, err
				}
				prev = &r
			}
			ev, err := saveRecord(tx, &rec, old, expires)
			if err != nil {
				return nil, err
			}
			evs = append(evs, ev)
			out = append(out, Registered{Record: rec, Old: prev})
		}
		return evs, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mayRegister applies the authority rule to one record and returns the
// row it replaces.
func (c *Controller) mayRegister(tx *gorm.DB, sites map[string]*Site, self *Site, rec *mapping.Record) (*store.Mapping, error) {
	refused := func(why Refusal, owner string) error {
		return &RefusedError{Reason: why, Site: self.Name, EID: rec.EID, Owner: owner}
	}
	if why := self.ScopeRefusal(rec); why != "" {
		return nil, refused(why, "")
	}
	old, err := findRow(tx, rec.EID)
	if err != nil {
		return nil, err
	}
	if old != nil {
		oldSite, err := siteByName(tx, sites, old.Site)
		if err != nil {
			return nil, err
		}
		held := mapping.Record{EID: rec.EID, Origin: mapping.Origin(old.Origin), Site: old.Site}
		if why := ReplaceRefusal(self.Name, &held, true, oldSite); why != "" {
			return nil, refused(why, old.Site)
		}
		return old, nil
	}
	// A more specific IP EID inside another site's static prefix would
	// take part of it over. The index knows the covering prefixes; it may
	// lag the database by the changes of this very batch, no more.
	if rec.EID.Family() != mapping.FamilyMAC {
		if cov, ok := c.idx.Lookup(rec.EID); ok && cov.EID != rec.EID {
			if why := ReplaceRefusal(self.Name, &cov, false, nil); why != "" {
				return nil, refused(why, cov.Site)
			}
		}
	}
	return nil, nil
}

// siteByName reads a site within the transaction, once per name; nil if
// there is no such site.
func siteByName(tx *gorm.DB, cache map[string]*Site, name string) (*Site, error) {
	if s, ok := cache[name]; ok {
		return s, nil
	}
	var rows []store.Site
	if err := tx.Where("name = ?", name).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find site: %w", err)
	}
	var s *Site
	if len(rows) > 0 {
		v, err := siteFromRow(rows[0])
		if err != nil {
			return nil, err
		}
		s = &v
	}
	cache[name] = s
	return s, nil
}
