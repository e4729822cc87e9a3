package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/l2lisp/l2lisp/mapping"
	"github.com/l2lisp/l2lisp/store"
)

// Subscription is an xTR's RFC 9437 subscription to an EID-prefix: the
// Map-Server notifies it of every change of a mapping the prefix covers (or
// that covers the prefix). The nonce is the sequence shared with the xTR;
// it is replay protection and never leaves the controller.
type Subscription struct {
	XTRID       string       `json:"xtr_id"`  // 128 bits, 32 hex digits
	SiteID      string       `json:"site_id"` // 64 bits, 16 hex digits
	Site        string       `json:"site"`    // the subscriber's site, whose key signs its Map-Notifies
	InstanceID  uint32       `json:"instance_id"`
	EID         string       `json:"eid"` // the EID-prefix subscribed to
	ITRRLOCs    []netip.Addr `json:"itr_rlocs"`
	Port        uint16       `json:"port"` // UDP port the Map-Notifies go to
	TTL         uint32       `json:"ttl"`  // minutes: the lifetime, from the answer it got
	CreatedAt   time.Time    `json:"created_at"`
	RefreshedAt time.Time    `json:"refreshed_at"`
	ExpiresAt   time.Time    `json:"expires_at"`
	Nonce       uint64       `json:"-"`
}

// SubKey names one subscription.
type SubKey struct {
	XTRID string
	IID   uint32
	EID   string
}

// Key is the subscription's name.
func (s Subscription) Key() SubKey { return SubKey{s.XTRID, s.InstanceID, s.EID} }

// Prefix is the EID-prefix subscribed to.
func (s Subscription) Prefix() (mapping.EID, error) { return mapping.ParseEID(s.InstanceID, s.EID) }

// ErrReplay is a subscription request whose nonce is not greater than the
// stored one (RFC 9437 §5): dropped as a possible replay.
var ErrReplay = errors.New("subscription nonce not greater than the stored one")

// Subscription change events.
const (
	EvSubscriptionCreated   = "subscription.created"
	EvSubscriptionRefreshed = "subscription.refreshed"
	EvSubscriptionDeleted   = "subscription.deleted"
	EvSubscriptionRefused   = "subscription.refused"
	// EvNotifyUnacked is an unsolicited Map-Notify given up on: no valid
	// Map-Notify-Ack came back after every retransmission.
	EvNotifyUnacked = "map-notify.unacknowledged"
)

// subDeleted is the data of a subscription.deleted event.
type subDeleted struct {
	Subscription
	Reason string `json:"reason"` // unsubscribed or expired
}

// SaveSubscription creates or refreshes a subscription, after checking the
// RFC 9437 replay rule inside the transaction: a refresh must carry a nonce
// greater than the stored one, which publications have been raising. It
// reports whether the subscription is new.
func (c *Controller) SaveSubscription(ctx context.Context, s Subscription) (bool, error) {
	if _, err := s.Prefix(); err != nil {
		return false, invalid("eid", "malformed EID-prefix %q", s.EID)
	}
	created := false
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var old []store.Subscription
		if err := tx.Where("xtr_id = ? AND instance_id = ? AND eid = ?", s.XTRID, s.InstanceID, s.EID).
			Limit(1).Find(&old).Error; err != nil {
			return nil, fmt.Errorf("find subscription: %w", err)
		}
		typ := EvSubscriptionCreated
		created = len(old) == 0
		save := tx.Create
		if !created {
			if s.Nonce <= uint64(old[0].Nonce) {
				return nil, ErrReplay
			}
			s.CreatedAt, typ, save = old[0].CreatedAt, EvSubscriptionRefreshed, tx.Save
		}
		row := subToRow(s)
		if err := save(&row).Error; err != nil {
			return nil, fmt.Errorf("save subscription: %w", err)
		}
		return []store.Event{subEvent(typ, s)}, nil
	})
	return created, err
}

func subEvent(typ string, data any) store.Event {
	var s Subscription
	switch d := data.(type) {
	case Subscription:
		s = d
	case subDeleted:
		s = d.Subscription
	}
	ev := newEvent(typ, data)
	ev.InstanceID, ev.EID, ev.Site = iidPtr(s.InstanceID), s.EID, s.Site
	return ev
}

