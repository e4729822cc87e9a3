package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// LocatorInput is one RLOC as an operator gives it.
type LocatorInput struct {
	Address  string
	Priority *int64
	Weight   *int64
}

// MappingInput is a mapping as the REST API receives it.
type MappingInput struct {
	InstanceID int64
	EID        string
	Site       string
	RLOCs      []LocatorInput // empty: the site's xTRs
	TTL        *int64         // minutes
}

// ParseLocators validates operator-given RLOCs.
func ParseLocators(in []LocatorInput) ([]mapping.Locator, error) {
	out := make([]mapping.Locator, 0, len(in))
	seen := map[netip.Addr]bool{}
	for i, l := range in {
		field := fmt.Sprintf("rlocs[%d]", i)
		a, err := netip.ParseAddr(l.Address)
		if err != nil || a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() {
			return nil, invalid(field+".address", "%q is not a unicast IPv4 or IPv6 address", l.Address)
		}
		a = a.Unmap()
		if seen[a] {
			return nil, invalid(field+".address", "RLOC %s is listed twice", a)
		}
		seen[a] = true
		loc := mapping.Locator{Addr: a, Priority: 1, Weight: 100, Up: true}
		if l.Priority != nil {
			if *l.Priority < 0 || *l.Priority > 255 {
				return nil, invalid(field+".priority", "must be 0-255")
			}
			loc.Priority = uint8(*l.Priority)
		}
		if l.Weight != nil {
			if *l.Weight < 0 || *l.Weight > 255 {
				return nil, invalid(field+".weight", "must be 0-255")
			}
			loc.Weight = uint8(*l.Weight)
		}
		out = append(out, loc)
	}
	return out, nil
}

// CreateMapping validates an operator's mapping and stores it as static.
// It reports whether the EID was new.
func (c *Controller) CreateMapping(ctx context.Context, in MappingInput) (mapping.Record, bool, error) {
	rec, err := staticRecord(in)
	if err != nil {
		return mapping.Record{}, false, err
	}
	return c.SaveMapping(ctx, rec, SaveOptions{DefaultLocators: len(rec.Locators) == 0})
}

// staticRecord validates an operator's mapping.
func staticRecord(in MappingInput) (mapping.Record, error) {
	if err := validIID("instance_id", in.InstanceID); err != nil {
		return mapping.Record{}, err
	}
	eid, err := mapping.ParseEID(uint32(in.InstanceID), in.EID)
	if err != nil {
		return mapping.Record{}, invalid("eid", "%s", strings.TrimPrefix(err.Error(), mapping.ErrBadEID.Error()+": "))
	}
	locs, err := ParseLocators(in.RLOCs)
	if err != nil {
		return mapping.Record{}, err
	}
	ttl := uint32(mapping.DefaultTTL)
	if in.TTL != nil {
		if *in.TTL < 0 || *in.TTL > 0xffffffff {
			return mapping.Record{}, invalid("ttl", "must be 0-4294967295 minutes")
		}
		ttl = uint32(*in.TTL)
	}
	if in.Site == "" {
		return mapping.Record{}, invalid("site", "a site is required")
	}
	return mapping.Record{EID: eid, Locators: locs, TTL: ttl, Origin: mapping.OriginStatic, Site: in.Site}, nil
}

// SaveOptions tune SaveMapping for its callers (REST, Map-Server, learning).
type SaveOptions struct {
	DefaultLocators bool      // fill the locator set from the site's xTRs
	Expires         time.Time // zero: never (static)
}

// SaveMapping stores a record after checking that its site may hold it:
// the network exists, the site serves the instance-id and covers the
// prefix. An existing record is replaced with its version raised; a record
// that changes site is a move. It reports whether the EID was new.
func (c *Controller) SaveMapping(ctx context.Context, rec mapping.Record, opt SaveOptions) (mapping.Record, bool, error) {
	u := &saveUnit{site: rec.Site, recs: []mapping.Record{rec}, opt: opt}
	if err := c.submit(ctx, writeOp{units: []*saveUnit{u}}); err != nil {
		return rec, false, err
	}
	if u.err != nil {
		return rec, false, u.err
	}
	return u.saved[0].Record, u.saved[0].Old == nil, nil
}

func checkSiteMayHold(tx *gorm.DB, rec mapping.Record, needXTRs bool) error {
	var count int64
	if err := tx.Model(&store.Network{}).Where("instance_id = ?", rec.EID.IID).Count(&count).Error; err != nil {
		return fmt.Errorf("check network: %w", err)
	} else if count == 0 {
		return invalid("instance_id", "unknown instance-id %d", rec.EID.IID)
	}
	var row store.Site
	if err := tx.Where("name = ?", rec.Site).First(&row).Error; isNotFound(err) {
		return invalid("site", "unknown site %q", rec.Site)
	} else if err != nil {
		return fmt.Errorf("find site: %w", err)
	}
	site, err := siteFromRow(row)
	if err != nil {
		return err
	}
	if !site.Serves(rec.EID.IID) {
		return forbidden("instance_id", "site %q does not serve instance-id %d", site.Name, rec.EID.IID)
	}
	if rec.EID.Family() != mapping.FamilyMAC && !site.Covers(rec.EID.Prefix) {
		return forbidden("eid", "%s is outside the EID prefixes of site %q", rec.EID.Prefix, site.Name)
	}
	return nil
}

