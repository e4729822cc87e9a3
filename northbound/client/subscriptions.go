package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Subscription is an RFC 9437 subscription of a LISP router to an
// EID-prefix: the Map-Server pushes it a Map-Notify on every change.
type Subscription struct {
	XTRID       string    `json:"xtr_id"`  // 32 hex digits
	SiteID      string    `json:"site_id"` // 16 hex digits
	Site        string    `json:"site"`    // the subscriber's site
	InstanceID  uint32    `json:"instance_id"`
	EID         string    `json:"eid"`
	ITRRLOCs    []string  `json:"itr_rlocs"`
	Port        uint16    `json:"port"`
	TTL         uint32    `json:"ttl"` // minutes
	CreatedAt   time.Time `json:"created_at"`
	RefreshedAt time.Time `json:"refreshed_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// SubscriptionFilter selects subscriptions; zero fields select all.
type SubscriptionFilter struct {
	InstanceID *int64
	Site       string
	XTRID      string
	Limit      int
	Offset     int
}

// SubscriptionPage is one page of GET /subscriptions.
type SubscriptionPage struct {
	Items  []Subscription `json:"items"`
	Total  int64          `json:"total"`
	Limit  int64          `json:"limit"`
	Offset int64          `json:"offset"`
}

// Subscriptions reads one page of subscriptions.
func (c *Client) Subscriptions(ctx context.Context, f SubscriptionFilter) (SubscriptionPage, error) {
	q := url.Values{}
	if f.InstanceID != nil {
		q.Set("instance_id", strconv.FormatInt(*f.InstanceID, 10))
	}
	for k, v := range map[string]string{"site": f.Site, "xtr_id": f.XTRID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Offset > 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	return call[SubscriptionPage](ctx, c, http.MethodGet, "/subscriptions", q, nil)
}