// SubscriptionNonce reads the current nonce of one subscription from the
// database (not the cache: publications raise it without an event).
func (c *Controller) SubscriptionNonce(ctx context.Context, k SubKey) (uint64, bool, error) {
	var rows []store.Subscription
	if err := c.db.WithContext(ctx).Where("xtr_id = ? AND instance_id = ? AND eid = ?", k.XTRID, k.IID, k.EID).
		Limit(1).Find(&rows).Error; err != nil {
		return 0, false, fmt.Errorf("read subscription: %w", err)
	}
	if len(rows) == 0 {
		return 0, false, nil
	}
	return uint64(rows[0].Nonce), true, nil
}

// Unsubscribe removes a subscription at the xTR's request; nonce must be
// greater than the stored one, as for a refresh.
func (c *Controller) Unsubscribe(ctx context.Context, k SubKey, nonce uint64) error {
	return c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		var rows []store.Subscription
		if err := tx.Where("xtr_id = ? AND instance_id = ? AND eid = ?", k.XTRID, k.IID, k.EID).
			Limit(1).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("find subscription: %w", err)
		}
		if len(rows) == 0 {
			return nil, notFound("eid", "no subscription of %s to %s", k.XTRID, k.EID)
		}
		if nonce <= uint64(rows[0].Nonce) {
			return nil, ErrReplay
		}
		return deleteSubRows(tx, rows, "unsubscribed")
	})
}

func deleteSubRows(tx *gorm.DB, rows []store.Subscription, reason string) ([]store.Event, error) {
	evs := make([]store.Event, 0, len(rows))
	for _, r := range rows {
		if err := tx.Where("xtr_id = ? AND instance_id = ? AND eid = ?", r.XTRID, r.InstanceID, r.EID).
			Delete(&store.Subscription{}).Error; err != nil {
			return nil, fmt.Errorf("delete subscription: %w", err)
		}
		s, err := subFromRow(r)
		if err != nil {
			return nil, err
		}
		evs = append(evs, subEvent(EvSubscriptionDeleted, subDeleted{Subscription: s, Reason: reason}))
	}
	return evs, nil
}

// expireSubRows bounds the subscriptions one expiry op deletes.
const expireSubRows = 500

// ExpireSubscriptions deletes the subscriptions not refreshed within their
// TTL, through the change feed. It returns how many were deleted.
func (c *Controller) ExpireSubscriptions(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
			var rows []store.Subscription
			if err := tx.Where("expires_at < ?", now.UTC()).Limit(expireSubRows).Find(&rows).Error; err != nil {
				return nil, fmt.Errorf("find expired subscriptions: %w", err)
			}
			n = len(rows)
			return deleteSubRows(tx, rows, "expired")
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < expireSubRows {
			return total, nil
		}
	}
}

// nextNonceSQL adds one to the nonce's uint64 bit pattern: past the
// largest int64 it wraps to the smallest, as uint64 arithmetic does,
// instead of overflowing the SQL integer.
const nextNonceSQL = "CASE WHEN nonce = 9223372036854775807 THEN -9223372036854775808 ELSE nonce + 1 END"

// subStmtRows bounds the EIDs of one IN (...) list.
const subStmtRows = 500

// NextNonces is the publication step of RFC 9437 §6: it raises by one the
// nonce of every live subscription to the given EID-prefixes of one
// instance-id and returns those subscriptions with their new nonces, read
// in the same transaction, so the recipients are exactly the subscriptions
// the database holds. The nonce is bookkeeping between the Map-Server and
// each xTR, not state a reader sees, so like an expiry refresh it writes
// no event (TouchMappings does the same).
func (c *Controller) NextNonces(ctx context.Context, iid uint32, eids []string, now time.Time) ([]Subscription, error) {
	var out []Subscription
	err := c.write(ctx, func(tx *gorm.DB) ([]store.Event, error) {
		out = out[:0]
		for len(eids) > 0 {
			chunk := eids[:min(len(eids), subStmtRows)]
			eids = eids[len(chunk):]
			// RETURNING (SQLite 3.35+, PostgreSQL) reads the rows back in
			// the same statement.
			var rows []store.Subscription
			if err := tx.Model(&rows).Clauses(clause.Returning{}).
				Where("instance_id = ? AND eid IN ? AND expires_at >= ?", iid, chunk, now.UTC()).
				Update("nonce", gorm.Expr(nextNonceSQL)).Error; err != nil {
				return nil, fmt.Errorf("raise subscription nonces: %w", err)
			}
			for _, r := range rows {
				s, err := subFromRow(r)
				if err != nil {
					return nil, err
				}
				out = append(out, s)
			}
		}
		return nil, nil
	})
	return out, err
}

