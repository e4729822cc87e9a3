package controller

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// validName checks a name of a network, site, xTR or port: what OVS, URLs
// and shells all take without quoting.
func validName(field, s string) error {
	if !nameRE.MatchString(s) {
		return invalid(field, "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}

func validIID(field string, iid int64) error {
	if iid < 0 || iid > mapping.MaxIID {
		return invalid(field, "instance-id must be 0-%d", mapping.MaxIID)
	}
	return nil
}

func iidPtr(v uint32) *uint32 { return &v }

// SiteInput is what an operator gives to create or change a site; nil
// fields are left as they are.
type SiteInput struct {
	Name         string
	AuthKey      *string
	Networks     *[]int64
	EIDPrefixes  *[]string
	MACPrefixes  *[]string
	AnyMAC       *bool
	RLOCPrefixes *[]string
}

// CreateSite adds a site.
func (c *Controller) CreateSite(ctx context.Context, in SiteInput) (Site, error) {
	if err := validName("name", in.Name); err != nil {
		return Site{}, err
	}
	if in.AuthKey == nil || len(*in.AuthKey) < 8 {
		return Site{}, invalid("auth_key", "an authentication key of at least 8 characters is required")
	}
	now := time.Now().UTC()
	s := Site{Name: in.Name, CreatedAt: now, UpdatedAt: now}
	var out Site
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var count int64
		if err := tx.Model(&store.Site{}).Where("name = ?", in.Name).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check site: %w", err)
		} else if count > 0 {
			return nil, conflict("name", "a site named %q exists", in.Name)
		}
		var err error
		if out, err = applySiteInput(tx, s, in); err != nil {
			return nil, err
		}
		row := siteToRow(out)
		if err := tx.Create(&row).Error; err != nil {
			return nil, fmt.Errorf("create site: %w", err)
		}
		ev := newEvent(EvSiteCreated, out)
		ev.Site = out.Name
		return []store.Event{ev}, nil
	})
	return out, err
}

// UpdateSite changes the given fields of a site.
func (c *Controller) UpdateSite(ctx context.Context, in SiteInput) (Site, error) {
	var out Site
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var row store.Site
		if err := tx.Where("name = ?", in.Name).First(&row).Error; isNotFound(err) {
			return nil, notFound("name", "no site named %q", in.Name)
		} else if err != nil {
			return nil, fmt.Errorf("find site: %w", err)
		}
		s, err := siteFromRow(row)
		if err != nil {
			return nil, err
		}
		if in.AuthKey != nil && len(*in.AuthKey) < 8 {
			return nil, invalid("auth_key", "an authentication key needs at least 8 characters")
		}
		if out, err = applySiteInput(tx, s, in); err != nil {
			return nil, err
		}
		out.UpdatedAt = time.Now().UTC()
		row = siteToRow(out)
		if err := tx.Save(&row).Error; err != nil {
			return nil, fmt.Errorf("update site: %w", err)
		}
		ev := newEvent(EvSiteUpdated, out)
		ev.Site = out.Name
		return []store.Event{ev}, nil
	})
	return out, err
}

// applySiteInput validates the optional fields against the database.
func applySiteInput(tx *gorm.DB, s Site, in SiteInput) (Site, error) {
	if in.AuthKey != nil {
		s.AuthKey = *in.AuthKey
	}
	if in.Networks != nil {
		s.Networks = make([]uint32, 0, len(*in.Networks))
		for _, iid := range *in.Networks {
			if err := validIID("networks", iid); err != nil {
				return s, err
			}
			var count int64
			if err := tx.Model(&store.Network{}).Where("instance_id = ?", iid).Count(&count).Error; err != nil {
				return s, fmt.Errorf("check network: %w", err)
			} else if count == 0 {
				return s, invalid("networks", "unknown instance-id %d", iid)
			}
			s.Networks = append(s.Networks, uint32(iid))
		}
	}
	if in.EIDPrefixes != nil {
		s.EIDPrefixes = make([]netip.Prefix, 0, len(*in.EIDPrefixes))
		for _, p := range *in.EIDPrefixes {
			pfx, err := netip.ParsePrefix(p)
			if err != nil || pfx.Addr().Zone() != "" {
				return s, invalid("eid_prefixes", "malformed prefix %q", p)
			}
			s.EIDPrefixes = append(s.EIDPrefixes, pfx.Masked())
		}
	}
	if err := applyScope(&s, in); err != nil {
		return s, err
	}
	return s.withEmptyLists(), nil
}

// DeleteSite removes a site that has no xTRs left; its mappings go with it.
func (c *Controller) DeleteSite(ctx context.Context, name string) error {
	return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var row store.Site
		if err := tx.Where("name = ?", name).First(&row).Error; isNotFound(err) {
			return nil, notFound("name", "no site named %q", name)
		} else if err != nil {
			return nil, fmt.Errorf("find site: %w", err)
		}
		var count int64
		if err := tx.Model(&store.XTR{}).Where("site = ?", name).Count(&count).Error; err != nil {
			return nil, fmt.Errorf("check xtrs: %w", err)
		} else if count > 0 {
			return nil, conflict("name", "site %q still has %d xTRs; delete them first", name, count)
		}
		evs, err := deleteMappingsWhere(tx, "site = ?", name)
		if err != nil {
			return nil, err
		}
		if err := tx.Delete(&row).Error; err != nil {
			return nil, fmt.Errorf("delete site: %w", err)
		}
		ev := newEvent(EvSiteDeleted, map[string]string{"name": name})
		ev.Site = name
		return append(evs, ev), nil
	})
}

// newDatapathID picks a random datapath-id with our owner prefix, so the
// OpenFlow listener can tell which xTR a connection is.
func newDatapathID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return 0x4c32<<48 | binary.BigEndian.Uint64(b[:])&(1<<48-1)
}