// DeleteMapping removes one EID record.
func (c *Controller) DeleteMapping(ctx context.Context, iid int64, eidText string) error {
	if err := validIID("instance_id", iid); err != nil {
		return err
	}
	eid, err := mapping.ParseEID(uint32(iid), eidText)
	if err != nil {
		return invalid("eid", "malformed EID %q", eidText)
	}
	return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		evs, err := deleteMappingsWhere(tx, "instance_id = ? AND eid = ?", eid.IID, eid.Address())
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			return nil, notFound("eid", "no mapping for %s in instance-id %d", eid.Address(), iid)
		}
		return evs, nil
	})
}

// deleteMappingsWhere deletes matching mappings and returns their events.
func deleteMappingsWhere(tx *gorm.DB, query string, args ...any) ([]store.Event, error) {
	var rows []store.Mapping
	if err := tx.Where(query, args...).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find mappings: %w", err)
	}
	evs := make([]store.Event, 0, len(rows))
	for _, r := range rows {
		rec, err := recordFromRow(r)
		if err != nil {
			return nil, err
		}
		if err := tx.Delete(&r).Error; err != nil {
			return nil, fmt.Errorf("delete mapping: %w", err)
		}
		ev := newEvent(EvMappingDeleted, rec)
		ev.InstanceID, ev.EID, ev.Site, ev.XTR = iidPtr(r.InstanceID), r.EID, r.Site, r.XTR
		evs = append(evs, ev)
	}
	return evs, nil
}

// MappingFilter selects mappings for listing.
type MappingFilter struct {
	InstanceID *uint32
	Site       string
	Origin     string
	Family     string // mac, ipv4 or ipv6
	Text       string // substring of the EID
	Limit      int
	Offset     int
}

// ListMappings pages through the mappings, ordered by instance-id and EID.
func (c *Controller) ListMappings(ctx context.Context, f MappingFilter) ([]mapping.Record, int64, error) {
	q := c.db.WithContext(ctx).Model(&store.Mapping{})
	if f.InstanceID != nil {
		q = q.Where("instance_id = ?", *f.InstanceID)
	}
	if f.Site != "" {
		q = q.Where("site = ?", f.Site)
	}
	if f.Origin != "" {
		q = q.Where("origin = ?", f.Origin)
	}
	if f.Family != "" {
		q = q.Where("family = ?", f.Family)
	}
	if f.Text != "" {
		q = q.Where("eid LIKE ?", "%"+strings.NewReplacer("%", `\%`, "_", `\_`).Replace(f.Text)+"%")
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count mappings: %w", err)
	}
	var rows []store.Mapping
	if err := q.Order("instance_id, eid").Limit(f.Limit).Offset(f.Offset).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("list mappings: %w", err)
	}
	out := make([]mapping.Record, 0, len(rows))
	for _, r := range rows {
		rec, err := recordFromRow(r)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c.liveRecord(rec))
	}
	return out, total, nil
}

// LookupResult is a Map-Resolver answer: a record, or a negative answer
// with the covering non-EID prefix.
type LookupResult struct {
	Record   *mapping.Record
	Negative bool
	Prefix   netip.Prefix
	Action   string
	TTL      uint32
}

// Lookup resolves an EID (MAC, IP address or prefix) in an instance-id.
func (c *Controller) Lookup(iid int64, eidText string) (LookupResult, error) {
	if err := validIID("instance_id", iid); err != nil {
		return LookupResult{}, err
	}
	eid, err := mapping.ParseEID(uint32(iid), eidText)
	if err != nil {
		return LookupResult{}, invalid("eid", "malformed EID %q", eidText)
	}
	if rec, ok := c.idx.Lookup(eid); ok {
		rec = c.liveRecord(rec)
		return LookupResult{Record: &rec}, nil
	}
	res := LookupResult{Negative: true, Action: "natively-forward", TTL: mapping.NegativeTTL}
	if eid.Family() == mapping.FamilyMAC {
		return res, nil
	}
	if p, ok := c.idx.Negative(eid.IID, eid.Prefix.Addr()); ok {
		res.Prefix = p
	}
	return res, nil
}

func rowFromRecord(r mapping.Record, expires time.Time) store.Mapping {
	row := store.Mapping{InstanceID: r.EID.IID, EID: r.EID.Address(), Family: r.EID.Family().String(),
		Locators: string(mapping.AppendLocatorsJSON(nil, r.Locators)), TTL: r.TTL, Origin: string(r.Origin), Site: r.Site, XTR: r.XTR,
		Port: r.Port, NoProxy: r.NoProxy, Frozen: r.Frozen, Version: r.Version, UpdatedAt: r.UpdatedAt}
	if r.HasMAC() {
		row.MAC = r.MAC.String()
	}
	if !expires.IsZero() {
		e := expires.UTC()
		row.ExpiresAt = &e
	}
	return row
}

func recordFromRow(r store.Mapping) (mapping.Record, error) {
	eid, err := mapping.ParseEID(r.InstanceID, r.EID)
	if err != nil {
		return mapping.Record{}, fmt.Errorf("stored mapping %d %s: %w", r.InstanceID, r.EID, err)
	}
	rec := mapping.Record{EID: eid, TTL: r.TTL, Origin: mapping.Origin(r.Origin), Site: r.Site,
		XTR: r.XTR, Port: r.Port, NoProxy: r.NoProxy, Frozen: r.Frozen, Version: r.Version, UpdatedAt: r.UpdatedAt}
	if r.MAC != "" {
		if rec.MAC, err = mapping.ParseMAC(r.MAC); err != nil {
			return rec, fmt.Errorf("stored mapping %d %s mac: %w", r.InstanceID, r.EID, err)
		}
	}
	if err := json.Unmarshal([]byte(r.Locators), &rec.Locators); err != nil {
		return rec, fmt.Errorf("stored mapping %d %s locators: %w", r.InstanceID, r.EID, err)
	}
	return rec, nil
}