// SubFilter selects subscriptions for listing.
type SubFilter struct {
	InstanceID *uint32
	Site       string
	XTRID      string
	Limit      int
	Offset     int
}

// Subscriptions pages through the subscriptions, ordered by instance-id,
// EID and xTR-ID, from the cache every replica keeps from the feed.
func (c *Controller) Subscriptions(f SubFilter) ([]Subscription, int) {
	all := c.lispSubs.list(func(s *Subscription) bool {
		return (f.InstanceID == nil || s.InstanceID == *f.InstanceID) && (f.Site == "" || s.Site == f.Site) &&
			(f.XTRID == "" || s.XTRID == f.XTRID)
	})
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.InstanceID != b.InstanceID {
			return a.InstanceID < b.InstanceID
		}
		if a.EID != b.EID {
			return a.EID < b.EID
		}
		return a.XTRID < b.XTRID
	})
	total := len(all)
	lo := min(max(f.Offset, 0), total)
	hi := total
	if f.Limit > 0 {
		hi = min(lo+f.Limit, total)
	}
	return all[lo:hi], total
}

// SubscriptionByKey returns one subscription from the cache.
func (c *Controller) SubscriptionByKey(k SubKey) (Subscription, bool) { return c.lispSubs.get(k) }

// SubscriptionCount is how many subscriptions exist.
func (c *Controller) SubscriptionCount() int { return c.lispSubs.count() }

// SubscribedPrefixes lists the EID-prefixes with subscribers that a change
// of the record for e concerns: e itself, the less specific prefixes that
// cover it (RFC 9437 §6) and, when e is itself a prefix, the more specific
// ones it answers for.
func (c *Controller) SubscribedPrefixes(e mapping.EID) []string { return c.lispSubs.overlapping(e) }

// SubscriptionsTo lists the subscriptions to exactly one EID-prefix.
func (c *Controller) SubscriptionsTo(e mapping.EID) []Subscription { return c.lispSubs.to(e) }

func (c *Controller) loadSubscriptions(ctx context.Context) error {
	var rows []store.Subscription
	if err := c.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	for _, r := range rows {
		s, err := subFromRow(r)
		if err != nil {
			return err
		}
		c.lispSubs.put(s)
	}
	return nil
}

// applySubscription follows one subscription event.
func (c *Controller) applySubscription(ev Event) error {
	var s Subscription
	if err := json.Unmarshal(ev.Data, &s); err != nil {
		return fmt.Errorf("decode subscription: %w", err)
	}
	if ev.Type == EvSubscriptionDeleted {
		c.lispSubs.remove(s.Key())
		return nil
	}
	c.lispSubs.put(s)
	return nil
}

func subToRow(s Subscription) store.Subscription {
	rl, _ := json.Marshal(s.ITRRLOCs)
	return store.Subscription{XTRID: s.XTRID, InstanceID: s.InstanceID, EID: s.EID, SiteID: s.SiteID, Site: s.Site,
		ITRRLOCs: string(rl), Port: s.Port, TTL: s.TTL, Nonce: int64(s.Nonce), CreatedAt: s.CreatedAt.UTC(),
		RefreshedAt: s.RefreshedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
}

func subFromRow(r store.Subscription) (Subscription, error) {
	s := Subscription{XTRID: r.XTRID, InstanceID: r.InstanceID, EID: r.EID, SiteID: r.SiteID, Site: r.Site,
		Port: r.Port, TTL: r.TTL, Nonce: uint64(r.Nonce), CreatedAt: r.CreatedAt, RefreshedAt: r.RefreshedAt,
		ExpiresAt: r.ExpiresAt}
	if err := json.Unmarshal([]byte(r.ITRRLOCs), &s.ITRRLOCs); err != nil {
		return s, fmt.Errorf("subscription %s %s itr-rlocs: %w", r.XTRID, r.EID, err)
	}
	return s, nil
}
